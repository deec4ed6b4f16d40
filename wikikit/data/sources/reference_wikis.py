"""Reference wikis as `wikikit.deepwiki.wiki.Wiki` objects, for the SemanticWiki replay answerer.

Two inputs, each one small function, so a better fetcher can take over without touching the
replay (the DeepWiki one is where a flight-payload or MCP fetcher with the wiki's commit plugs in):

- `deepwiki_wikis`: wikikit.deepwiki.fetch, with the `deepwiki` source's settings: each wiki
  whole from the site's flight payload (or the MCP server), stored and resumable, with the
  commit it describes when the site says it;
- `codewikibench_wiki`: one CodeWikiBench row's `structured_docs`, each page rendered to
  DeepWiki-style markdown and parsed the same way, at the row's `commit_id`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from wikikit.data.sources.codewikibench import iter_pages, page_sections, render
from wikikit.data.sources.deepwiki import crawl_dir_for, fetch_settings
from wikikit.deepwiki.fetch import CrawlResult, crawl_wikis
from wikikit.deepwiki.markdown import restore_mermaid_fences
from wikikit.deepwiki.page import parse_page
from wikikit.deepwiki.wiki import Wiki


def deepwiki_wikis(
    repos: Iterable[str], settings: dict[str, Any], cache_dir: Any, name: str, stats: Any
) -> dict[str, Wiki]:
    """owner/name -> its wiki, fetched as the `deepwiki` source fetches (its settings keys:
    transport, base_url, max_pages, autothrottle, ...; `crawl: false` reads only what an
    earlier run stored)."""
    from wikikit.deepwiki.store import CrawlStore

    repos = list(dict.fromkeys(repos))
    fetch = fetch_settings(settings)
    work_dir = crawl_dir_for(Path(cache_dir), f"{name}-replay", fetch)
    if settings.get("crawl", True):
        result = crawl_wikis(repos, fetch, work_dir)
    else:
        store = CrawlStore(work_dir)
        result = CrawlResult(repos=repos, store=store, statuses=store.statuses())
    wikis = {wiki.repo: wiki for wiki in result.wikis()}
    for repo in repos:
        status = (result.status_of(repo) or {}).get("status", "pending")
        stats[f"wiki_{status}"] += 1
    by_name = {}
    for repo in repos:  # the wiki under the name the recipe gave (the site may differ in case)
        wiki = wikis.get(repo) or next(
            (w for r, w in wikis.items() if r.lower() == repo.lower()), None
        )
        if wiki is not None:
            by_name[repo] = wiki
    return by_name


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
