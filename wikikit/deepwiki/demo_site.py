"""A tiny DeepWiki-like site on 127.0.0.1 for the offline demo: `demo/deepwiki-site` over HTTP.

The folder holds `robots.txt` and DeepWiki markdown pages at `OWNER/REPO/<n>-<slug>.md`; this
server answers as deepwiki.com does: `/OWNER/REPO/<n>-<slug>` is that page rendered as HTML with a
nav linking every page of the repo and, in Next.js push scripts, the flight payload holding every
page the nav lists (wikikit.deepwiki.flight); `/OWNER/REPO` shows the repo's first page. So the
demo's deepwiki source runs the real scrapy crawl (robots.txt, HTTP cache) offline and gets the
whole wiki from one request. A page robots.txt disallows (`99-drafts`) is linked
but in no payload: the wiki is what the site publishes.

    python -m wikikit.deepwiki.demo_site --port 8765                    # serve until killed
    python -m wikikit.deepwiki.demo_site --port 8765 -- wikikit run recipes/demo.yaml
                                                               # serve while a command runs
    with serve_site(root) as base_url: ...                     # from Python (port 0: any free)
"""

from __future__ import annotations

import argparse
import html
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.robotparser import RobotFileParser

from wikikit import children
from wikikit.deepwiki.flight import FlightPage, encode_html, encode_stream
from wikikit.paths import DEMO_DIR

DEFAULT_ROOT = DEMO_DIR / "deepwiki-site"
DEFAULT_PORT = 8765
PAGE_FILE = re.compile(r"^(\d+(?:\.\d+)*)-[^/]+\.md$")


def page_files(repo_dir: Path) -> list[Path]:
    """The repo's pages in wiki order (`2` before `10`, `3` before `3.1`)."""
    pages = [p for p in repo_dir.glob("*.md") if PAGE_FILE.match(p.name)]

    def order(p: Path) -> tuple[int, ...]:
        return tuple(int(x) for x in PAGE_FILE.match(p.name).group(1).split("."))

    return sorted(pages, key=order)


def render_page(markdown: str, title: str, nav: list[tuple[str, str]], payload: str = "") -> str:
    from markdown_it import MarkdownIt  # rich's markdown parser, already installed with rich

    body = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
    links = "".join(f'<li><a href="{href}">{html.escape(text)}</a></li>' for href, text in nav)
    page = (
        f"<header><a href='/'>DeepWiki (demo)</a></header><nav><ul>{links}</ul>"
        f"</nav><article>{body}</article>"
    )
    if payload:
        return encode_html(payload, page).replace("<head></head>", _head(title), 1)
    return f"<!DOCTYPE html><html>{_head(title)}<body>{page}</body></html>"


def _head(title: str) -> str:
    return f"<head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"


def wiki_payload(repo: str, pages: list[Path]) -> str:
    """The flight stream of the wiki: each page's markdown without its slug and `# Page:` lines."""
    entries = []
    for path in pages:
        text = path.read_text(encoding="utf-8")
        m = re.search(r"^# Page:\s*(.+)$", text, re.M)
        title = m.group(1).strip() if m else path.stem
        body = text[m.end() :].lstrip("\n") if m else text
        entries.append(FlightPage(PAGE_FILE.match(path.name).group(1), title, body))
    return encode_stream(repo, entries, None, None)


class SiteHandler(BaseHTTPRequestHandler):
    root: Path = DEFAULT_ROOT  # set per server by make_server

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        status, ctype, body = self.answer(self.path.split("?", 1)[0].split("#", 1)[0])
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def answer(self, path: str) -> tuple[int, str, bytes]:
        if path == "/robots.txt":
            robots = self.root / "robots.txt"
            text = robots.read_bytes() if robots.is_file() else b""
            return 200, "text/plain; charset=utf-8", text
        parts = [p for p in path.split("/") if p]
        if len(parts) not in (2, 3) or any(p.startswith(".") for p in parts):
            return 404, "text/plain", b"not found"
        repo_dir = self.root / parts[0] / parts[1]
        pages = page_files(repo_dir) if repo_dir.is_dir() else []
        if not pages:
            return 404, "text/plain", b"not found"
        if len(parts) == 2:
            page = pages[0]  # the repo's root shows its first page, as DeepWiki does
        else:
            page = repo_dir / f"{parts[2]}.md"
            if page not in pages:
                return 404, "text/plain", b"not found"
        prefix = f"/{parts[0]}/{parts[1]}"
        nav = [
            (f"{prefix}/{p.stem}", p.read_text(encoding="utf-8").split("\n", 1)[0]) for p in pages
        ]
        markdown = page.read_text(encoding="utf-8")
        title = markdown.split("\n", 1)[0].strip()
        published = [p for p in pages if self.robots().can_fetch("*", f"{prefix}/{p.stem}")]
        payload = wiki_payload(f"{parts[0]}/{parts[1]}", published)
        return 200, "text/html; charset=utf-8", render_page(markdown, title, nav, payload).encode()

    def robots(self) -> RobotFileParser:
        parser = RobotFileParser()
        robots = self.root / "robots.txt"
        parser.parse(robots.read_text(encoding="utf-8").splitlines() if robots.is_file() else [])
        return parser

    def log_message(self, *args) -> None:  # quiet: the crawl has its own log
        pass


def make_server(root: Path, port: int = 0, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    handler = type("DemoSiteHandler", (SiteHandler,), {"root": Path(root).resolve()})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


@contextmanager
def serve_site(root: Path = DEFAULT_ROOT, port: int = 0, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve `root` in a background thread; yields the base URL (`http://127.0.0.1:PORT`)."""
    server = make_server(root, port, host)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        bound_host, bound_port = server.server_address[:2]
        yield f"http://{bound_host}:{bound_port}"
    finally:
        server.shutdown()
        server.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wikikit.deepwiki.demo_site",
        description="Serve the demo DeepWiki site on 127.0.0.1; with a command after --, "
        "serve only while that command runs and exit with its status.",
    )
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="site folder")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (0: any free)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND ...")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not (args.root / "robots.txt").is_file():
        print(f"demo_site: not a site folder (no robots.txt): {args.root}", file=sys.stderr)
        return 2
    try:
        server = make_server(args.root, args.port)
    except OSError as exc:
        print(f"demo_site: cannot listen on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
        return 2
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    if not command:
        print(f"demo_site: serving {args.root} at {base_url} (Ctrl-C to stop)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
        return 0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    print(f"demo_site: serving {args.root} at {base_url} while: {' '.join(command)}", flush=True)
    child = children.popen(command)  # its own group: it ends its own children when told to
    try:
        return children.wait(child)[0]
    except KeyboardInterrupt as exc:
        return 128 + getattr(exc, "signum", 2)
    finally:
        children.stop(child, grace_s=30)
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    sys.exit(main())
