"""The DeepWiki crawler: a scrapy Spider, and `python -m wikikit.deepwiki.spider` to run it.

The crawl runs in its own process because Twisted's reactor cannot be restarted within one
process (a second data stage in the same interpreter would fail). The parent passes an
argument list, never a shell string.

What the crawl does: start at `{base_url}/OWNER/REPO` for each repo; follow only links to that
repo's wiki pages (`/OWNER/REPO/<n[.m]>-<slug>`) on the same host; obey robots.txt; AutoThrottle
and a per-domain concurrency limit; retry transient errors; cache every response on disk
(HTTPCACHE, errors excluded) so nothing is downloaded twice; keep the scheduler queue, the seen
set and the spider's state in JOBDIR so an interrupted crawl (Ctrl-C, SIGTERM) resumes where it
stopped. Page limits (per repo and overall) count pages scheduled; links over a limit are kept
in the state as deferred and scheduled by a later run with a higher limit.

Each fetched page is one JSON line in `items.jsonl` (url, repo, status, content_type, body),
flushed as it is written; a reader skips a torn last line and keeps the last copy of a URL.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy.http import Response, TextResponse

PAGE_SLUG = re.compile(r"^\d+(?:\.\d+)*-[^/]+$")
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
ITEMS_FILE = "items.jsonl"
STATS_FILE = "stats.json"


def repo_of(url: str, base_path: str, repos: dict[str, str]) -> str | None:
    """The listed repo whose wiki `url` belongs to (root or a numbered page), else None."""
    path = urlsplit(url).path
    if base_path and path.startswith(base_path):
        path = path[len(base_path) :]
    parts = [p for p in path.split("/") if p]
    if len(parts) < 2:
        return None
    repo = repos.get(f"{parts[0]}/{parts[1]}".lower())
    if repo is None:
        return None
    if len(parts) == 2 or (len(parts) == 3 and PAGE_SLUG.match(parts[2])):
        return repo
    return None


class DeepWikiSpider(scrapy.Spider):
    name = "deepwiki"

    def __init__(
        self,
        base_url: str = "https://deepwiki.com",
        repos: list[str] | None = None,
        max_pages: int | None = None,
        max_pages_per_repo: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")
        split = urlsplit(self.base_url)
        self.host = split.hostname or ""
        self.netloc = split.netloc
        self.base_path = split.path.rstrip("/")
        self.allowed_domains = [self.host]
        self.repos = {r.lower(): r for r in (repos or [])}
        self.max_pages = max_pages
        self.max_pages_per_repo = max_pages_per_repo

    # -- state (persisted in JOBDIR by scrapy's SpiderState extension) --------------------------

    def _state(self) -> dict[str, Any]:
        state = getattr(self, "state", None)
        if state is None:  # no JOBDIR: an in-memory state for this run only
            state = self.state = {}
        state.setdefault("queued", {})
        state.setdefault("deferred", {})
        return state

    def _queued_total(self) -> int:
        return sum(len(v) for v in self._state()["queued"].values())

    def _admit(self, url: str, repo: str) -> bool:
        """Count `url` against the limits; False (and deferred) when a limit is reached."""
        state = self._state()
        queued = state["queued"].setdefault(repo, set())
        if url in queued:
            return False
        over_repo = self.max_pages_per_repo is not None and len(queued) >= self.max_pages_per_repo
        over_all = self.max_pages is not None and self._queued_total() >= self.max_pages
        if over_repo or over_all:
            state["deferred"].setdefault(repo, set()).add(url)
            return False
        queued.add(url)
        state["deferred"].get(repo, set()).discard(url)
        return True

    def _request(self, url: str, repo: str) -> scrapy.Request:
        return scrapy.Request(url, callback=self.parse, cb_kwargs={"repo": repo})

    async def start(self) -> AsyncIterator[Any]:
        state = self._state()
        # Links deferred by a lower limit in an earlier run come first, then each repo's root.
        for repo, urls in sorted(state["deferred"].items()):
            for url in sorted(urls):
                if self._admit(url, repo):
                    yield self._request(url, repo)
        for repo in self.repos.values():
            url = f"{self.base_url}/{repo}"
            if self._admit(url, repo):
                yield self._request(url, repo)

    def parse(self, response: Response, repo: str) -> Any:
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1")
        body = response.text if isinstance(response, TextResponse) else ""
        yield {
            "url": response.url,
            "request_url": response.request.url if response.request else response.url,
            "repo": repo,
            "status": response.status,
            "content_type": content_type,
            "body": body,
            "fetched_at": time.time(),
        }
        for url in self._links(response, body, content_type):
            if urlsplit(url).netloc != self.netloc:
                continue  # off-site: never requested
            target = repo_of(url, self.base_path, self.repos)
            if target == repo and self._admit(url, repo):
                yield self._request(url, repo)

    def _links(self, response: Response, body: str, content_type: str) -> list[str]:
        if "html" in content_type and isinstance(response, TextResponse):
            # Straight from lxml: pages carry hundreds of anchors (source links, references),
            # and a Selector per attribute costs more than the rest of the page's handling.
            hrefs = {str(h) for h in response.selector.root.xpath("//a/@href")}
        else:
            hrefs = set(MARKDOWN_LINK.findall(body))
        out = []
        for href in sorted(hrefs):
            href = href.strip().split("#", 1)[0].split("?", 1)[0].rstrip("/")
            # Only a numbered page or a repo root can be a wiki page: skip the rest unparsed.
            last = href.rsplit("/", 1)[-1]
            is_root = any(href.lower().endswith("/" + r) for r in self.repos)
            if not href or not (PAGE_SLUG.match(last) or is_root):
                continue
            url = urljoin(response.url, href)
            if url.startswith(("http://", "https://")):
                out.append(url)
        return out

    def closed(self, reason: str) -> None:
        out_dir = Path(self.settings.get("WIKIKIT_OUT_DIR"))
        stats = {
            k: v if isinstance(v, (int, float, str)) else str(v)
            for k, v in self.crawler.stats.get_stats().items()
        }
        stats["finish_reason"] = reason
        stats["deferred"] = sum(len(v) for v in self._state()["deferred"].values())
        from wikikit.atomic import write_json

        write_json(out_dir / STATS_FILE, stats)


class JsonLinesPipeline:
    """Append each page to items.jsonl and flush, so a killed crawl keeps what it fetched."""

    def __init__(self, out_dir: str):
        self.path = Path(out_dir) / ITEMS_FILE

    @classmethod
    def from_crawler(cls, crawler: Any) -> JsonLinesPipeline:
        return cls(crawler.settings.get("WIKIKIT_OUT_DIR"))

    def open_spider(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = self.path.open("a", encoding="utf-8")

    def process_item(self, item: dict) -> dict:
        self.file.write(json.dumps(item, ensure_ascii=False) + "\n")
        self.file.flush()
        return item

    def close_spider(self) -> None:
        self.file.close()


def crawl_settings(
    out_dir: Path,
    *,
    httpcache_dir: Path,
    jobdir: Path | None,
    obey_robots: bool = True,
    autothrottle: bool = True,
    concurrency_per_domain: int = 4,
    download_delay: float = 0.5,
    timeout_s: float = 30.0,
    retries: int = 3,
    log_level: str = "INFO",
) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "BOT_NAME": "wikikit",
        "USER_AGENT": "wikikit-deepwiki-crawler (+https://github.com/GhostScientist/semanticwiki)",
        "ROBOTSTXT_OBEY": obey_robots,
        "AUTOTHROTTLE_ENABLED": autothrottle,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(concurrency_per_domain),
        # One site per crawl: the global limit equals the per-domain one, so no more requests sit
        # in the downloader than may run (a Ctrl-C then waits only for those).
        "CONCURRENT_REQUESTS": concurrency_per_domain,
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency_per_domain,
        "DOWNLOAD_DELAY": download_delay,
        "DOWNLOAD_TIMEOUT": timeout_s,
        "RETRY_ENABLED": True,
        "RETRY_TIMES": retries,
        "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408, 429],
        "REDIRECT_MAX_TIMES": 5,
        "HTTPCACHE_ENABLED": True,
        "HTTPCACHE_DIR": str(httpcache_dir),
        "HTTPCACHE_EXPIRATION_SECS": 0,
        # Never cache a transient error: a retry must reach the server, and so must a later run.
        "HTTPCACHE_IGNORE_HTTP_CODES": [403, 404, 408, 429, 500, 502, 503, 504, 522, 524],
        "ITEM_PIPELINES": {f"{__name__}.JsonLinesPipeline": 100},
        "WIKIKIT_OUT_DIR": str(out_dir),
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,  # no listening ports besides what the crawl needs
        "LOG_LEVEL": log_level,
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
    }
    if jobdir is not None:
        settings["JOBDIR"] = str(jobdir)
    return settings


def run_crawl(args: argparse.Namespace) -> None:
    from scrapy.crawler import CrawlerProcess

    out_dir = Path(args.out)
    settings = crawl_settings(
        out_dir,
        httpcache_dir=Path(args.httpcache or out_dir / "httpcache"),
        jobdir=Path(args.jobdir) if args.jobdir else None,
        obey_robots=not args.ignore_robots,
        autothrottle=not args.no_autothrottle,
        concurrency_per_domain=args.concurrency,
        download_delay=args.delay,
        timeout_s=args.timeout,
        retries=args.retries,
        log_level=args.log_level,
    )
    process = CrawlerProcess(settings)
    process.crawl(
        DeepWikiSpider,
        base_url=args.base_url,
        repos=args.repo,
        max_pages=args.max_pages,
        max_pages_per_repo=args.max_pages_per_repo,
    )
    process.start()


def build_command(
    out_dir: Path,
    *,
    base_url: str,
    repos: list[str],
    httpcache_dir: Path,
    jobdir: Path | None,
    max_pages: int | None = None,
    max_pages_per_repo: int | None = None,
    obey_robots: bool = True,
    autothrottle: bool = True,
    concurrency_per_domain: int = 4,
    download_delay: float = 0.5,
    timeout_s: float = 30.0,
    retries: int = 3,
    log_level: str = "INFO",
) -> list[str]:
    """The argument list that runs one crawl in a child Python process."""
    cmd = [
        sys.executable,
        "-m",
        "wikikit.deepwiki.spider",
        "--out",
        str(out_dir),
        "--base-url",
        base_url,
    ]
    for repo in repos:
        cmd += ["--repo", repo]
    cmd += ["--httpcache", str(httpcache_dir)]
    if jobdir is not None:
        cmd += ["--jobdir", str(jobdir)]
    if max_pages is not None:
        cmd += ["--max-pages", str(max_pages)]
    if max_pages_per_repo is not None:
        cmd += ["--max-pages-per-repo", str(max_pages_per_repo)]
    if not obey_robots:
        cmd.append("--ignore-robots")
    if not autothrottle:
        cmd.append("--no-autothrottle")
    cmd += ["--concurrency", str(concurrency_per_domain), "--delay", str(download_delay)]
    cmd += ["--timeout", str(timeout_s), "--retries", str(retries), "--log-level", log_level]
    return cmd


def read_items(out_dir: Path) -> dict[str, dict[str, Any]]:
    """Fetched pages by URL (the last copy wins); a torn last line from a killed crawl is skipped."""
    path = Path(out_dir) / ITEMS_FILE
    pages: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return pages
    with path.open(encoding="utf-8") as f:
        for line in f:
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                continue
            pages[item["url"]] = item
    return pages


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m wikikit.deepwiki.spider", description=__doc__.split("\n")[0]
    )
    p.add_argument("--out", required=True, help="folder for items.jsonl and stats.json")
    p.add_argument("--base-url", default="https://deepwiki.com")
    p.add_argument("--repo", action="append", required=True, help="OWNER/REPO (repeatable)")
    p.add_argument("--httpcache", help="HTTP cache folder (default OUT/httpcache)")
    p.add_argument("--jobdir", help="scrapy JOBDIR for pause/resume")
    p.add_argument("--max-pages", type=int)
    p.add_argument("--max-pages-per-repo", type=int)
    p.add_argument("--ignore-robots", action="store_true")
    p.add_argument("--no-autothrottle", action="store_true")
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--delay", type=float, default=0.5)
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--retries", type=int, default=3)
    p.add_argument("--log-level", default="INFO")
    run_crawl(p.parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
