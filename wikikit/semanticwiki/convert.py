"""A reference wiki in SemanticWiki's conventions: its page list as the plan, its pages as pages.

The plan answer is the JSON the plan prompt asks for (wikikit.semanticwiki.protocol): one entry
per reference page, in wiki order, its `files` the page's sources (its "Relevant source files"
and the files its references name) that the client itself listed, since the client drops any
other (src/wiki-agent.ts:1535-1548 at 438524a). A page answer is the reference page rewritten:
it starts with `# <title>`; `[path:a-b]()` references become `📄 [path:a](../path#La)` (local
mode cites one line); links to other pages of the wiki (`[Agent System](#3)`) become
`[Agent System](./agent-system.md)` when that page is in the plan, plain text otherwise; and a
`## Related Documentation` section lists the pages the prompt named, as the prompt asks.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from wikikit.code.refs import format_local_ref, parse_refs
from wikikit.code.repo import language_of
from wikikit.deepwiki.page import Page

_SECTION_LINK = re.compile(r"\[(?P<text>[^\]\n]+)\]\(#(?P<num>\d+(?:\.\d+)*)\)")
_SLUG_NUMBER = re.compile(r"^(\d+(?:\.\d+)*)-")
_FIRST_SENTENCE = re.compile(r"^(.+?[.!?])(?:\s|$)", re.S)
_GUIDE = re.compile(r"getting started|quick ?start|install|setup|set up|deploy|testing|usage", re.I)
_CONFIG = re.compile(r"config|settings|environment|build system|dependencies", re.I)


@dataclass
class PlannedPage:
    title: str
    filename: str
    type: str
    context: str
    files: list[str]
    page: Page = field(repr=False)

    def to_json(self) -> dict:
        return {
            "title": self.title,
            "filename": self.filename,
            "type": self.type,
            "context": self.context,
            "files": self.files,
        }


def slugify(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return slug or "page"


def page_number(page: Page) -> str | None:
    """`3.1` for a page whose slug is `3.1-Agent Controller`."""
    for value in (page.slug or "", PurePosixPath(page.url or "").name):
        m = _SLUG_NUMBER.match(value)
        if m:
            return m.group(1)
    return None


def _paragraphs(page: Page) -> list[str]:
    blocks = list(page.intro) + [b for s in page.sections for b in s.blocks]
    return [b.text.strip() for b in blocks if b.kind == "text" and b.text.strip()]


def summary(page: Page, limit: int = 300) -> str:
    """The page's first sentence (references stripped), for the plan's `context`."""
    text = next(iter(_paragraphs(page)), page.title)
    for m in reversed(parse_refs(text, include_unranged=True)):
        text = text[: m.span[0]] + text[m.span[1] :]
    text = re.sub(r"\s+", " ", re.sub(r"^Sources?:\s*[,\s]*", "", text)).strip()
    m = _FIRST_SENTENCE.match(text)
    sentence = (m.group(1) if m else text).strip()
    return sentence[:limit] or page.title


def page_files(page: Page) -> list[str]:
    """The files a page is about: its listed sources, then the files its references name."""
    refs = [m.path for m in parse_refs(page.markdown, include_unranged=True)]
    return list(dict.fromkeys([*page.source_files, *refs]))


def page_type(page: Page, first: bool) -> str:
    if first:
        return "overview"
    if _GUIDE.search(page.title):
        return "guide"
    if _CONFIG.search(page.title):
        return "config"
    number = page_number(page)
    return "module" if number and "." in number else "component"


def plan(pages: list[Page], listed_files: list[str]) -> list[PlannedPage]:
    """One planned page per reference page, files limited to what the client listed."""
    listed = set(listed_files)
    used: Counter = Counter()
    out: list[PlannedPage] = []
    for i, page in enumerate(pages):
        base = slugify(page.title)
        used[base] += 1
        filename = f"{base}.md" if used[base] == 1 else f"{base}-{used[base]}.md"
        files = [f for f in page_files(page) if f in listed]
        out.append(
            PlannedPage(page.title, filename, page_type(page, i == 0), summary(page), files, page)
        )
    return out


def project_type(listed_files: list[str], first_page: Page | None) -> str:
    """`"Python project: <the overview's first sentence>"`, from the files the client listed."""
    languages = Counter(language_of(f) for f in listed_files if language_of(f))
    for doc in ("markdown", "json", "yaml", "toml"):
        languages.pop(doc, None)
    language = languages.most_common(1)[0][0] if languages else "software"
    label = {"typescript": "TypeScript", "javascript": "JavaScript", "csharp": "C#", "cpp": "C++"}
    name = label.get(language, language.capitalize())
    about = summary(first_page) if first_page is not None else ""
    return f"{name} project: {about}" if about else f"{name} project"


def plan_answer(planned: list[PlannedPage], listed_files: list[str]) -> str:
    first = planned[0].page if planned else None
    body = {
        "projectType": project_type(listed_files, first),
        "pages": [p.to_json() for p in planned],
    }
    return json.dumps(body, indent=2, ensure_ascii=False)


def _convert_refs(text: str) -> str:
    """DeepWiki references to local-mode ones; a file-only reference becomes `path`."""
    out, at = [], 0
    for m in parse_refs(text, include_unranged=True):
        if m.form == "local":
            continue
        out.append(text[at : m.span[0]])
        out.append(format_local_ref(m.path, m.start) if m.start else f"`{m.path}`")
        at = m.span[1]
    out.append(text[at:])
    return "".join(out)


def _convert_links(text: str, by_number: dict[str, PlannedPage]) -> str:
    def link(m: re.Match) -> str:
        target = by_number.get(m["num"])
        return f"[{m['text']}](./{target.filename})" if target else m["text"]

    return _SECTION_LINK.sub(link, text)


def page_answer(
    planned: PlannedPage, all_planned: list[PlannedPage], related: list[tuple[str, str]]
) -> str:
    """The reference page as a local-mode page answer (see the module docstring)."""
    page = planned.page
    by_number = {n: p for p in all_planned if (n := page_number(p.page))}
    parts = [f"# {planned.title}"]
    for block in page.intro:
        parts.append(block.text)
    has_related = False
    for section in page.sections:
        if not (section.level == 1 and section.heading.strip() == planned.title.strip()):
            parts.append("#" * max(section.level, 2) + " " + section.heading)
            has_related = has_related or "related" in section.heading.lower()
        for block in section.blocks:
            text = block.text
            if block.kind == "text":
                text = _convert_links(_convert_refs(text), by_number)
            parts.append(text)
    if related and not has_related:
        links = "\n".join(f"- [{title}](./{filename})" for title, filename in related)
        parts.append(f"## Related Documentation\n\n{links}")
    return "\n\n".join(p.strip("\n") for p in parts if p.strip()) + "\n"
