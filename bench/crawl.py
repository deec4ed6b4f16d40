"""DeepWiki fetch speed for both transports on N repositories served from 127.0.0.1.

    .venv/bin/python bench/crawl.py [--repos 200] [--concurrency 16] [--transport site|mcp|html|all]

- site: every repository's root answers with the real deepwiki.com page of
  ../shared/fixtures/deepwiki-real (served unchanged; 11 pages in its flight payload), or with
  a page of the same shape built from the project's pages without ../shared; the real scrapy
  spider in a child process (AutoThrottle off, no delay, robots.txt obeyed, HTTP cache on).
- mcp: a loopback MCP server (streamable HTTP, SSE answers) holding the same pages for every
  repository; wikikit's MCP client, `concurrency` sessions.
- html: the page-by-page fallback for comparison (one repo whose pages carry no payload: the
  20 real OpenHands pages repeated, or the project's), as the crawler worked before.

Prints, per transport: requests per repository, pages per second for the fetch (process start
included) and for parse + chunk into examples, and end to end.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from deepwiki_mcp import McpWikiServer  # noqa: E402
from deepwiki_real import real_page  # noqa: E402
from deepwiki_site import (  # noqa: E402
    OWNER,
    PROJECT_PAGES,
    REPO,
    Route,
    Site,
    build_wiki_site,
    project_pages,
    real_pages,
    serve,
    stop,
)

from wikikit.data.sources.deepwiki import examples_from_pages  # noqa: E402
from wikikit.deepwiki.fetch import FetchSettings, crawl_wikis  # noqa: E402
from wikikit.deepwiki.flight import FlightPage, decode_html, encode_html, encode_stream  # noqa: E402

CHUNKING = {"strategy": "heading", "level": 2}


def wiki_pages() -> list[FlightPage]:
    page = real_page()
    if page is not None:
        return decode_html(page.decode("utf-8")).pages
    return [
        FlightPage(
            s.split("-", 1)[0], s.split("-", 1)[1], t.split("# Page: ", 1)[1].split("\n", 1)[1]
        )
        for s, t in PROJECT_PAGES.items()
    ]


def repo_names(n: int) -> list[str]:
    return [f"bench{i // 100}/repo-{i}" for i in range(n)]


def chunk_all(result) -> tuple[int, int, float]:
    t = time.perf_counter()
    pairs = [(w.repo, p) for w in result.wikis() for p in w.pages]
    examples = sum(1 for _ in examples_from_pages(pairs, CHUNKING, seed=0))
    return len(pairs), examples, time.perf_counter() - t


def report(
    name: str,
    repos: int,
    requests: int,
    fetch_s: float,
    pages: int,
    examples: int,
    parse_s: float,
    by_status: dict,
) -> None:
    print(f"{name}: {repos} repositories, {dict(by_status)}")
    print(f"  requests per repository: {requests / max(repos, 1):.2f} ({requests} in all)")
    print(
        f"  fetch: {pages} pages in {fetch_s:.1f} s = {pages / fetch_s:.1f} pages/s ({repos / fetch_s:.1f} repos/s)"
    )
    print(
        f"  parse+chunk: {examples} examples in {parse_s:.2f} s = {pages / max(parse_s, 1e-9):.0f} pages/s"
    )
    print(f"  end to end: {pages / (fetch_s + parse_s):.1f} pages/s")


def run_site(label: str, routes: dict, repos: list[str], concurrency: int, work_dir: Path) -> None:
    """Crawl `repos` from a loopback site of `routes` and report."""
    site = serve(Site(routes=routes))
    settings = FetchSettings(
        base_url=site.base_url, autothrottle=False, download_delay=0, concurrency=concurrency
    )
    t0 = time.perf_counter()
    result = crawl_wikis(repos, settings, work_dir)
    fetch_s = time.perf_counter() - t0
    stop(site)
    requests = sum(1 for p, _ in site.log if p != "/robots.txt")
    pages, examples, parse_s = chunk_all(result)
    by_status = result.summary()["by_status"]
    report(label, len(repos), requests, fetch_s, pages, examples, parse_s, by_status)


def bench_site(n: int, concurrency: int, tmp: Path) -> None:
    page = real_page()
    body = page or encode_html(encode_stream("x/y", wiki_pages(), "0123abcd", None)).encode()
    names = repo_names(n)
    routes = {"/robots.txt": Route(body=b"User-agent: *\nAllow: /\n", content_type="text/plain")}
    routes.update({f"/{r}": Route(body=body) for r in names})
    run_site("site (flight payload)", routes, names, concurrency, tmp / "site")


def bench_mcp(n: int, concurrency: int, tmp: Path) -> None:
    entries = [(p.id, p.title, p.markdown) for p in wiki_pages()]
    names = repo_names(n)
    server = McpWikiServer({r: entries for r in names}).start()
    settings = FetchSettings(
        transport="mcp", mcp_url=server.url, download_delay=0, concurrency=concurrency
    )
    t0 = time.perf_counter()
    result = crawl_wikis(names, settings, tmp / "mcp")
    fetch_s = time.perf_counter() - t0
    server.stop()
    pages, examples, parse_s = chunk_all(result)
    report(
        "mcp", n, len(server.log), fetch_s, pages, examples, parse_s, result.summary()["by_status"]
    )
    print(f"  of which tool calls: {Counter(e['method'] for e in server.log)['tools/call']}")


def bench_html(pages_wanted: int, concurrency: int, tmp: Path) -> None:
    base = list((real_pages() or project_pages()).values())
    pages = {}
    for i in range(pages_wanted):
        text = base[i % len(base)]
        slug = f"{i + 1}-Page {i + 1}"
        body = text.split("\n", 1)[1] if text.split("\n", 1)[0].strip()[:1].isdigit() else text
        pages[slug] = f"{slug}\n{body}".replace("# Page: ", f"# Page: {i + 1} ", 1)
    routes, _ = build_wiki_site(pages, slow_delay=0.0, nav_window=10)
    label = "html page by page (fallback)"
    run_site(label, routes, [f"{OWNER}/{REPO}"], concurrency, tmp / "html")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repos", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--html-pages", type=int, default=500, help="pages of the page-by-page run")
    ap.add_argument("--transport", choices=["site", "mcp", "html", "all"], default="all")
    args = ap.parse_args()
    source = "the real page" if real_page() is not None else "project pages (no ../shared)"
    print(
        f"{len(wiki_pages())} pages per wiki from {source}; concurrency {args.concurrency}; throttling off"
    )
    with tempfile.TemporaryDirectory() as tmp:
        if args.transport in ("site", "all"):
            bench_site(args.repos, args.concurrency, Path(tmp))
        if args.transport in ("mcp", "all"):
            bench_mcp(args.repos, args.concurrency, Path(tmp))
        if args.transport in ("html", "all"):
            bench_html(args.html_pages, args.concurrency, Path(tmp))


if __name__ == "__main__":
    main()
