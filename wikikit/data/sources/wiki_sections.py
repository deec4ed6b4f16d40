"""What real wiki sources (codewikibench, deepwiki) share: a section's category, the language
its references point at, and the wording of the request for a wiki section.

Categories follow schemas/example.schema.json. A section is classified by its own heading
first, then by its page's title: "Data Flow" under "Agent System" is data_flow, a plain
"Overview" under "Runtime System" is a component page.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from wikikit.code.repo import language_of
from wikikit.example import Ref

# Checked in order: the first rule whose pattern matches wins.
CATEGORY_RULES: tuple[tuple[str, re.Pattern], ...] = (
    (
        "data_flow",
        re.compile(
            r"data[\s_-]*flow|flow|sequence|lifecycle|pipeline|workflow|request handling|event|processing|interaction",
            re.I,
        ),
    ),
    (
        "getting_started",
        re.compile(
            r"getting[\s_-]*started|install|quick[\s_-]*start|setup|usage|prerequisite|requirements",
            re.I,
        ),
    ),
    (
        "architecture",
        re.compile(
            r"architect|overview|design|structure|system|layer|topology|organization|integration",
            re.I,
        ),
    ),
    (
        "component",
        re.compile(
            r"component|module|class|implementation|service|manager|agent|runtime|api|interface|handler|model|store|storage|config|plugin|controller",
            re.I,
        ),
    ),
    ("business_domain", re.compile(r"business|domain|purpose|use[\s_-]*case|feature", re.I)),
)
DEFAULT_CATEGORIES = ("architecture", "component", "data_flow")

NON_CODE_LANGUAGES = {"markdown", "json", "yaml", "toml"}


GENERIC_HEADING = re.compile(
    r"^(?:\d+[.)]?\s*)?(?:introduction|intro|summary|details?|description|background|notes?|key concepts|how it works)$",
    re.I,
)


def categorize(heading: str, page_title: str = "") -> str | None:
    """The category of a section from its heading; a generic heading ("Summary", "Details", or
    the page's own title) takes its page's category; None when nothing says (e.g. "Credits")."""
    texts = [heading]
    if not heading or heading == page_title or GENERIC_HEADING.match(heading.strip()):
        texts.append(page_title)
    for text in texts:
        for category, pattern in CATEGORY_RULES:
            if text and pattern.search(text):
                return category
    return None


def language_of_paths(paths: Iterable[str]) -> str:
    """The most common programming language among referenced files (config and docs ignored)."""
    counts = Counter(
        lang for p in paths if (lang := language_of(p)) and lang not in NON_CODE_LANGUAGES
    )
    return counts.most_common(1)[0][0] if counts else "unknown"


def language_of_refs(refs: Iterable[Ref]) -> str:
    return language_of_paths(r.path for r in refs)


def section_request(repo: str, page_title: str, heading: str | None, context: str) -> str:
    """The user turn: which section of which wiki page, then the material to write it from."""
    if heading and heading != page_title:
        ask = f'Write the section "{heading}" of the wiki page "{page_title}" for the repository {repo}.'
    else:
        ask = f'Write the wiki page "{page_title}" for the repository {repo}.'
    rules = (
        "Use Markdown. Back every architectural claim with a source reference (file:start-end) "
        "and draw diagrams as fenced mermaid blocks."
    )
    return f"{ask}\n{rules}\n\n{context.strip()}".strip()


def outline_lines(headings: Iterable[tuple[int, str]]) -> str:
    return "\n".join(f"{'  ' * max(0, level - 1)}- {title}" for level, title in headings)
