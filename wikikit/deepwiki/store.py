"""A DeepWiki crawl's state on disk, shared by both transports, so a crawl of hundreds resumes.

    <root>/status.jsonl          one line per outcome: {"repo", "status", "reason", "transport",
                                 "pages", "requests", "commit", "at"}; a repo's last line is
                                 its status; a torn last line (a killed crawl) is skipped
    <root>/wikis/<name>.json     each fetched wiki (Wiki.to_dict()), written atomically

Statuses: `fetched` and `no_wiki` are final (a later run skips the repo); `failed` (with its
reason) and `partial` (a page-by-page crawl stopped by a page limit) are tried again.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from pathlib import Path
from typing import Any

from wikikit.atomic import write_json
from wikikit.bounded import iter_jsonl

FETCHED, NO_WIKI, FAILED, PARTIAL = "fetched", "no_wiki", "failed", "partial"
FINAL = frozenset({FETCHED, NO_WIKI})
STATUS_FILE = "status.jsonl"


def repo_key(repo: str) -> str:
    """GitHub names are case-insensitive: one key for `Owner/Name` and `owner/name`."""
    return repo.strip().lower()


def wiki_file_name(repo: str) -> str:
    key = repo_key(repo)
    safe = re.sub(r"[^a-z0-9._-]+", "_", key.replace("/", "__"))[:80]
    return f"{safe}-{hashlib.sha256(key.encode()).hexdigest()[:8]}.json"


class CrawlStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        self._lock = threading.Lock()

    @property
    def status_path(self) -> Path:
        return self.root / STATUS_FILE

    def wiki_path(self, repo: str) -> Path:
        return self.root / "wikis" / wiki_file_name(repo)

    def record(self, repo: str, status: str, **fields: Any) -> dict[str, Any]:
        entry = {"repo": repo, "status": status, "at": round(time.time(), 3), **fields}
        line = json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n"
        with self._lock:
            self.root.mkdir(parents=True, exist_ok=True)
            with self.status_path.open("a", encoding="utf-8") as f:
                f.write(line)
                f.flush()
        return entry

    def statuses(self) -> dict[str, dict[str, Any]]:
        """Each repo's latest entry, keyed by repo_key."""
        out: dict[str, dict[str, Any]] = {}
        if not self.status_path.exists():
            return out
        # a line the crawl is still writing is passed over
        for _, entry in iter_jsonl(self.status_path, skip_bad=True):
            if isinstance(entry, dict) and isinstance(entry.get("repo"), str):
                out[repo_key(entry["repo"])] = entry
        return out

    def save_wiki(self, wiki_dict: dict[str, Any]) -> Path:
        path = self.wiki_path(wiki_dict["repo"])
        write_json(path, wiki_dict)
        return path

    def load_wiki_dict(self, repo: str) -> dict[str, Any] | None:
        path = self.wiki_path(repo)
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and data.get("repo") else None
