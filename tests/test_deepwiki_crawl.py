"""The DeepWiki spider crawling a real HTTP server on 127.0.0.1 (see deepwiki_site.py)."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from deepwiki_site import OWNER, REPO, project_pages, real_pages, start_site, stop, url_slug

from wikikit.deepwiki.settings import FetchSettings
from wikikit.deepwiki.spider import build_command, read_items

pytestmark = pytest.mark.slow
PREFIX = f"/{OWNER}/{REPO}"


@pytest.fixture
def site():
    pages = project_pages() | real_pages()
    wiki, offsite = start_site(pages, markdown_slug="22-Widget Storage")
    wiki.pages = pages
    yield wiki, offsite
    stop(wiki)
    stop(offsite)


def crawl_cmd(tmp: Path, base_url: str, **kwargs) -> list[str]:
    settings = FetchSettings(
        base_url=base_url,
        httpcache_dir=str(tmp / "httpcache"),
        autothrottle=kwargs.pop("autothrottle", False),
        download_delay=kwargs.pop("download_delay", 0),
        concurrency=kwargs.pop("concurrency", 8),
        retries=2,
        timeout_s=10,
        **kwargs,
    )
    return build_command(tmp / "crawl", [f"{OWNER}/{REPO}"], settings)


def run(cmd: list[str]) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def wiki_paths(pages: dict[str, str]) -> set[str]:
    return {f"{PREFIX}/{url_slug(s)}" for s in pages} | {f"{PREFIX}/5-flaky", f"{PREFIX}/6-slow"}


def test_crawl_follows_only_the_repo_wiki(site, tmp_path):
    wiki, offsite = site
    run(crawl_cmd(tmp_path, wiki.base_url))
    items = read_items(tmp_path / "crawl")
    fetched = {u.removeprefix(wiki.base_url) for u in items}
    assert wiki_paths(wiki.pages) <= fetched
    requested = wiki.paths()
    # robots.txt was read and obeyed; other repos, non-page links and other hosts never requested.
    assert "/robots.txt" in requested
    assert f"{PREFIX}/99-private" not in requested
    assert "/other/repo/1-overview" not in requested
    assert f"{PREFIX}/README.md" not in requested
    assert offsite.log == []
    # The flaky page failed once and was retried; the slow page arrived.
    assert [s for p, s in wiki.log if p == f"{PREFIX}/5-flaky"] == [500, 200]
    assert items[f"{wiki.base_url}{PREFIX}/6-slow"]["status"] == 200
    # The redirect loop is cut by the seen-set, not followed forever.
    assert wiki.requested(f"{PREFIX}/90-loop-a") == 1 and wiki.requested(f"{PREFIX}/91-loop-b") == 1
    # Nothing fetched twice; markdown and HTML pages both kept with their content type.
    counts = Counter(requested)
    assert max(n for p, n in counts.items() if p != f"{PREFIX}/5-flaky") == 1
    storage = items[f"{wiki.base_url}{PREFIX}/{url_slug('22-Widget Storage')}"]
    assert (
        storage["content_type"].startswith("text/markdown")
        and "# Page: Widget Storage" in storage["body"]
    )
    stats = json.loads((tmp_path / "crawl" / "stats.json").read_text())
    assert stats["finish_reason"] == "finished" and stats["robotstxt/forbidden"] == 1


def test_page_limit_then_higher_limit_fetches_only_new_pages(site, tmp_path):
    wiki, offsite = site
    run(crawl_cmd(tmp_path, wiki.base_url, max_pages=5))
    first = read_items(tmp_path / "crawl")
    first_log = list(wiki.log)
    assert 1 <= len(first) <= 5
    stats = json.loads((tmp_path / "crawl" / "stats.json").read_text())
    assert stats["deferred"] > 0
    run(crawl_cmd(tmp_path, wiki.base_url, max_pages=1000))
    second_log = wiki.log[len(first_log) :]
    fetched_first = {p for p, s in first_log if s == 200 and p != "/robots.txt"}
    # The second run never re-requests a page the first run fetched (robots.txt comes from the cache too).
    assert not fetched_first & {p for p, _ in second_log}
    assert "/robots.txt" not in [p for p, _ in second_log]
    items = read_items(tmp_path / "crawl")
    assert wiki_paths(wiki.pages) <= {u.removeprefix(wiki.base_url) for u in items}
    assert offsite.log == [] and f"{PREFIX}/99-private" not in wiki.paths()


def test_interrupted_crawl_resumes_without_refetching(site, tmp_path):
    wiki, _ = site
    # One request at a time, each slow: a Ctrl-C after two pages lets at most the one in
    # flight finish, so the crawl is cut short whatever the machine's load.
    for route in wiki.routes.values():
        route.delay = max(route.delay, 0.6)
    cmd = crawl_cmd(tmp_path, wiki.base_url, concurrency=1)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    items_file = tmp_path / "crawl" / "items.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if items_file.exists() and len(items_file.read_text().splitlines()) >= 2:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)  # Ctrl-C: scrapy stops gracefully and keeps its JOBDIR
    _, err = proc.communicate(timeout=60)
    interrupted = read_items(tmp_path / "crawl")
    assert len(interrupted) >= 2, err[-1500:]
    assert "shutdown" in err
    first_log = list(wiki.log)

    for route in wiki.routes.values():
        route.delay = 0
    run(crawl_cmd(tmp_path, wiki.base_url))
    second = [p for p, _ in wiki.log[len(first_log) :]]
    already = {p for p, s in first_log if s == 200}
    assert not already & set(second), sorted(already & set(second))
    items = read_items(tmp_path / "crawl")
    assert len(interrupted) < len(items), "the interrupt did not cut the crawl short"
    assert wiki_paths(wiki.pages) <= {u.removeprefix(wiki.base_url) for u in items}
    assert f"{PREFIX}/99-private" not in wiki.paths()
