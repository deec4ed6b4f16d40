"""The teacher's response cache: one sqlite file, shareable between runs and colleagues.

The key is the sha256 of (provider, model, system prompt, messages, sampling parameters), so a
re-run, or anyone with a copy of the file, gets the same answer without a call. Rows hold only
the response and its token counts: never a key, a URL or a header.

Batch mode also keeps its submitted batches here (table `batches`, created on first use): the
provider's batch id and the custom ids (cache keys) it holds, so a killed run resumes polling
instead of paying twice. A batch's results and its closing are written in one transaction.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from wikikit.bounded import MAX_REPLY_CHARS, json_loads

# A cached response holds one reply and its thinking, each bounded like a live reply.
CACHED_ROW_CHARS = 2 * MAX_REPLY_CHARS + (64 << 10)

SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    response TEXT NOT NULL,
    created REAL NOT NULL
)
"""


BATCH_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    custom_ids TEXT NOT NULL,
    created REAL NOT NULL,
    closed REAL
)
"""


def request_key(
    provider: str,
    model: str,
    system: str | None,
    messages: list[dict[str, str]],
    params: dict[str, Any],
) -> str:
    payload = {
        "provider": provider,
        "model": model,
        "system": system,
        "messages": messages,
        "params": params,
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    def __init__(self, path: str | Path, *, read_only: bool = False):
        """`read_only` (an offline teacher, which only reads): the file is never written, not
        even its header (WAL mode is stored in it), so a shipped cache such as the demo's stays
        byte for byte as checked in; a missing file reads as an empty cache."""
        self.bad_rows = 0  # rows refused as malformed or oversized (read as misses)
        self.path = Path(path)
        self._lock = threading.Lock()
        self._awaiting_file = False
        if read_only:
            self._open_read_only()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One connection used from the event loop's thread; the lock covers any other caller.
        self._conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
            # No fsync per answer: a crash loses at most the last few rows, which re-run.
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(SCHEMA)
            self._conn.commit()

    def _open_read_only(self) -> None:
        # A file a writer in this run (a TeacherBatch's live teacher) creates later is opened
        # at the next read, so its answers are seen; until then the cache reads as empty.
        if self.path.is_file():
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=30)
            self._awaiting_file = False
        else:
            self._conn = sqlite3.connect(":memory:", check_same_thread=False)
            self._conn.execute(SCHEMA)
            self._awaiting_file = True

    def get(self, key: str) -> dict[str, Any] | None:
        if self._awaiting_file and self.path.is_file():
            with self._lock:
                self._conn.close()
                self._open_read_only()
        with self._lock:
            row = self._conn.execute(
                "SELECT response FROM responses WHERE key = ?", (key,)
            ).fetchone()
        if not row:
            return None
        try:  # a shared cache file is a stranger's input: a bad or oversized row is a miss
            value = json_loads(row[0], max_chars=CACHED_ROW_CHARS, what="a cached response")
        except ValueError:
            self.bad_rows += 1
            return None
        return value if isinstance(value, dict) else None

    def put(self, key: str, provider: str, model: str, response: dict[str, Any]) -> None:
        blob = json.dumps(response, sort_keys=True, ensure_ascii=False)
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO responses (key, provider, model, response, created)"
                " VALUES (?, ?, ?, ?, ?)",
                (key, provider, model, blob, time.time()),
            )
            self._conn.commit()

    # -- batches ---------------------------------------------------------------------------
    def _has_batch_table(self) -> bool:
        row = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'batches'"
        ).fetchone()
        return row is not None

    def add_batch(self, batch_id: str, provider: str, model: str, custom_ids: list[str]) -> None:
        with self._lock:
            self._conn.execute(BATCH_SCHEMA)
            self._conn.execute(
                "INSERT OR REPLACE INTO batches (batch_id, provider, model, custom_ids, created)"
                " VALUES (?, ?, ?, ?, ?)",
                (batch_id, provider, model, json.dumps(custom_ids), time.time()),
            )
            self._conn.commit()

    def open_batches(self, provider: str, model: str) -> list[tuple[str, list[str]]]:
        """(batch id, custom ids) of the batches submitted and not yet collected, oldest first."""
        with self._lock:
            if not self._has_batch_table():
                return []
            rows = self._conn.execute(
                "SELECT batch_id, custom_ids FROM batches WHERE provider = ? AND model = ?"
                " AND closed IS NULL ORDER BY created",
                (provider, model),
            ).fetchall()
        return [(bid, json.loads(ids)) for bid, ids in rows]

    def close_batch(
        self, batch_id: str, rows: list[tuple[str, str, str, dict[str, Any]]] = ()
    ) -> None:
        """Store a batch's answers (key, provider, model, response) and mark it collected."""
        now = time.time()
        with self._lock:
            self._conn.execute(BATCH_SCHEMA)
            self._conn.executemany(
                "INSERT OR REPLACE INTO responses (key, provider, model, response, created)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (k, p, m, json.dumps(r, sort_keys=True, ensure_ascii=False), now)
                    for k, p, m, r in rows
                ],
            )
            self._conn.execute("UPDATE batches SET closed = ? WHERE batch_id = ?", (now, batch_id))
            self._conn.commit()

    def __len__(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
