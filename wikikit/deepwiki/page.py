"""Parse one DeepWiki page (its markdown form) into title, relevant files, sections, diagrams, refs.

DeepWiki's markdown export looks like:

    1-Overview                         <- the page's slug (optional)
    # Page: Overview                   <- the title
    # Overview
    <details><summary>Relevant source files</summary> ... - [path](path) ... </details>
    ## A section
    ```mermaid ... ```
    Sources: [README.md:49-131](), [Development.md:11-22]()

Pages fetched as HTML are first converted to this form by wikikit.deepwiki.html.
References are parsed by wikikit.code.refs (the one parser for every reference form).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from wikikit.code.refs import parse_refs
from wikikit.deepwiki.markdown import Block, join_blocks, split_blocks
from wikikit.example import Ref

SLUG_LINE = re.compile(r"^\d+(?:\.\d+)*-\S.*$")
PAGE_TITLE = re.compile(r"^Page:\s*(.+)$")
DETAILS = re.compile(r"<details>(.*?)</details>", re.S | re.I)
SUMMARY = re.compile(r"<summary>(.*?)</summary>", re.S | re.I)
LIST_LINK = re.compile(r"^\s*[-*+]\s+\[([^\]]+)\]\(([^)]*)\)", re.M)


@dataclass
class Section:
    """A heading and the blocks under it up to the next heading (of any level)."""

    level: int
    heading: str
    blocks: list[Block]
    line: int

    @property
    def text(self) -> str:
        return join_blocks(self.blocks)

    @property
    def diagrams(self) -> list[str]:
        return [b.code_body for b in self.blocks if b.is_mermaid]

    @property
    def refs(self) -> list[Ref]:
        return refs_in_prose(self.blocks)


@dataclass
class Page:
    title: str
    slug: str | None
    source_files: list[str]
    intro: list[Block]  # blocks before the first heading (rare: the slug line is not kept)
    sections: list[Section] = field(default_factory=list)
    url: str | None = None
    id: str | None = None  # the wiki's page id (`2.1`), when the transport gives one
    source_markdown: str = ""  # the markdown this page was parsed from, unchanged
    missing_diagrams: int = 0  # diagrams the source did not carry (HTML drawn client-side)

    @property
    def blocks(self) -> list[Block]:
        """Every content block in order, headings included (what chunkers cut)."""
        out = list(self.intro)
        for s in self.sections:
            out.append(
                Block("heading", "#" * s.level + " " + s.heading, s.line, s.level, s.heading)
            )
            out.extend(s.blocks)
        return out

    @property
    def markdown(self) -> str:
        return join_blocks(self.blocks)

    @property
    def diagrams(self) -> list[str]:
        return [d for s in self.sections for d in s.diagrams]

    @property
    def refs(self) -> list[Ref]:
        """Distinct references of the whole page, in order of first appearance."""
        return list(dict.fromkeys(r for s in self.sections for r in s.refs))


def refs_in(text: str) -> list[Ref]:
    """Line-ranged references in `text`, deduplicated in order (file-only refs carry no lines)."""
    out: list[Ref] = []
    seen = set()
    for m in parse_refs(text):
        if m.start is None or m.end is None:
            continue
        ref = Ref(m.path, int(m.start), int(m.end))
        if ref not in seen:
            seen.add(ref)
            out.append(ref)
    return out


def refs_in_prose(blocks: list[Block]) -> list[Ref]:
    """References made in the text, not inside code: `(session.py:314)` in a diagram label
    names a line for the reader of the diagram but is no repo-relative source reference."""
    return refs_in("\n\n".join(b.text for b in blocks if b.kind == "text"))


def parse_page(markdown: str, url: str | None = None) -> Page:
    text = markdown.replace("\r\n", "\n").replace("\r", "\n")
    source_files: list[str] = []

    def take_details(m: re.Match) -> str:
        summary = SUMMARY.search(m.group(1))
        if summary and "source" in summary.group(1).lower():
            source_files.extend(target or label for label, target in LIST_LINK.findall(m.group(1)))
            return ""
        return m.group(0)

    text = DETAILS.sub(take_details, text)

    slug = None
    first = next((s.strip() for s in text.split("\n") if s.strip()), "")
    if SLUG_LINE.match(first):
        slug = first
        text = text.replace(first, "", 1)

    title = None
    intro: list[Block] = []
    sections: list[Section] = []
    for block in split_blocks(text):
        if block.kind == "heading":
            page_title = PAGE_TITLE.match(block.title) if block.level == 1 else None
            if page_title and title is None:
                title = page_title.group(1).strip()
                continue
            sections.append(Section(block.level, block.title, [], block.line))
        elif sections:
            sections[-1].blocks.append(block)
        else:
            intro.append(block)

    if title is None:
        h1 = next((s.heading for s in sections if s.level == 1), None)
        title = h1 or (slug.split("-", 1)[1] if slug else "")
    return Page(
        title=title,
        slug=slug,
        source_files=source_files,
        intro=intro,
        sections=sections,
        url=url,
        source_markdown=markdown,
    )


def wiki_page(page_id: str | None, title: str, markdown: str, url: str | None = None) -> Page:
    """A page the wiki names (`2.1`, `Core Components`): parsed, with the wiki's id and title."""
    page = parse_page(markdown, url=url)
    page.id = page_id or None
    page.title = title or page.title
    if page.slug is None and page_id and re.fullmatch(r"\d+(?:\.\d+)*", page_id):
        page.slug = f"{page_id}-{page.title}"
    return page
