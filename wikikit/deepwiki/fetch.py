"""DeepWiki wikis by repository, from the site or the MCP server: the package's entry point.

    wiki = fetch_wiki("vasilyaksenov/QCustomPlot", FetchSettings())          # one repo, a Wiki
    (FetchSettings: wikikit.deepwiki.settings)
    result = crawl_wikis(repos, FetchSettings(transport="mcp"), work_dir)     # hundreds, resumable
    for wiki in result.wikis(): ...

`transport: site` runs the scrapy spider (wikikit.deepwiki.spider) in a child process: one
request per repository, the whole wiki from the page's flight payload, page-by-page HTML only
when a page has none. `transport: mcp` asks DeepWiki's MCP server (wikikit.deepwiki.mcp): two
tool calls per repository. Both keep their state in `work_dir` (wikikit.deepwiki.store): a
repository whose wiki is stored (or that has none) is never asked again, a failed one is asked
again on the next run, and an interrupted crawl resumes.
"""

from __future__ import annotations

import hashlib
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wikikit import children, console
from wikikit.deepwiki.html import convert_html
from wikikit.deepwiki.page import Page, wiki_page
from wikikit.deepwiki.polite import RateLimited, Throttle
from wikikit.deepwiki.settings import TRANSPORTS, FetchSettings
from wikikit.deepwiki.spider import STATS_FILE, build_command, read_items
from wikikit.deepwiki.store import FAILED, FETCHED, FINAL, NO_WIKI, PARTIAL, CrawlStore, repo_key
from wikikit.deepwiki.wiki import Wiki, page_order
from wikikit.errors import WikikitError

PROGRESS_EVERY_S = 10.0


@dataclass
class CrawlResult:
    repos: list[str]
    store: CrawlStore
    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)  # by repo_key
    stopped: str | None = None  # why the crawl stopped before the end (rate limited)
    log: Path | None = None

    def status_of(self, repo: str) -> dict[str, Any] | None:
        return self.statuses.get(repo_key(repo))

    def wikis(self) -> Iterator[Wiki]:
        """Each fetched wiki, in the order the repos were given."""
        for repo in self.repos:
            entry = self.status_of(repo)
            if entry is None or entry.get("status") not in (FETCHED, PARTIAL):
                continue
            data = self.store.load_wiki_dict(repo)
            if data is not None:
                yield wiki_from_stored(data, repo)

    def summary(self) -> dict[str, Any]:
        counts = Counter((self.status_of(r) or {}).get("status", "pending") for r in self.repos)
        entries = [self.status_of(r) or {} for r in self.repos]
        return {
            "repos": len(self.repos),
            "by_status": dict(sorted(counts.items())),
            "pages": sum(int(e.get("pages") or 0) for e in entries),
            "requests": sum(int(e.get("requests") or 0) for e in entries),
            "by_transport": dict(
                sorted(Counter(e["transport"] for e in entries if e.get("transport")).items())
            ),
            "stopped": self.stopped,
        }


def wiki_from_stored(data: dict[str, Any], repo: str) -> Wiki:
    wiki = Wiki.from_dict(data)
    wiki.repo = repo  # the name the recipe gave (the site's repo_name may differ in case)
    return wiki


def pending_repos(repos: list[str], store: CrawlStore) -> list[str]:
    """Repos without a final status (or whose stored wiki went missing)."""
    statuses = store.statuses()
    out = []
    for repo in repos:
        entry = statuses.get(repo_key(repo))
        final = entry is not None and entry.get("status") in FINAL
        if final and entry.get("status") == FETCHED and not store.wiki_path(repo).is_file():
            final = False
        if not final:
            out.append(repo)
    return out


def crawl_wikis(repos: list[str], settings: FetchSettings, work_dir: Path) -> CrawlResult:
    """Fetch every repo's wiki not yet stored in `work_dir`; statuses for all of them."""
    if settings.transport not in TRANSPORTS:
        raise WikikitError(
            f"deepwiki: transport must be one of {TRANSPORTS}, not {settings.transport!r}"
        )
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    store = CrawlStore(work_dir)
    repos = list(dict.fromkeys(repos))
    todo = pending_repos(repos, store)
    result = CrawlResult(repos=repos, store=store)
    if todo:
        done = len(repos) - len(todo)
        where = settings.base_url if settings.transport == "site" else settings.mcp_url
        console.info(
            f"deepwiki: {len(todo)} of {len(repos)} repositories to fetch from {where}"
            + (f" ({done} already stored)" if done else "")
        )
        if settings.transport == "site":
            result.stopped = _crawl_site(todo, settings, store, work_dir)
            result.log = work_dir / "crawl.log"
        else:
            result.stopped = _crawl_mcp(todo, settings, store)
    result.statuses = store.statuses()
    return result


def fetch_wiki(
    repo: str, settings: FetchSettings | None = None, work_dir: Path | None = None
) -> Wiki:
    """One repository's wiki; WikikitError when it has none or the fetch failed."""
    import tempfile

    settings = settings or FetchSettings()
    with tempfile.TemporaryDirectory(prefix="wikikit-deepwiki-") as tmp:
        result = crawl_wikis([repo], settings, Path(work_dir or tmp))
        wiki = next(result.wikis(), None)
        if wiki is not None:
            return wiki
        entry = result.status_of(repo) or {}
        why = result.stopped or entry.get("reason") or entry.get("status") or "not fetched"
        raise WikikitError(f"deepwiki: no wiki for {repo}: {why}")


# -- the site ---------------------------------------------------------------------------------


def _crawl_site(
    todo: list[str], settings: FetchSettings, store: CrawlStore, work_dir: Path
) -> str | None:
    started = time.time()
    (work_dir / STATS_FILE).unlink(missing_ok=True)  # this run's, or none: never an old one
    cmd = build_command(work_dir, todo, settings)
    log_path = work_dir / "crawl.log"
    with log_path.open("ab") as log:
        proc = children.popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        try:
            _watch(proc, store, todo, started)
        finally:
            # Ctrl-C or an error: SIGTERM first, so scrapy stops gracefully and keeps its JOBDIR
            children.stop(proc, grace_s=60)
    if proc.returncode != 0:
        tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:]
        raise WikikitError(
            f"deepwiki crawl failed (exit {proc.returncode}): {' '.join(tail)} (log: {log_path})"
        )
    stats = _read_json(work_dir / STATS_FILE)
    _finish_page_crawls(todo, store, work_dir, started, stats)
    if stats.get("finish_reason") == "rate_limited":
        return f"rate limited: {stats.get('rate_limited') or 'the server asked to wait'}"
    return None


def _watch(proc: subprocess.Popen, store: CrawlStore, todo: list[str], started: float) -> None:
    """Wait for the child, saying every few seconds how many repos have an outcome."""
    last = time.monotonic()
    wanted = {repo_key(r) for r in todo}
    while proc.poll() is None:
        time.sleep(0.2)
        if time.monotonic() - last >= PROGRESS_EVERY_S:
            last = time.monotonic()
            now = [
                e for k, e in store.statuses().items() if k in wanted and e.get("at", 0) >= started
            ]
            counts = Counter(e["status"] for e in now)
            console.info(
                f"deepwiki: {len(now)}/{len(todo)} repositories "
                + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
            )


def _read_json(path: Path) -> dict[str, Any]:
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _finish_page_crawls(
    todo: list[str], store: CrawlStore, work_dir: Path, started: float, stats: dict[str, Any]
) -> None:
    """Repos the spider crawled page by page (no payload): their pages become a wiki."""
    statuses = store.statuses()
    by_repo: dict[str, list[dict[str, Any]]] = {}
    for item in read_items(work_dir).values():
        by_repo.setdefault(repo_key(str(item.get("repo", ""))), []).append(item)
    deferred = {repo_key(r): n for r, n in (stats.get("deferred_by_repo") or {}).items()}
    requests = {repo_key(r): n for r, n in (stats.get("requests_by_repo") or {}).items()}
    for repo in todo:
        key = repo_key(repo)
        entry = statuses.get(key)
        if entry is not None and entry.get("at", 0) >= started:
            continue  # the spider settled it (flight wiki, no wiki, failed)
        items = by_repo.get(key)
        if not items:
            continue  # never reached (a stopped crawl): still pending
        wiki = wiki_from_pages(repo, items)
        wiki.requests = int(requests.get(key, 0))
        if not wiki.pages:
            store.record(
                repo,
                NO_WIKI,
                reason="no wiki content in its pages",
                transport="html",
                requests=wiki.requests,
            )
            continue
        store.save_wiki(wiki.to_dict())
        status = PARTIAL if deferred.get(key) else FETCHED
        store.record(
            repo,
            status,
            transport=wiki.transport,
            pages=len(wiki.pages),
            requests=wiki.requests,
            missing_diagrams=wiki.missing_diagrams,
            **(
                {"reason": f"{deferred[key]} page links deferred by a page limit"}
                if status == PARTIAL
                else {}
            ),
        )


def wiki_from_pages(repo: str, items: list[dict[str, Any]]) -> Wiki:
    """A wiki from pages fetched one by one (HTML or markdown), duplicates (the root) dropped."""
    seen: set[str] = set()
    pages: list[Page] = []
    dropped: Counter = Counter()
    kinds = set()
    for item in sorted(items, key=lambda i: str(i.get("url"))):
        if int(item.get("status", 0)) != 200 or not item.get("body"):
            dropped["pages_not_ok"] += 1
            continue
        body = str(item["body"])
        missing = 0
        if "html" in str(item.get("content_type", "")):
            converted = convert_html(body)
            markdown, missing = converted.markdown, converted.missing_diagrams
            kinds.add("html")
        else:
            markdown = body
            kinds.add("files")
        digest = hashlib.sha256(markdown.encode()).hexdigest()
        if digest in seen:
            dropped["pages_duplicate"] += 1
            continue
        seen.add(digest)
        page = wiki_page(None, "", markdown, url=item.get("url"))
        page.missing_diagrams = missing
        if not page.sections:
            dropped["pages_without_sections"] += 1
            continue
        pages.append(page)
    pages.sort(key=lambda p: (page_order(p), p.url or ""))
    transport = "html" if "html" in kinds else "files"
    return Wiki(repo=repo, pages=pages, transport=transport, dropped=dict(dropped))


# -- MCP --------------------------------------------------------------------------------------


def _crawl_mcp(todo: list[str], settings: FetchSettings, store: CrawlStore) -> str | None:
    from wikikit.deepwiki.mcp import McpClient, McpError, McpSettings, NoWiki, fetch_wiki_mcp

    mcp_settings = McpSettings(
        url=settings.mcp_url,
        timeout_s=settings.timeout_s,
        retries=settings.retries,
        retry_after_max_s=settings.retry_after_max_s,
        max_response_bytes=int(settings.max_payload_mb * 2**20),
    )
    throttle = Throttle(settings.download_delay)
    local = threading.local()
    clients: list[McpClient] = []
    stop = threading.Event()
    stopped: list[str] = []
    lock = threading.Lock()
    progress = {"done": 0, "last": time.monotonic()}

    def client() -> McpClient:
        if getattr(local, "client", None) is None:
            local.client = McpClient(mcp_settings, throttle)
            with lock:
                clients.append(local.client)
        return local.client

    def one(repo: str) -> None:
        if stop.is_set():
            return
        c = client()
        before = c.requests
        try:
            wiki = fetch_wiki_mcp(c, repo)
        except RateLimited as exc:
            stop.set()
            stopped.append(str(exc))
            return
        except NoWiki as exc:
            store.record(
                repo, NO_WIKI, reason=str(exc), transport="mcp", requests=c.requests - before
            )
        except McpError as exc:
            store.record(
                repo, FAILED, reason=str(exc)[:300], transport="mcp", requests=c.requests - before
            )
        else:
            wiki.requests = c.requests - before
            store.save_wiki(wiki.to_dict())
            store.record(
                repo, FETCHED, transport="mcp", pages=len(wiki.pages), requests=wiki.requests
            )
        with lock:
            progress["done"] += 1
            if time.monotonic() - progress["last"] >= PROGRESS_EVERY_S:
                progress["last"] = time.monotonic()
                console.info(f"deepwiki: {progress['done']}/{len(todo)} repositories over MCP")

    try:
        with ThreadPoolExecutor(max_workers=max(1, settings.concurrency)) as pool:
            for future in [pool.submit(one, r) for r in todo]:
                future.result()
    finally:
        for c in clients:
            c.close()
    return stopped[0] if stopped else None
