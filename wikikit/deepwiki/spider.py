"""The DeepWiki site crawler: a scrapy Spider, and `python -m wikikit.deepwiki.spider` to run it.

The crawl runs in its own process because Twisted's reactor cannot be restarted within one
process (a second data stage in the same interpreter would fail). The parent passes an
argument list, never a shell string.

One request per repository: `{base_url}/OWNER/REPO` carries, in its Next.js flight payload,
every page of the wiki (wikikit.deepwiki.flight); with `rsc` the request asks for the flight
stream itself (`RSC: 1`). The wiki is stored whole (CrawlStore) and no link is followed. Only
when a page lacks the payload does the spider fall back to following that repo's wiki page
links (`/OWNER/REPO/<n[.m]>-<slug>`) on the same host and keeping each page's HTML, page limits
(per repo and overall) counting pages scheduled and links over a limit kept as deferred for a
later run with a higher limit.

Politeness: robots.txt obeyed; AutoThrottle and a per-domain concurrency limit; transient
errors retried; a 429 (or a 503 with Retry-After) pauses the whole crawl for the time the
server asks (up to `retry_after_max_s`; beyond, the crawl stops as `rate_limited` and a
re-run resumes); responses over `max_payload_mb` are refused. Every response is cached on disk
(HTTPCACHE, errors excluded) and the scheduler queue, seen set and spider state live in JOBDIR,
so an interrupted crawl (Ctrl-C, SIGTERM) resumes where it stopped.

Output in --out: `status.jsonl` and `wikis/` (wikikit.deepwiki.store), `items.jsonl` (pages
fetched one by one: url, repo, status, content_type, body; flushed as written; a reader skips
a torn last line and keeps the last copy of a URL), `stats.json`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy.exceptions import CloseSpider
from scrapy.http import Response, TextResponse

from wikikit.bounded import iter_jsonl
from wikikit.deepwiki.flight import Limits, decode_html, decode_stream, has_push_scripts
from wikikit.deepwiki.polite import RATE_LIMIT_CODES, retry_after_s
from wikikit.deepwiki.settings import FetchSettings
from wikikit.deepwiki.store import FAILED, FETCHED, NO_WIKI, CrawlStore
from wikikit.deepwiki.wiki import page_path

PAGE_SLUG = re.compile(r"^\d+(?:\.\d+)*-[^/]+$")
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
ITEMS_FILE = "items.jsonl"
STATS_FILE = "stats.json"
JOB_FILE = "job.json"
NO_WIKI_CODES = (404, 410)


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
        rsc: bool = False,
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
        self.rsc = rsc
        self.requests_by_repo: Counter = Counter()
        self.rate_limited: str | None = None

    # -- state (persisted in JOBDIR by scrapy's SpiderState extension) --------------------------

    def _state(self) -> dict[str, Any]:
        state = getattr(self, "state", None)
        if state is None:  # no JOBDIR: an in-memory state for this run only
            state = self.state = {}
        state.setdefault("queued", {})
        state.setdefault("deferred", {})
        state.setdefault("done", set())  # repos whose wiki came whole from a flight payload
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

    def _request(self, url: str, repo: str, root: bool = False) -> scrapy.Request:
        headers = {"RSC": "1"} if self.rsc and root else None
        return scrapy.Request(
            url,
            callback=self.parse,
            errback=self.failed,
            cb_kwargs={"repo": repo},
            headers=headers,
            meta={"wikikit_root": root},
            # A repo given to this run is one whose wiki is not yet stored: ask again even if
            # an earlier run's seen set has its URL (a cached answer costs no request).
            dont_filter=root,
        )

    async def start(self) -> AsyncIterator[Any]:
        state = self._state()
        # Links deferred by a lower limit in an earlier run come first, then each repo's root.
        for repo, urls in sorted(state["deferred"].items()):
            if repo.lower() not in self.repos or repo in state["done"]:
                continue
            for url in sorted(urls):
                if self._admit(url, repo):
                    yield self._request(url, repo)
        for repo in self.repos.values():
            url = f"{self.base_url}/{repo}"
            # The root counts against the page limits like any page, but is always asked for.
            state["queued"].setdefault(repo, set()).add(url)
            yield self._request(url, repo, root=True)

    # -- responses ------------------------------------------------------------------------

    def parse(self, response: Response, repo: str) -> Any:
        state = self._state()
        root = bool(response.meta.get("wikikit_root"))
        if repo in state["done"] and not root:
            return  # the wiki came whole from a payload: pages fetched before add nothing
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1")
        is_text = isinstance(response, TextResponse)
        body = response.text if is_text else ""
        wiki = self._flight_wiki(response, repo, content_type, body)
        if wiki is not None:
            state["done"].add(repo)
            yield {"type": "wiki", "wiki": wiki}
            yield {
                "type": "status",
                "repo": repo,
                "status": FETCHED,
                "transport": "flight",
                "pages": len(wiki["pages"]),
                "requests": self.requests_by_repo[repo.lower()],
                "commit": wiki["commit"],
                "url": response.url,
            }
            return
        yield {
            "type": "page",
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

    def _flight_wiki(
        self, response: Response, repo: str, content_type: str, body: str
    ) -> dict[str, Any] | None:
        limits = Limits(max_bytes=int(self.settings.getint("DOWNLOAD_MAXSIZE") or Limits.max_bytes))
        if "x-component" in content_type:
            decoded = decode_stream(response.body, limits)
        elif "html" in content_type and has_push_scripts(body):
            decoded = decode_html(body, limits)
        else:
            return None
        for reason, n in decoded.dropped.items():
            self.crawler.stats.inc_value(f"wikikit/flight_dropped/{reason}", n)
        if not decoded.pages:
            self.crawler.stats.inc_value("wikikit/flight_without_wiki")
            return None
        prefix = f"{self.base_url}/{repo}"
        return {
            "repo": repo,
            "commit": decoded.commit,
            "generated_at": decoded.generated_at,
            "transport": "flight",
            "url": response.url,
            "requests": self.requests_by_repo[repo.lower()],
            "dropped": dict(decoded.dropped),
            "site_repo": decoded.repo,
            "pages": [
                {
                    "id": p.id,
                    "title": p.title,
                    "url": f"{prefix}/{page_path(p.id, p.title)}",
                    "markdown": p.markdown,
                }
                for p in decoded.pages
            ],
        }

    def failed(self, failure: Any) -> Any:
        """A request that ended in an error: for a repo's root, that is the repo's status."""
        from scrapy.spidermiddlewares.httperror import HttpError

        request = failure.request
        repo = request.cb_kwargs.get("repo")
        response = failure.value.response if failure.check(HttpError) else None
        if response is not None and response.status in RATE_LIMIT_CODES and self.rate_limited:
            raise CloseSpider("rate_limited")  # the repo stays pending: a re-run resumes it
        if not request.meta.get("wikikit_root") or repo is None:
            self.crawler.stats.inc_value("wikikit/page_errors")
            return
        if response is not None and response.status in NO_WIKI_CODES:
            status, reason = NO_WIKI, f"HTTP {response.status}"
        elif response is not None:
            status, reason = FAILED, f"HTTP {response.status}"
        else:
            status, reason = FAILED, _failure_reason(failure)
        yield {
            "type": "status",
            "repo": repo,
            "status": status,
            "reason": reason,
            "transport": "site",
            "requests": self.requests_by_repo[repo.lower()],
            "url": request.url,
        }

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
        stats["rate_limited"] = self.rate_limited or ""
        stats["deferred"] = sum(len(v) for v in self._state()["deferred"].values())
        stats["deferred_by_repo"] = {r: len(v) for r, v in self._state()["deferred"].items() if v}
        stats["requests_by_repo"] = dict(self.requests_by_repo)
        from wikikit.atomic import write_json

        write_json(out_dir / STATS_FILE, stats)


def _failure_reason(failure: Any) -> str:
    from scrapy.exceptions import IgnoreRequest

    if failure.check(IgnoreRequest):
        return f"not fetched: {failure.getErrorMessage() or 'forbidden by robots.txt'}"[:300]
    message = failure.getErrorMessage() or ""
    return f"{failure.type.__name__}: {message}".strip(": ")[:300]


class PoliteDownloaderMiddleware:
    """Counts requests per repo and honours Retry-After on 429/503 by pausing the whole crawl.

    Sits after the HTTP cache (priority 950), so only requests that reach the network count.
    """

    def __init__(self, crawler: Any):
        self.crawler = crawler
        self.max_wait = crawler.settings.getfloat("WIKIKIT_RETRY_AFTER_MAX", 300.0)

    @classmethod
    def from_crawler(cls, crawler: Any) -> PoliteDownloaderMiddleware:
        return cls(crawler)

    def process_request(self, request: scrapy.Request) -> None:
        repo = request.cb_kwargs.get("repo")
        spider = self.crawler.spider
        if repo and isinstance(spider, DeepWikiSpider):
            spider.requests_by_repo[repo.lower()] += 1
        return None

    async def process_response(self, request: scrapy.Request, response: Response) -> Any:
        if response.status not in RATE_LIMIT_CODES:
            return response
        from scrapy.downloadermiddlewares.retry import get_retry_request
        from scrapy.utils.asyncio import sleep

        spider = self.crawler.spider
        wait = retry_after_s(response.headers.get(b"Retry-After"))
        if wait is None:
            if response.status != 429:
                return response  # a plain 503: RetryMiddleware's ordinary retry
            wait = 1.0
        self.crawler.stats.inc_value("wikikit/rate_limited_responses")
        if wait > self.max_wait:
            if isinstance(spider, DeepWikiSpider):
                spider.rate_limited = (
                    f"the server asks to wait {wait:.0f} s (Retry-After), more than "
                    f"retry_after_max_s={self.max_wait:g}"
                )
            return response
        retry = get_retry_request(request, spider=spider, reason=f"{response.status} Retry-After")
        if retry is None:
            return response
        # Nothing new starts while the server asked us to wait; requests in flight finish.
        self.crawler.engine.pause()
        try:
            await sleep(wait)
        finally:
            self.crawler.engine.unpause()
        self.crawler.stats.inc_value("wikikit/retry_after_waited_s", round(wait, 3))
        return retry


class StorePipeline:
    """Wikis and statuses go to the CrawlStore; pages to items.jsonl, flushed as written."""

    def __init__(self, out_dir: str):
        self.store = CrawlStore(Path(out_dir))
        self.path = Path(out_dir) / ITEMS_FILE

    @classmethod
    def from_crawler(cls, crawler: Any) -> StorePipeline:
        return cls(crawler.settings.get("WIKIKIT_OUT_DIR"))

    def open_spider(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = self.path.open("a", encoding="utf-8")

    def process_item(self, item: dict) -> dict:
        kind = item.get("type")
        if kind == "wiki":
            self.store.save_wiki(item["wiki"])
        elif kind == "status":
            fields = {k: v for k, v in item.items() if k not in ("type", "repo", "status")}
            self.store.record(item["repo"], item["status"], **fields)
        else:
            self.file.write(json.dumps(item, ensure_ascii=False) + "\n")
            self.file.flush()
        return item

    def close_spider(self) -> None:
        self.file.close()


def crawl_settings(out_dir: Path, settings: FetchSettings) -> dict[str, Any]:
    """Scrapy's settings for one crawl into `out_dir` (its JOBDIR is `out_dir/job`)."""
    concurrency = settings.concurrency
    return {
        "BOT_NAME": "wikikit",
        "USER_AGENT": "wikikit-deepwiki-crawler (+https://github.com/GhostScientist/semanticwiki)",
        "ROBOTSTXT_OBEY": settings.obey_robots,
        "AUTOTHROTTLE_ENABLED": settings.autothrottle,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(concurrency),
        # One site per crawl: the global limit equals the per-domain one, so no more requests sit
        # in the downloader than may run (a Ctrl-C then waits only for those).
        "CONCURRENT_REQUESTS": concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "DOWNLOAD_DELAY": settings.download_delay,
        "DOWNLOAD_TIMEOUT": settings.timeout_s,
        "DOWNLOAD_MAXSIZE": int(settings.max_payload_mb * 2**20),
        "DOWNLOAD_WARNSIZE": int(settings.max_payload_mb * 2**19),
        "RETRY_ENABLED": True,
        "RETRY_TIMES": settings.retries,
        # 429 is PoliteDownloaderMiddleware's (it honours Retry-After); the rest are RetryMiddleware's.
        "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408],
        "DOWNLOADER_MIDDLEWARES": {f"{__name__}.PoliteDownloaderMiddleware": 950},
        "WIKIKIT_RETRY_AFTER_MAX": settings.retry_after_max_s,
        "REDIRECT_MAX_TIMES": 5,
        "HTTPCACHE_ENABLED": True,
        "HTTPCACHE_DIR": str(settings.httpcache(out_dir)),
        "HTTPCACHE_EXPIRATION_SECS": 0,
        # Never cache a transient error: a retry must reach the server, and so must a later run.
        "HTTPCACHE_IGNORE_HTTP_CODES": [403, 404, 408, 429, 500, 502, 503, 504, 522, 524],
        "ITEM_PIPELINES": {f"{__name__}.StorePipeline": 100},
        "WIKIKIT_OUT_DIR": str(out_dir),
        "JOBDIR": str(Path(out_dir) / "job"),
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,  # no listening ports besides what the crawl needs
        "LOG_LEVEL": settings.log_level,
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
    }


def run_crawl(out_dir: Path, repos: list[str], settings: FetchSettings) -> None:
    from scrapy.crawler import CrawlerProcess

    process = CrawlerProcess(crawl_settings(out_dir, settings))
    process.crawl(
        DeepWikiSpider,
        base_url=settings.base_url,
        repos=repos,
        max_pages=settings.max_pages,
        max_pages_per_repo=settings.max_pages_per_repo,
        rsc=settings.rsc,
    )
    process.start()


def build_command(out_dir: Path, repos: list[str], settings: FetchSettings) -> list[str]:
    """The argument list that runs one crawl in a child Python process.

    The repos and settings go in `out_dir/job.json` (hundreds of repos make a long command line)."""
    from wikikit.atomic import write_json

    out_dir = Path(out_dir)
    job = out_dir / JOB_FILE
    write_json(job, {"repos": list(repos), "settings": settings.to_dict()})
    return [
        sys.executable,
        "-m",
        "wikikit.deepwiki.spider",
        "--out",
        str(out_dir),
        "--job",
        str(job),
    ]


def read_items(out_dir: Path) -> dict[str, dict[str, Any]]:
    """Pages fetched one by one, by URL (the last copy wins); a torn last line is skipped."""
    path = Path(out_dir) / ITEMS_FILE
    pages: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return pages
    for _, item in iter_jsonl(path, skip_bad=True):  # a line cut by a kill is passed over
        if isinstance(item, dict) and item.get("type", "page") == "page" and "url" in item:
            pages[item["url"]] = item
    return pages


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m wikikit.deepwiki.spider", description=__doc__.split("\n")[0]
    )
    p.add_argument("--out", required=True, help="folder for the store, items.jsonl, stats.json")
    p.add_argument("--job", required=True, help="job.json: {repos, settings} (build_command)")
    args = p.parse_args(argv)
    job = json.loads(Path(args.job).read_text(encoding="utf-8"))
    run_crawl(
        Path(args.out), [str(r) for r in job["repos"]], FetchSettings.from_dict(job["settings"])
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
