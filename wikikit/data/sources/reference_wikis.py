"""Reference wikis as `wikikit.deepwiki.wiki.Wiki` objects, for the SemanticWiki replay answerer.

Two inputs, each one small function, so a better fetcher can take over without touching the
replay (the DeepWiki one is where a flight-payload or MCP fetcher with the wiki's commit plugs in):

- `deepwiki_wikis`: the `deepwiki` source's crawl (scrapy, its HTTP cache and resume) of a
  DeepWiki-format site, its pages parsed with wikikit.deepwiki.page;
- `codewikibench_wiki`: one CodeWikiBench row's `structured_docs`, each page rendered to
  DeepWiki-style markdown and parsed the same way, at the row's `commit_id`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from wikikit.data.sources.codewikibench import iter_pages, page_sections, render
from wikikit.data.sources.deepwiki import (
    DEFAULT_BASE_URL,
    crawl_dir_for,
    load_pages,
    run_crawl,
)
from wikikit.deepwiki.markdown import restore_mermaid_fences
from wikikit.deepwiki.page import parse_page
from wikikit.deepwiki.wiki import Wiki


def deepwiki_wikis(
    repos: Iterable[str], settings: dict[str, Any], cache_dir: Any, name: str, stats: Any
) -> dict[str, Wiki]:
    """owner/name -> its wiki, crawled from `settings["base_url"]` (deepwiki.com by default).

    `settings` takes the `deepwiki` source's crawl keys (max_pages, autothrottle, ...). The
    site's pages carry no commit, so each Wiki's `commit` is None."""
    repos = list(repos)
    base_url = str(settings.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
    crawl_dir = crawl_dir_for(cache_dir, f"{name}-replay", base_url)
    if settings.get("crawl", True):
        run_crawl(settings, repos, base_url, crawl_dir, cache_dir)
    wikis: dict[str, Wiki] = {}
    for repo, page in load_pages(crawl_dir, repos, stats):
        wikis.setdefault(repo, Wiki(repo=repo, transport="html")).pages.append(page)
    return wikis


def codewikibench_wiki(row: dict[str, Any]) -> Wiki:
    """The row's official docs as a wiki: one page per structured_docs page, in tree order."""
    docs = row.get("structured_docs")
    if isinstance(docs, str):
        docs = json.loads(docs)
    repo = str(row.get("repo_name") or "")
    pages = []
    for trail, page in iter_pages(docs or {}):
        title, sections = page_sections(page)
        body = "\n\n".join(
            f"## {heading}\n\n{restore_mermaid_fences(render(value, 3))}"
            for heading, value in sections
        )
        markdown = f"# Page: {title}\n\n# {title}\n\n{body}\n"
        parsed = parse_page(markdown, url=f"codewikibench:{repo}/{'/'.join(trail)}")
        if parsed.sections:
            pages.append(parsed)
    return Wiki(
        repo=repo, pages=pages, commit=str(row.get("commit_id") or "") or None, transport="files"
    )
