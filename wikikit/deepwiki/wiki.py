"""A whole DeepWiki wiki for one repository: its pages and the commit they were written for.

This is what every DeepWiki transport yields (the site's Next.js flight payload, its MCP server,
page-by-page HTML as a last resort) and what its consumers read (the `deepwiki` source, the
SemanticWiki replay answerer). `commit` pins the repository so references are checked against
the code the wiki describes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wikikit.deepwiki.page import Page


@dataclass
class Wiki:
    repo: str  # owner/name, as DeepWiki names it
    pages: list[Page] = field(default_factory=list)  # in wiki order (1, 1.1, 2, ...)
    commit: str | None = None  # the commit the wiki was generated from, when the site says
    generated_at: str | None = None
    transport: str = "site"  # how it was fetched: flight, mcp, html, files
