"""Crawl and parse speed of the DeepWiki source on a local site of N pages, throttling off.

    .venv/bin/python bench/crawl.py [--pages 1000] [--concurrency 16]

Serves N DeepWiki-form pages (the 20 real OpenHands pages when ../shared is present, else the
project's own, repeated under new slugs) from 127.0.0.1, crawls them with the real spider in a
child process (AutoThrottle off, no delay, robots.txt obeyed, HTTP cache and JOBDIR on), then
parses and chunks them as the source does. Prints pages/second for each part.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from deepwiki_site import OWNER, REPO, Site, build_wiki_site, project_pages, real_pages, serve, stop  # noqa: E402

from wikikit.data.sources.deepwiki import examples_from_pages, load_pages  # noqa: E402
from wikikit.deepwiki.spider import build_command, read_items  # noqa: E402


def make_pages(n: int) -> dict[str, str]:
    base = list((real_pages() or project_pages()).values())
    pages = {}
    for i in range(n):
        text = base[i % len(base)]
        slug = f"{i + 1}-Page {i + 1}"
        body = text.split("\n", 1)[1] if text.split("\n", 1)[0].strip()[:1].isdigit() else text
        pages[slug] = f"{slug}\n{body}".replace("# Page: ", f"# Page: {i + 1} ", 1)
    return pages


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=16)
    args = ap.parse_args()

    pages = make_pages(args.pages)
    routes, _ = build_wiki_site(pages, slow_delay=0.0, nav_window=10)
    site = serve(Site(routes=routes))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "crawl"
        cmd = build_command(
            out,
            base_url=site.base_url,
            repos=[f"{OWNER}/{REPO}"],
            httpcache_dir=Path(tmp) / "httpcache",
            jobdir=out / "job",
            autothrottle=False,
            download_delay=0,
            concurrency_per_domain=args.concurrency,
            log_level="WARNING",
        )
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True)
        crawl_s = time.perf_counter() - t0
        stats = json.loads((out / "stats.json").read_text())
        items = read_items(out)

        t1 = time.perf_counter()
        counts: Counter = Counter()
        parsed = load_pages(out, [f"{OWNER}/{REPO}"], counts)
        examples = list(examples_from_pages(parsed, {"strategy": "heading", "level": 2}, seed=0))
        parse_s = time.perf_counter() - t1
    stop(site)

    fetched = len(items)
    print(
        f"site: {args.pages} wiki pages (+ hazards), concurrency {args.concurrency}, throttling off"
    )
    print(
        f"crawl: {fetched} pages in {crawl_s:.1f} s wall (process start included) = {fetched / crawl_s:.1f} pages/s"
    )
    print(
        f"crawl: finish_reason={stats['finish_reason']}, retries={stats.get('retry/count', 0)}, robots-forbidden={stats.get('robotstxt/forbidden', 0)}"
    )
    print(
        f"parse+chunk: {counts['pages_parsed']} pages, {len(examples)} examples in {parse_s:.1f} s = {counts['pages_parsed'] / parse_s:.1f} pages/s"
    )
    print(f"end to end: {counts['pages_parsed'] / (crawl_s + parse_s):.1f} pages/s")


if __name__ == "__main__":
    main()
