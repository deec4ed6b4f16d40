"""Regenerate the small datasets the eval tasks ship (each task folder's test.jsonl).

    python eval_tasks/make_datasets.py     (from the project root, with wikikit importable)

The code files below are small, self-contained modules written for these tasks (no third-party
code), in the languages SemanticWiki users document most. Each task reuses them differently.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent

JWT = '''import hmac
import hashlib
import json
import time
from base64 import urlsafe_b64decode, urlsafe_b64encode


class TokenExpired(Exception):
    """Raised when a token's exp claim lies in the past."""


class JwtProvider:
    """Signs and verifies HS256 JSON Web Tokens for the API gateway."""

    def __init__(self, secret: bytes, ttl_s: int = 3600):
        self.secret = secret
        self.ttl_s = ttl_s

    def issue(self, subject: str) -> str:
        header = {"alg": "HS256", "typ": "JWT"}
        claims = {"sub": subject, "exp": int(time.time()) + self.ttl_s}
        signing_input = _b64(header) + "." + _b64(claims)
        signature = hmac.new(self.secret, signing_input.encode(), hashlib.sha256).digest()
        return signing_input + "." + urlsafe_b64encode(signature).decode().rstrip("=")

    def verify_token(self, token: str) -> dict:
        signing_input, _, signature = token.rpartition(".")
        expected = hmac.new(self.secret, signing_input.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(urlsafe_b64encode(expected).decode().rstrip("="), signature):
            raise ValueError("bad signature")
        claims = json.loads(urlsafe_b64decode(signing_input.split(".")[1] + "=="))
        if claims["exp"] < time.time():
            raise TokenExpired(claims["sub"])
        return claims


def _b64(obj: dict) -> str:
    return urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")
'''

LRU = """export interface CacheStats {
  hits: number;
  misses: number;
  evictions: number;
}

/** A least-recently-used cache in front of the page renderer. */
export class LruCache<V> {
  private entries = new Map<string, V>();
  private stats: CacheStats = { hits: 0, misses: 0, evictions: 0 };

  constructor(private readonly capacity: number) {
    if (capacity < 1) throw new Error("capacity must be positive");
  }

  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) {
      this.stats.misses++;
      return undefined;
    }
    // re-insert so the key becomes the most recently used
    this.entries.delete(key);
    this.entries.set(key, value);
    this.stats.hits++;
    return value;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
      this.stats.evictions++;
    }
  }

  snapshot(): CacheStats {
    return { ...this.stats };
  }
}
"""

WORKER = """package queue

import (
	"context"
	"sync"
)

// Job is one unit of work pulled from the queue.
type Job struct {
	ID      string
	Payload []byte
}

// Handler processes a job; an error sends the job to the dead-letter channel.
type Handler func(ctx context.Context, job Job) error

// Pool runs a fixed number of workers over a job channel.
type Pool struct {
	Workers    int
	Handle     Handler
	DeadLetter chan<- Job
}

// Run starts the workers and blocks until jobs is closed and drained.
func (p *Pool) Run(ctx context.Context, jobs <-chan Job) {
	var wg sync.WaitGroup
	for i := 0; i < p.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range jobs {
				if err := p.Handle(ctx, job); err != nil {
					p.DeadLetter <- job
				}
			}
		}()
	}
	wg.Wait()
}
"""

ORDERS_SERVICE = '''from dataclasses import dataclass
from decimal import Decimal

from app.orders.repository import OrderRepository


@dataclass
class Order:
    id: str
    customer_id: str
    total: Decimal
    status: str = "pending"


class OrderService:
    """Business rules for orders: placement, payment capture, cancellation."""

    def __init__(self, repository: OrderRepository, payments):
        self.repository = repository
        self.payments = payments

    def place_order(self, customer_id: str, total: Decimal) -> Order:
        if total <= 0:
            raise ValueError("an order must cost something")
        order = Order(id=self.repository.next_id(), customer_id=customer_id, total=total)
        self.repository.save(order)
        return order

    def capture_payment(self, order_id: str) -> Order:
        order = self.repository.get(order_id)
        self.payments.charge(order.customer_id, order.total)
        order.status = "paid"
        self.repository.save(order)
        return order

    def cancel(self, order_id: str) -> Order:
        order = self.repository.get(order_id)
        if order.status == "paid":
            self.payments.refund(order.customer_id, order.total)
        order.status = "cancelled"
        self.repository.save(order)
        return order
'''

ORDERS_REPO = '''import itertools
import sqlite3


class OrderRepository:
    """Stores orders in SQLite; the only module that writes SQL for orders."""

    def __init__(self, path: str):
        self.db = sqlite3.connect(path)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, customer TEXT, total TEXT, status TEXT)"
        )
        self._ids = itertools.count(1)

    def next_id(self) -> str:
        return f"ord-{next(self._ids):06d}"

    def save(self, order) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO orders VALUES (?, ?, ?, ?)",
            (order.id, order.customer_id, str(order.total), order.status),
        )
        self.db.commit()

    def get(self, order_id: str):
        from app.orders.service import Order

        row = self.db.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
        if row is None:
            raise KeyError(order_id)
        return Order(id=row[0], customer_id=row[1], total=row[2], status=row[3])
'''

REPOS = {
    "auth-gateway": [{"path": "gateway/auth/jwt_provider.py", "language": "python", "text": JWT}],
    "page-cache": [{"path": "src/cache/lru.ts", "language": "typescript", "text": LRU}],
    "job-queue": [{"path": "internal/queue/worker.go", "language": "go", "text": WORKER}],
    "orders": [
        {"path": "app/orders/service.py", "language": "python", "text": ORDERS_SERVICE},
        {"path": "app/orders/repository.py", "language": "python", "text": ORDERS_REPO},
    ],
}

TRACE_ASKS = {
    "auth-gateway": "Document how the gateway issues and verifies tokens, including expiry handling.",
    "page-cache": "Document the page cache: its eviction policy and the statistics it keeps.",
    "job-queue": "Document the worker pool: how jobs are processed and what happens on failure.",
    "orders": "Document the order lifecycle across the service and the repository.",
}

MERMAID_ASKS = [
    (
        "auth-gateway",
        "sequence",
        "Draw a sequence diagram of a client obtaining and then presenting a token.",
    ),
    ("auth-gateway", "flowchart", "Draw a flowchart of verify_token's decisions."),
    ("page-cache", "class", "Draw a class diagram of the cache and its statistics."),
    ("page-cache", "flowchart", "Draw a flowchart of what get() does on a hit and on a miss."),
    ("job-queue", "sequence", "Draw a sequence diagram of a job travelling through the pool."),
    ("orders", "state", "Draw a state diagram of an order's status."),
    ("orders", "er", "Draw an entity-relationship diagram of what the repository stores."),
    ("orders", "class", "Draw a class diagram of OrderService, OrderRepository and Order."),
]

TOOL_ASKS = [
    (
        "Start documenting the repository at the current directory: get an overview of its layout first.",
        ["directory_tree", "list_directory"],
        True,
    ),
    (
        "Open gateway/auth/jwt_provider.py so you can document token verification.",
        ["read_file"],
        True,
    ),
    ("Find where the dead-letter channel is used in the codebase.", ["search_codebase"], True),
    (
        "Analyze the structure of src/cache/lru.ts before writing its page.",
        ["analyze_code_structure"],
        True,
    ),
    (
        "You have read everything about the cache. Write the wiki page components/cache.md titled "
        "'Page cache' describing the LRU eviction, with its sources.",
        ["write_wiki_page"],
        True,
    ),
    (
        "All pages are written. Check that no internal link in the wiki is broken.",
        ["verify_wiki_completeness"],
        True,
    ),
    ("Which wiki pages exist so far?", ["list_wiki_pages"], True),
    (
        "Before any tool use: in one sentence, what is a wiki page's source reference format?",
        [],
        False,
    ),
]

RUBRICS = {
    "auth-gateway": [
        {
            "requirements": "Token issuance",
            "weight": 3,
            "sub_tasks": [
                {"requirements": "HS256 signing with a shared secret", "weight": 3},
                {"requirements": "Claims: subject and expiry computed from a TTL", "weight": 2},
            ],
        },
        {
            "requirements": "Token verification",
            "weight": 3,
            "sub_tasks": [
                {"requirements": "Constant-time signature comparison", "weight": 2},
                {"requirements": "Expired tokens raise TokenExpired", "weight": 3},
            ],
        },
        {"requirements": "Base64url encoding helper without padding", "weight": 1},
    ],
    "orders": [
        {
            "requirements": "Order placement",
            "weight": 3,
            "sub_tasks": [
                {"requirements": "Rejects non-positive totals", "weight": 2},
                {"requirements": "Identifiers come from the repository (ord-NNNNNN)", "weight": 1},
            ],
        },
        {"requirements": "Payment capture and refund on cancellation of a paid order", "weight": 3},
        {
            "requirements": "Persistence",
            "weight": 2,
            "sub_tasks": [
                {"requirements": "SQLite table of orders created on start", "weight": 2},
                {"requirements": "Upsert on save; KeyError for an unknown id", "weight": 2},
            ],
        },
    ],
}


def write(task: str, rows: list[dict]) -> None:
    path = HERE / task / "test.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows))
    print(f"{path.relative_to(HERE)}: {len(rows)} rows")


def semanticwiki_page_rows() -> list[dict]:
    """SemanticWiki page prompts for the held-out demo codebase, each carrying its files."""
    from wikikit.code.repo import Repo
    from wikikit.semanticwiki.items import items_from_repo

    repo = Repo(HERE.parent / "demo" / "ledger", "demo/ledger")
    files = {p: repo.read_text(p) for p in repo.iter_files()}
    return [{**item, "files": files} for item in items_from_repo(repo, compact_items=True)]


def main() -> None:
    write("semanticwiki_page", semanticwiki_page_rows())
    write(
        "wikikit_traceability",
        [
            {"id": f"trace-{repo}", "repo": repo, "files": REPOS[repo], "ask": ask}
            for repo, ask in TRACE_ASKS.items()
        ],
    )
    write(
        "wikikit_mermaid",
        [
            {
                "id": f"mermaid-{repo}-{kind}",
                "repo": repo,
                "files": REPOS[repo],
                "diagram": kind,
                "ask": ask,
            }
            for repo, kind, ask in MERMAID_ASKS
        ],
    )
    write(
        "wikikit_tooluse",
        [
            {"id": f"tools-{i}", "ask": ask, "expected": {"call": call, "tools": tools}}
            for i, (ask, tools, call) in enumerate(TOOL_ASKS)
        ],
    )
    write(
        "wikikit_completeness",
        [
            {
                "id": f"wiki-{repo}",
                "repo": repo,
                "files": files,
                "required": ["overview.md", "Architecture"],
            }
            for repo, files in REPOS.items()
        ],
    )
    write(
        "codewikibench",
        [
            {"id": f"cwb-{repo}", "repo": repo, "files": REPOS[repo], "rubrics": rubrics}
            for repo, rubrics in RUBRICS.items()
        ],
    )


if __name__ == "__main__":
    main()
