"""A SemanticWiki wiki as it lies on disk, and the shape of its pages.

SemanticWiki 1.2.1 writes each planned page to `<output>/<filename>` and `index.md` last
(dist/wiki-agent.js, generateWikiLocalPageByPage); it lists a wiki's pages as every `*.md` file
under the output folder, skipping folders whose name starts with a dot (`findAllWikiFiles`; its
`.semanticwiki-cache/` lives there). `read_wiki` lists them the same way.

A page answers this request (generateSinglePage's prompt): start with `# <title>`; sections
Overview, Key Components (each component with a `📄 [path:line](../path#Lline)` reference),
How It Works (all three marked required), then Related Documentation.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from wikikit.code.repo import split_lines
from wikikit.errors import InputError

INDEX_PAGE = "index.md"
REQUIRED_SECTIONS = ("Overview", "Key Components", "How It Works")
MAX_PAGE_BYTES = 2_000_000  # a 4,096-token page is ~16 kB; larger files are not model output

_FENCE = re.compile(r"^[ \t]*(```|~~~)")
_HEADING = re.compile(r"^(?P<hashes>#{1,6})[ \t]+(?P<text>.*?)[ \t]*#*[ \t]*$")


def read_wiki(wiki_dir: str | Path) -> dict[str, str]:
    """{path relative to the wiki folder: text} for every page, sorted by path."""
    root = Path(wiki_dir)
    if not root.is_dir():
        raise InputError(f"{root}: no such wiki folder")
    root = root.resolve()
    pages: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.endswith(".md"):
                continue
            full = Path(dirpath, name)
            if full.is_symlink() and root not in full.resolve().parents:
                continue  # never read outside the wiki folder
            if full.stat().st_size > MAX_PAGE_BYTES:
                raise InputError(f"{full}: larger than {MAX_PAGE_BYTES} bytes; not a wiki page")
            rel = full.relative_to(root).as_posix()
            pages[rel] = full.read_text(encoding="utf-8", errors="replace")
    return dict(sorted(pages.items()))


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    line: int  # 1-based


def headings(markdown: str) -> list[Heading]:
    """ATX headings outside fenced code, in order."""
    out: list[Heading] = []
    fence: str | None = None
    for n, line in enumerate(split_lines(markdown), 1):
        m = _FENCE.match(line)
        if m:
            fence = None if fence == m.group(1) else (fence or m.group(1))
            continue
        if fence:
            continue
        h = _HEADING.match(line)
        if h:
            out.append(Heading(len(h["hashes"]), h["text"].strip(), n))
    return out


def section_key(text: str) -> str:
    """`2. Key Components` / `Key components:` -> `key components` (numbering and marks dropped)."""
    text = re.sub(r"^\s*(?:\d+[.)]\s*)+", "", text)
    text = re.sub(r"[`*_:]+", "", text)
    return re.sub(r"\s+", " ", text).strip().lower()


def has_section(marks: list[Heading], name: str) -> bool:
    """A heading below the H1 whose text is the section's name or starts with it."""
    key = name.lower()
    return any(h.level >= 2 and section_key(h.text).startswith(key) for h in marks)


def first_line(markdown: str) -> str:
    for line in split_lines(markdown):
        if line.strip():
            return line.strip()
    return ""


@dataclass
class PageShape:
    path: str
    h1: bool  # the first line is `# <title>` (the planned title when it is known)
    sections: dict[str, bool] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def page_shape(path: str, markdown: str, title: str | None = None) -> PageShape:
    """H1 and required sections of one page (`title`: what the page prompt asked for)."""
    top = first_line(markdown)
    h = _HEADING.match(top)
    if title is not None:
        ok = bool(h) and len(h["hashes"]) == 1 and h["text"].strip() == title.strip()
        want = f"'# {title}'"
    else:
        ok = bool(h) and len(h["hashes"]) == 1 and bool(h["text"].strip())
        want = "an H1"
    problems = [] if ok else [f"{path}: first line is {top[:60]!r}, not {want}"]
    marks = headings(markdown)
    sections = {name: has_section(marks, name) for name in REQUIRED_SECTIONS}
    problems += [f"{path}: no '{name}' section" for name, ok in sections.items() if not ok]
    return PageShape(path, ok, sections, problems)


def content_pages(pages: Mapping[str, str]) -> list[str]:
    """The pages written from page prompts: every page but the index."""
    return [p for p in pages if p != INDEX_PAGE]
