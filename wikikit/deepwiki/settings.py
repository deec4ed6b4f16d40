"""How wikis are fetched: one settings record for both transports, also handed to the crawl's child.

The recipe's keys (wikikit.data.sources.deepwiki) map onto these fields; the site crawl's child
process receives them as JSON (`to_dict`/`from_dict`), so each setting is named in one place.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

SITE_URL = "https://deepwiki.com"
MCP_URL = "https://mcp.deepwiki.com/mcp"
TRANSPORTS = ("site", "mcp")


@dataclass
class FetchSettings:
    transport: str = "site"  # site | mcp
    base_url: str = SITE_URL
    mcp_url: str = MCP_URL
    rsc: bool = False  # site: ask for the flight stream itself (`RSC: 1`)
    obey_robots: bool = True
    autothrottle: bool = True
    concurrency: int = 4  # per domain (site), sessions (MCP)
    download_delay: float = 0.5
    timeout_s: float = 30.0
    retries: int = 3
    retry_after_max_s: float = 300.0
    max_payload_mb: int = 64
    max_pages: int | None = None  # site, page-by-page fallback: pages over all repos
    max_pages_per_repo: int | None = None
    httpcache_dir: str | None = None  # site: default <work_dir>/httpcache
    log_level: str = "INFO"  # the site crawl's log (crawl.log)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FetchSettings:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fetch settings: {', '.join(unknown)}")
        return cls(**data)

    def httpcache(self, work_dir: Path) -> Path:
        return Path(self.httpcache_dir) if self.httpcache_dir else Path(work_dir) / "httpcache"
