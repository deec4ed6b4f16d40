"""A whole DeepWiki wiki for one repository: its pages and the commit they were written for.

This is what every DeepWiki transport yields (the site's Next.js flight payload, its MCP server,
page-by-page HTML as a last resort) and what its consumers read (the `deepwiki` source, the
SemanticWiki replay answerer). `commit` pins the repository so references are checked against
the code the wiki describes. `to_dict`/`from_dict` keep a fetched wiki on disk between runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from wikikit.deepwiki.page import Page, wiki_page


@dataclass
class Wiki:
    repo: str  # owner/name, as DeepWiki names it
    pages: list[Page] = field(default_factory=list)  # in wiki order (1, 1.1, 2, ...)
    commit: str | None = None  # the commit the wiki was generated from, when the site says
    generated_at: str | None = None
    transport: str = "site"  # how it was fetched: flight, mcp, html, files
    url: str | None = None  # where it was fetched from (the page or the MCP endpoint)
    requests: int = 0  # HTTP requests it took
    dropped: dict[str, int] = field(
        default_factory=dict
    )  # what bounded parsing left out, by reason

    @property
    def missing_diagrams(self) -> int:
        return sum(p.missing_diagrams for p in self.pages)

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "commit": self.commit,
            "generated_at": self.generated_at,
            "transport": self.transport,
            "url": self.url,
            "requests": self.requests,
            "dropped": dict(sorted(self.dropped.items())),
            "pages": [
                {
                    "id": p.id,
                    "title": p.title,
                    "url": p.url,
                    "markdown": p.source_markdown,
                    "missing_diagrams": p.missing_diagrams,
                }
                for p in self.pages
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Wiki:
        pages = []
        for p in data.get("pages") or []:
            page = wiki_page(
                p.get("id"), p.get("title") or "", p.get("markdown") or "", p.get("url")
            )
            page.missing_diagrams = int(p.get("missing_diagrams") or 0)
            pages.append(page)
        return cls(
            repo=data["repo"],
            pages=pages,
            commit=data.get("commit"),
            generated_at=data.get("generated_at"),
            transport=data.get("transport", "site"),
            url=data.get("url"),
            requests=int(data.get("requests") or 0),
            dropped=dict(data.get("dropped") or {}),
        )


def page_path(page_id: str, title: str) -> str:
    """`2.1`, `Core Components` -> `2.1-core-components` (the last part of DeepWiki's page URLs)."""
    return page_id + "-" + re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def page_order(page: Page) -> tuple[int, ...]:
    """`3.1` sorts after `3` and before `4`; pages without a number come last."""
    m = re.fullmatch(r"(\d+(?:\.\d+)*)", page.id or "")
    if not m:
        m = re.match(r"^(\d+(?:\.\d+)*)-", page.slug or "")
    if not m:
        m = re.search(r"/(\d+(?:\.\d+)*)-[^/]*$", page.url or "")
    return tuple(int(x) for x in m.group(1).split(".")) if m else (10**9,)
