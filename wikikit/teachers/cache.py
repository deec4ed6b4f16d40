"""The teacher's response cache: one sqlite file, shareable between runs and colleagues.

The key is the sha256 of (provider, model, system prompt, messages, sampling parameters), so a
re-run, or anyone with a copy of the file, gets the same answer without a call. Rows hold only
the response and its token counts: never a key, a URL or a header.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    response TEXT NOT NULL,
    created REAL NOT NULL
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
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One connection used from the event loop's thread; the lock covers any other caller.
        self._conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
            # No fsync per answer: a crash loses at most the last few rows, which re-run.
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(SCHEMA)
            self._conn.commit()

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT response FROM responses WHERE key = ?", (key,)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, provider: str, model: str, response: dict[str, Any]) -> None:
        blob = json.dumps(response, sort_keys=True, ensure_ascii=False)
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO responses (key, provider, model, response, created)"
                " VALUES (?, ?, ?, ?, ?)",
                (key, provider, model, blob, time.time()),
            )
            self._conn.commit()

    def __len__(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
