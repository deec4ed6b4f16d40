"""A small DeepWiki-like site on 127.0.0.1 for crawl tests and bench/crawl.py.

Pages are DeepWiki markdown (the real OpenHands pages when ../shared is present, plus pages
written here) served as HTML like the site serves them, one served as raw markdown. Around them:
robots.txt disallowing a page, a page that fails with 500 once, a slow page, a redirect loop,
links to another repo and to another host (a second server that must never be called).
Every request is logged as (path, status) in `Site.log`.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from markdown_it import MarkdownIt

SHARED_DOCS = (
    Path(__file__).resolve().parents[2] / "shared/fixtures/codewikibench/OpenHands/deepwiki/docs"
)
OWNER, REPO = "acme", "widgets"

PROJECT_PAGES = {
    "21-Widgets Overview": """21-Widgets Overview

# Page: Widgets Overview

# Widgets Overview

<details>
<summary>Relevant source files</summary>

The following files were used as context for generating this wiki page:

- [widgets/app.py](widgets/app.py)
- [widgets/store.py](widgets/store.py)

</details>

Widgets is a small service that stores and renders widgets.

## Architecture

The app receives requests and hands them to the store.

```mermaid
graph TD
    App["App<br/>(app.py)"] --> Store["Store<br/>(store.py)"]
```

Sources: [widgets/app.py:1-40](), [widgets/store.py:10-22]()

## Request Flow

```mermaid
sequenceDiagram
    participant C as Client
    participant A as App
    C->>A: GET /widgets
    A-->>C: 200
```

```python
# not a heading: a comment in code
def handle(request):
    return store.get(request.id)
```

Sources: [widgets/app.py:41-77]()
""",
    "22-Widget Storage": """22-Widget Storage

# Page: Widget Storage

# Widget Storage

<details>
<summary>Relevant source files</summary>

- [widgets/store.py](widgets/store.py)

</details>

## Store Component

The store keeps widgets in memory and on disk.

### Persistence

Writes go to a journal first. Sources: [widgets/store.py:30-58]()

---

## Cache Layer

```mermaid
classDiagram
    class Store
    class Cache
    Store --> Cache
```

Sources: [widgets/cache.py:1-25](), [widgets/store.py:60-70]()
""",
}


def project_pages() -> dict[str, str]:
    return dict(PROJECT_PAGES)


def real_pages() -> dict[str, str]:
    """The 20 real DeepWiki OpenHands pages by slug, or {} without ../shared."""
    if not SHARED_DOCS.is_dir():
        return {}
    out = {}
    for path in sorted(SHARED_DOCS.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        out[text.split("\n", 1)[0].strip()] = text
    return out


def url_slug(slug: str) -> str:
    """`3.1-Agent Controller & Orchestration` → `3.1-agent-controller-orchestration` (DeepWiki's URLs)."""
    num, _, title = slug.partition("-")
    return num + "-" + re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


_md = MarkdownIt("commonmark", {"html": True}).enable("table")


def render_html(title: str, markdown: str, nav: Iterable[tuple[str, str]]) -> str:
    links = "".join(f'<li><a href="{href}">{text}</a></li>' for href, text in nav)
    return (
        f"<!DOCTYPE html><html><head><title>{title}</title></head><body>"
        f"<header><a href='/'>DeepWiki</a></header><nav><ul>{links}</ul></nav>"
        f"<article>{_md.render(markdown)}</article><footer>footer</footer></body></html>"
    )


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    location: str | None = None
    delay: float = 0.0
    fail_first: int = 0  # answer `fail_status` this many times first
    fail_status: int = 500
    fail_headers: dict[str, str] = field(default_factory=dict)  # e.g. Retry-After with a 429
    rsc_body: bytes | None = None  # the answer to a request with `RSC: 1` (text/x-component)


@dataclass
class Site:
    routes: dict[str, Route]
    log: list[tuple[str, int]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)  # time.monotonic() of each log entry
    headers: list[dict[str, str]] = field(default_factory=list)  # each request's headers
    hits: dict[str, int] = field(default_factory=dict)
    server: ThreadingHTTPServer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def requested(self, path: str) -> int:
        return sum(1 for p, _ in self.log if p == path)

    def paths(self) -> list[str]:
        return [p for p, _ in self.log]


def serve(site: Site) -> Site:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            path = self.path.split("?", 1)[0]
            route = site.routes.get(path)
            with site.lock:
                n = site.hits.get(path, 0)
                site.hits[path] = n + 1
            extra: dict[str, str] = {}
            if route is None:
                status, body, ctype, location = 404, b"not found", "text/plain", None
            elif n < route.fail_first:
                status, body, ctype, location = route.fail_status, b"try again", "text/plain", None
                extra = route.fail_headers
            elif route.rsc_body is not None and self.headers.get("RSC") == "1":
                status, body, ctype, location = 200, route.rsc_body, "text/x-component", None
            else:
                status, body, ctype, location = (
                    route.status,
                    route.body,
                    route.content_type,
                    route.location,
                )
                if route.delay:
                    time.sleep(route.delay)
            with site.lock:
                site.log.append((path, status))
                site.times.append(time.monotonic())
                site.headers.append(dict(self.headers))
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in extra.items():
                self.send_header(k, v)
            if location:
                self.send_header("Location", location)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    site.server = server
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return site


def stop(site: Site) -> None:
    if site.server:
        site.server.shutdown()
        site.server.server_close()


def build_wiki_site(
    pages: dict[str, str],
    *,
    owner: str = OWNER,
    repo: str = REPO,
    offsite_url: str = "http://localhost:9/elsewhere",
    markdown_slug: str | None = None,
    slow_delay: float = 0.3,
    nav_window: int | None = None,
) -> tuple[dict[str, Route], dict[str, str]]:
    """Routes for a wiki of `pages` (slug → markdown) plus the hazards; returns (routes, path → slug).

    Each page's nav links every page, or with `nav_window` only the next that many (big sites).
    """
    prefix = f"/{owner}/{repo}"
    path_of = {slug: f"{prefix}/{url_slug(slug)}" for slug in pages}
    slugs = list(pages)
    nav = [(path_of[s], s) for s in pages]
    hazards = [
        (f"{prefix}/99-private", "Private"),
        (f"{prefix}/5-flaky", "Flaky"),
        (f"{prefix}/6-slow", "Slow"),
        (f"{prefix}/90-loop-a", "Loop"),
        ("/other/repo/1-overview", "Another repo"),
        (offsite_url, "Elsewhere"),
        (f"{prefix}/README.md", "not a wiki page"),
    ]
    nav += hazards

    def nav_for(i: int) -> list[tuple[str, str]]:
        if nav_window is None:
            return nav
        window = slugs[i + 1 : i + 1 + nav_window]
        return [(path_of[s], s) for s in window] + hazards

    routes: dict[str, Route] = {
        "/robots.txt": Route(
            body=f"User-agent: *\nDisallow: {prefix}/99-private\n".encode(),
            content_type="text/plain",
        ),
        f"{prefix}/99-private": Route(body=b"<html><body>secret</body></html>"),
        f"{prefix}/90-loop-a": Route(status=302, location=f"{prefix}/91-loop-b"),
        f"{prefix}/91-loop-b": Route(status=302, location=f"{prefix}/90-loop-a"),
        "/other/repo/1-overview": Route(body=b"<html><body>other</body></html>"),
    }
    flaky = "5-Flaky Page\n\n# Page: Flaky Page\n\n# Flaky Page\n\n## Retry Design\n\nServed after one 500. Sources: [widgets/retry.py:1-9]()\n"
    slow = "6-Slow Page\n\n# Page: Slow Page\n\n# Slow Page\n\n## Slow Component\n\nServed slowly. Sources: [widgets/slow.py:3-8]()\n"
    routes[f"{prefix}/5-flaky"] = Route(
        body=render_html("Flaky", flaky, nav).encode(), fail_first=1
    )
    routes[f"{prefix}/6-slow"] = Route(
        body=render_html("Slow", slow, nav).encode(), delay=slow_delay
    )
    for i, (slug, text) in enumerate(pages.items()):
        if slug == markdown_slug:
            routes[path_of[slug]] = Route(
                body=text.encode(), content_type="text/markdown; charset=utf-8"
            )
        else:
            routes[path_of[slug]] = Route(body=render_html(slug, text, nav_for(i)).encode())
    first = next(iter(pages))
    routes[prefix] = routes[
        path_of[first]
    ]  # the repo's root shows its first page, as DeepWiki does
    return routes, {p: s for s, p in path_of.items()}


def start_site(pages: dict[str, str], **kwargs) -> tuple[Site, Site]:
    """Start the off-site server first (its URL goes in the nav), then the wiki."""
    offsite = serve(Site(routes={"/elsewhere": Route(body=b"<html><body>off</body></html>")}))
    host, port = offsite.server.server_address[:2]
    routes, _ = build_wiki_site(pages, offsite_url=f"http://localhost:{port}/elsewhere", **kwargs)
    return serve(Site(routes=routes)), offsite
