"""Rebuild demo/teacher-cache.sqlite: the teacher answers the demo's teacher-backed sources replay.

The demo recipe's synthetic source (`distill`) and SemanticWiki source (`sw_teacher`) run with
`teacher: {offline: true, cache: ...}`: every prompt must already be in the cache, keyed by
(provider, model, system, messages, sampling). This script runs those same sources once, with
`offline` off, against a local fake teacher on 127.0.0.1 (tests/teacher_fakes.py) that answers
with documentation written from the real demo/shop code, so the quality filters (refs verified
against demo/shop) keep the answers. No real model, no API key, no network beyond 127.0.0.1:

- the synthetic generators' prompts get each generator's format: each top-level class or
  function of the files a prompt shows gets a section with an exact `path:start-end` reference,
  a snippet of those lines and a Mermaid diagram of the file's imports;
- SemanticWiki's own prompts (the real client, run by `sw_teacher` from the vendored pack) get
  what its local mode asks for: the plan as raw JSON, each page starting with `# <title>` and
  citing `📄 [path:line](../path#Lline)` the code its prompt shows, and the index.

Run it from the repository root whenever the prompts change (the synthetic generators, the
demo recipe's teacher-backed sources, the SemanticWiki client, or demo/shop, which is frozen
for this reason); the SemanticWiki client must be installable (`make setup`, or
WIKIKIT_SEMANTICWIKI_TGZ):

    .venv/bin/python demo/build_teacher_cache.py
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "demo.yaml"
SHOP = ROOT / "demo" / "shop"
SOURCES = ("distill", "sw_teacher")
MAX_SNIPPET_LINES = 20
TOP_LEVEL = re.compile(r"^(class|def) (\w+)")
IMPORT = re.compile(r"^from (shop\.\w+) import (.+)$")
NAMED_CHUNK = re.compile(r"^### (?P<kind>[^:\n]+): (?P<name>\w+) \(")
FILE_MENTION = re.compile(r"(?:File: |Document `|`)(shop/\w+\.py)\b")

sys.path.insert(0, str(ROOT / "tests"))  # the fake teacher server and scripted responder


def definitions(lines: list[str]) -> list[tuple[str, str, int, int]]:
    """(kind, name, start, end) of each top-level class/function, trailing blanks excluded."""
    starts = [(i, m) for i, line in enumerate(lines) if (m := TOP_LEVEL.match(line))]
    out = []
    for n, (i, m) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        while end > i + 1 and not lines[end - 1].strip():
            end -= 1
        while end > i + 1 and lines[end - 1].startswith(("@", "#")):
            end -= 1
        out.append((m.group(1), m.group(2), i + 1, end))
    return out


def docstring_of(lines: list[str], start: int) -> str:
    """The first docstring line after line `start` (1-based), if the body opens with one."""
    for line in lines[start : start + 3]:
        s = line.strip()
        if s.startswith('"""'):
            return s.strip('"').strip()
    return ""


def file_doc(path: str, level: int = 2, pick: int = 0) -> str:
    """A SemanticWiki-style section for one demo/shop file, written from its real lines.

    `pick` rotates which definitions are covered, so answers to different prompts about the
    same file differ (the data stage would drop them as duplicates otherwise)."""
    lines = (SHOP / path).read_text(encoding="utf-8").splitlines()
    module = path[:-3].replace("/", ".")
    summary = docstring_of(["", *lines], 0) or f"The `{module}` module."
    h = "#" * level
    parts = [f"{h} `{module}`\n\n{summary} It lives in `{path}` ({len(lines)} lines)."]
    defs = definitions(lines)
    start_at = pick % len(defs) if defs else 0
    chosen = (defs[start_at:] + defs[:start_at])[: 1 + pick % 3]
    for kind, name, start, end in chosen:
        what = docstring_of(lines, start) or (
            f"The {'class' if kind == 'class' else 'function'} `{name}`, "
            f"{end - start + 1} lines, defined in `{module}`."
        )
        snippet = "\n".join(lines[start - 1 : min(end, start - 1 + MAX_SNIPPET_LINES)])
        parts.append(
            f"{h}# `{name}`\n\n{what}\n\n"
            f"**Source:** [`{path}:{start}-{end}`]({path}#L{start}-L{end})\n\n"
            f"```python\n{snippet}\n```"
        )
    # A diagram of what the module depends on, or else of what it defines.
    me = module.split(".")[-1]
    imports = [(m.group(1), m.group(2)) for line in lines if (m := IMPORT.match(line))]
    edges = [
        f'    {me}["{module}"] --> {dep.split(".")[-1]}["{dep}: {names.strip()}"]'
        for dep, names in imports
    ] or [
        f'    {me}["{module}"] --> {name}["{kind} {name}"]'
        for kind, name, _, _ in definitions(lines)
    ]
    if edges:
        title = "Dependencies" if imports else "Structure"
        parts.append(f"{h}# {title}\n\n```mermaid\ngraph TD\n" + "\n".join(edges) + "\n```")
    return "\n\n".join(parts)


def paths_in(text: str) -> list[str]:
    found = [p for p in dict.fromkeys(FILE_MENTION.findall(text)) if (SHOP / p).is_file()]
    return found or ["shop/orders.py"]


# -- SemanticWiki's local mode (wikikit/semanticwiki/protocol.py says what each call asks) --

SHOP_PLAN = [
    ("Architecture Overview", "overview", "How the API, the domain and the checkout services fit together.",
     ["shop/__init__.py", "shop/api.py", "shop/orders.py"]),
    ("Catalog and Pricing", "component", "Products, list prices, discount codes and tax.",
     ["shop/catalog.py", "shop/pricing.py"]),
    ("Shopping Cart", "component", "The cart: adding and removing items, quoting the total.",
     ["shop/cart.py", "shop/pricing.py"]),
    ("Checkout and Orders", "component", "Placing an order: stock reservation, payment and storage.",
     ["shop/orders.py", "shop/inventory.py", "shop/payments.py", "shop/storage.py"]),
    ("JSON API", "module", "The request handlers that expose the shop's three actions.",
     ["shop/api.py", "shop/cart.py"]),
    ("Getting Started", "guide", "What the package is and how its pieces are used together.",
     ["README.md", "shop/__init__.py"]),
]  # fmt: skip


def local_plan() -> str:
    pages = [
        {"title": t, "filename": f"{re.sub(r'[^a-z0-9]+', '-', t.lower()).strip('-')}.md",
         "type": kind, "context": context, "files": files}
        for t, kind, context, files in SHOP_PLAN
    ]  # fmt: skip
    return json.dumps(
        {"projectType": "Python library: a small online shop", "pages": pages}, indent=2
    )


def local_page(user: str) -> str:
    """A page written from the chunks the prompt shows: each cited at its own first line."""
    from wikikit.code.refs import format_local_ref
    from wikikit.semanticwiki.protocol import parse_page_prompt

    prompt = parse_page_prompt(user)
    files = prompt.context_files or ["shop/orders.py"]
    parts = [
        f"# {prompt.title}",
        f"## Overview\n\nThis {prompt.page_type} page covers {', '.join(f'`{f}`' for f in files[:4])} "
        "of the shop, a small Python package whose checkout reserves stock, charges a payment "
        "gateway and saves orders. It is plain Python with no framework, so every behaviour "
        "below can be read straight from the code shown here.",
        "## Key Components",
    ]
    shown = 0
    for chunk in prompt.chunks:
        if not chunk.path.endswith(".py") or not (SHOP / chunk.path).is_file():
            continue
        lines = (SHOP / chunk.path).read_text(encoding="utf-8").splitlines()
        named = NAMED_CHUNK.match(chunk.header)
        if named:  # `### class: Cart (shop/cart.py:15)`: cite the line the chunk starts at
            kind, name, start = named["kind"], named["name"], chunk.start
        else:  # a whole-file chunk: cite the first definition it shows
            defs = [d for d in definitions(lines) if chunk.start <= d[2] <= chunk.end]
            if not defs:  # a module of a docstring and constants (shop/__init__.py): cite it
                summary = docstring_of(["", *lines], 0) or f"The module `{chunk.path}`."
                ref = format_local_ref(chunk.path, chunk.start)
                parts.append(f"### `{chunk.path}`\n\n{summary} {ref}")
                shown += 1
                continue
            kind, name, start, _ = defs[0]
        what = docstring_of(lines, start) or f"The {kind} `{name}`, defined in `{chunk.path}`."
        parts.append(f"### `{name}`\n\n{what} {format_local_ref(chunk.path, start)}")
        shown += 1
        if shown == 6:
            break
    if shown == 0:
        parts.append(f"The page's files are {', '.join(f'`{f}`' for f in files)}.")
    parts.append(
        "## How It Works\n\nA request enters through the API, which builds or reads a cart; the "
        "cart asks pricing for a quote from catalog prices, and checkout turns a quote into an "
        "order only after stock is reserved and the payment is captured, releasing the stock "
        "again if the charge fails."
    )
    if prompt.related:
        parts.append(
            "## Related Documentation\n\n" + "\n".join(f"- [{t}](./{f})" for t, f in prompt.related)
        )
    return "\n\n".join(parts) + "\n"


def local_index(user: str) -> str:
    from wikikit.semanticwiki.protocol import parse_index_prompt

    prompt = parse_index_prompt(user)
    groups = {"overview": "Overview", "component": "Components", "module": "API", "guide": "Guides"}
    parts = [
        f"# {prompt.project} Documentation",
        "A small online shop in Python: a product catalog, carts, pricing with discount codes, "
        "stock reservations, payments and order storage behind a small JSON API.",
    ]
    for kind, heading in groups.items():
        pages = [(t, f) for t, f, k in prompt.pages if k == kind]
        if pages:
            parts.append(f"## {heading}\n\n" + "\n".join(f"- [{t}](./{f})" for t, f in pages))
    return "\n\n".join(parts) + "\n"


def local_mode_answer(user: str) -> str | None:
    from wikikit.semanticwiki.protocol import call_kind

    kind = call_kind(user)
    if kind == "plan":
        return local_plan()
    if kind == "page":
        return local_page(user)
    if kind == "index":
        return local_index(user)
    return None


def shop_responder(api: str, body: dict[str, Any]) -> str:
    """Documentation prompts get docs of the files they show; others the scripted formats."""
    import synthetic_fakes
    from teacher_fakes import last_user_text

    user = last_user_text(body)
    local = local_mode_answer(user)
    if local is not None:
        return local
    system = synthetic_fakes._system(body)
    pick = int(hashlib.sha256(user.encode()).hexdigest(), 16) % 97
    scripted = (
        "You work through tools" in system
        or any(tag in user for tag in ("<question>", "<feature>", "<instruction>", '"score"'))
        or "Do not cite paths" in user
    )
    steps = sum(1 for m in body.get("messages") or [] if m.get("role") == "assistant")
    if "You work through tools" in system and steps >= 3:
        path = paths_in(user)[0]
        kind, name, start, end = definitions((SHOP / path).read_text().splitlines())[pick % 2]
        return (
            f"The page components/cart.md is written and documents `{path}`, starting with "
            f"`{name}` ({path}:{start}-{end}). The completeness check reports one missing "
            "page, pricing.md, which the next run of the agent should write so that every "
            "link in the wiki resolves."
        )
    if scripted:
        # The scripted answers embed synthetic_fakes._doc(path): make that the real-code doc.
        synthetic_fakes._doc = lambda path: file_doc(
            path if (SHOP / path).is_file() else "shop/orders.py", 2, pick
        )
        return synthetic_fakes.wiki_responder(api, body)
    paths = paths_in(user)
    ask = next(
        (
            line.strip()
            for line in user.splitlines()
            if line.strip()
            and " | " not in line
            and not line.startswith(("Repository:", "File:", "Layout", "```", "- "))
        ),
        "",
    )[:200]
    intro = (
        f"Asked: {ask}\n\nThis page covers {', '.join(f'`{p}`' for p in paths[:3])} of the "
        "shop, a small store whose checkout reserves stock, charges a payment gateway and "
        "saves orders."
    )
    return "\n\n".join([intro, *(file_doc(p, 2, pick + i) for i, p in enumerate(paths[:3]))])


def main() -> int:
    import os

    from teacher_fakes import FakeTeacherServer

    import wikikit  # noqa: F401 - sets the offline tokenizer paths first
    from wikikit.data.sources import SourceContext, semanticwiki, synthetic
    from wikikit.recipe.load import load_recipe

    recipe = load_recipe(RECIPE)
    sources = recipe.data["data"]["sources"]

    def teacher_of(name: str) -> dict:
        config = sources[name]
        return config["teacher"] if "teacher" in config else config["answerer"]["teacher"]

    cache = recipe.resolve_path(
        teacher_of(SOURCES[0])["cache"], ("data", "sources", SOURCES[0], "teacher", "cache")
    )
    for suffix in ("", "-wal", "-shm"):
        Path(f"{cache}{suffix}").unlink(missing_ok=True)
    os.environ.setdefault("ANTHROPIC_API_KEY", "sk-ant-demo-fake")  # the fake server ignores it
    import tempfile

    examples: list = []
    failures: list = []
    with FakeTeacherServer(shop_responder) as server, tempfile.TemporaryDirectory() as tmp:
        for name in SOURCES:
            config = sources[name]
            teacher = teacher_of(name)
            live_teacher = {
                **teacher,
                "offline": False,
                "base_url": server.base_url(teacher["provider"]),
            }
            if "teacher" in config:
                live, generate = {**config, "teacher": live_teacher}, synthetic.generate
            else:
                live = {**config, "answerer": {**config["answerer"], "teacher": live_teacher}}
                generate = semanticwiki.generate
            ctx = SourceContext(
                recipe=recipe,
                cache_dir=Path(tmp),
                seed=int(recipe.data.get("seed", 0)),
                key_path=("data", "sources", name),
            )
            made = list(generate(name, live, ctx))
            examples += made
            failures += ctx.artifacts.get(f"synthetic/{name}/failures.json", [])
            stats = ctx.stats[name]
            if "answerer" in config and (stats.get("status_pending") or not made):
                failures.append({"source": name, "stats": dict(stats)})
            print(f"{name}: {len(made)} examples")
        requests = len(server.log)
    import sqlite3

    conn = sqlite3.connect(cache)
    conn.execute("PRAGMA journal_mode=DELETE")  # one self-contained file to ship
    conn.execute("VACUUM")
    rows = conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
    conn.close()
    print(
        f"{cache.relative_to(ROOT)}: {rows} responses from {requests} requests; "
        f"{len(examples)} examples, {len(failures)} failed"
    )
    for f in failures[:5]:
        print(f"  failed: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
