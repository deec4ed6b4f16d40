"""What a crawl would get from a saved DeepWiki response: `wikikit deepwiki parse FILE...`.

A file is recognised by its content: an HTML page with a flight payload (every page of the
wiki), the flight stream itself (an `RSC: 1` response), an HTML page without one (the page
alone, as the HTML fallback reads it), MCP `read_wiki_contents` text (`# Page:` sections), or
one page of DeepWiki markdown. Reading stays within the flight decoder's bounds.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wikikit.deepwiki.flight import Limits, decode_html, decode_stream, has_push_scripts
from wikikit.deepwiki.html import convert_html
from wikikit.deepwiki.mcp import PAGE_LINE, wiki_from_mcp
from wikikit.deepwiki.page import wiki_page
from wikikit.deepwiki.wiki import Wiki
from wikikit.errors import InputError

FLIGHT_ROW = re.compile(rb"^[0-9a-fA-F]{0,16}:[A-Z\[{\"0-9]")
HTML_START = re.compile(r"<!doctype html|<html[\s>]|<body[\s>]", re.I)
# What a headless-browser scraper saves: the article element alone, e.g. deepwiki.com's
# `<div class="prose-custom ...">` (its rendered DOM; no <html> around it).
HTML_FRAGMENT = re.compile(
    r"^\s*(?:<!--.*?-->\s*)*<(?:div|article|section|main)[\s>]|class=[\"'][^\"']*\bprose-custom\b",
    re.I | re.S,
)
EXPECTED = (
    "expected a DeepWiki page: HTML (a whole page, or its rendered article element such as "
    "div.prose-custom), a flight stream (RSC), MCP read_wiki_contents text or DeepWiki markdown"
)


@dataclass
class Saved:
    path: str
    kind: str  # flight-html, flight, html, mcp, markdown
    wiki: Wiki


def read_saved(path: Path, max_bytes: int = Limits.max_bytes) -> Saved:
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not path.is_file():
        raise InputError(f"{path}: not a file")
    if size > max_bytes:
        raise InputError(
            f"{path}: {size // 2**20} MiB, over the {max_bytes // 2**20} MiB limit (--max-mb)"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    limits = Limits(max_bytes=max_bytes)
    text = data.decode("utf-8", errors="replace")
    if has_push_scripts(text):
        decoded = decode_html(text, limits)
        if decoded.pages:
            return Saved(str(path), "flight-html", _wiki(decoded, "flight"))
    elif FLIGHT_ROW.match(data[:64]) and not HTML_START.search(text[:4096]):
        # A flight stream, whole or not: what it holds is what a crawl would get.
        return Saved(str(path), "flight", _wiki(decode_stream(data, limits), "flight"))
    fragment = not HTML_START.search(text[:4096]) and HTML_FRAGMENT.search(text[:65536])
    if HTML_START.search(text[:4096]) or has_push_scripts(text) or fragment:
        converted = convert_html(text)
        page = wiki_page(None, "", converted.markdown)
        page.missing_diagrams = converted.missing_diagrams
        pages = [page] if page.sections else []
        kind = "html-fragment" if fragment else "html"
        return Saved(str(path), kind, Wiki(repo="", pages=pages, transport="html"))
    if any(PAGE_LINE.match(line) for line in text.splitlines()[:10_000]):
        return Saved(str(path), "mcp", wiki_from_mcp("", "", text))
    page = wiki_page(None, "", text)
    return Saved(
        str(path),
        "markdown",
        Wiki(repo="", pages=[page] if page.sections else [], transport="files"),
    )


def _wiki(decoded: Any, transport: str) -> Wiki:
    wiki = Wiki(
        repo=decoded.repo or "",
        pages=[wiki_page(p.id, p.title, p.markdown) for p in decoded.pages],
        commit=decoded.commit,
        generated_at=decoded.generated_at,
        transport=transport,
        dropped=dict(decoded.dropped),
    )
    return wiki


def describe(saved: Saved) -> dict[str, Any]:
    wiki = saved.wiki
    return {
        "file": saved.path,
        "kind": saved.kind,
        "repo": wiki.repo or None,
        "commit": wiki.commit,
        "generated_at": wiki.generated_at,
        "dropped": dict(sorted(wiki.dropped.items())),
        "missing_diagrams": wiki.missing_diagrams,
        "pages": [
            {
                "id": p.id,
                "title": p.title,
                "sections": len(p.sections),
                "mermaid": len(p.diagrams),
                "references": len(p.refs),
                "source_files": p.source_files,
                "missing_diagrams": p.missing_diagrams,
            }
            for p in wiki.pages
        ],
    }


KIND_WORDS = {
    "flight-html": "HTML page with a flight payload",
    "flight": "flight stream",
    "html": "HTML page without a flight payload (HTML fallback: this page only)",
    "html-fragment": "rendered HTML article (this page only)",
    "mcp": "MCP read_wiki_contents text",
    "markdown": "DeepWiki markdown page",
}


def format_text(entries: list[dict[str, Any]]) -> str:
    lines = []
    for e in entries:
        head = f"{e['file']}: {KIND_WORDS.get(e['kind'], e['kind'])}"
        if e["repo"]:
            head += f" of {e['repo']}"
        if e["commit"]:
            head += f" at {e['commit']}"
        head += f", {len(e['pages'])} pages"
        lines.append(head)
        if e["dropped"]:
            lines.append("  dropped: " + ", ".join(f"{k} {v}" for k, v in e["dropped"].items()))
        if e["missing_diagrams"]:
            lines.append(f"  diagrams missing from the HTML: {e['missing_diagrams']}")
        for p in e["pages"]:
            lines.append(
                f"  {p['id'] or '-':>6}  {p['title']}: {p['sections']} sections, "
                f"{p['mermaid']} mermaid, {p['references']} references, "
                f"{len(p['source_files'])} source files"
                + (
                    f" ({', '.join(p['source_files'][:5])}{', ...' if len(p['source_files']) > 5 else ''})"
                    if p["source_files"]
                    else ""
                )
            )
    return "\n".join(lines)


def parse_files(paths: list[str], as_json: bool, max_mb: int = 64) -> tuple[str, list[str]]:
    """The report for `wikikit deepwiki parse`, and one problem line per file that gave no page
    (the command prints the report of the others and exits 2 naming those)."""
    entries = [describe(read_saved(Path(p), max_mb * 2**20)) for p in paths]
    problems = [
        f"{e['file']}: no DeepWiki page found (read as {KIND_WORDS[e['kind']]}); {EXPECTED}"
        for e in entries
        if not e["pages"]
    ]
    good = [e for e in entries if e["pages"]]
    out = json.dumps(good, indent=2, ensure_ascii=False) if as_json else format_text(good)
    return out, problems
