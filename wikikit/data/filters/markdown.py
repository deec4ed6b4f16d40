"""Markdown well-formedness: balanced code fences and no empty sections.

Fences follow CommonMark: a fence opens with three or more backticks or tildes and closes with
a line of the same character at least as long. A section is empty when its heading is followed
(only blank lines between) by a heading of the same or a higher level, or by the end of text.
Headings inside code blocks are code, not structure.
"""

from __future__ import annotations

import re

from wikikit.example import Example

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*#*[ \t]*$")


def markdown_problem(text: str) -> str | None:
    """The first structural problem in `text`, or None."""
    fence: str | None = None  # the opening fence run while inside a code block
    open_heading: tuple[int, str] | None = None  # (level, title) with no content yet
    for line in text.split("\n"):
        m = FENCE.match(line)
        if fence is not None:
            if (
                m
                and m.group(1)[0] == fence[0]
                and len(m.group(1)) >= len(fence)
                and not m.group(2).strip()
            ):
                fence = None
            continue
        if m:
            if m.group(1)[0] == "`" and "`" in m.group(2):
                pass  # an inline code span, not a fence (CommonMark)
            else:
                fence = m.group(1)
                open_heading = None  # a code block is content
                continue
        h = HEADING.match(line)
        if h:
            level = len(h.group(1))
            if open_heading is not None and level <= open_heading[0]:
                return f"empty_section ({open_heading[1][:60]!r})"
            open_heading = (level, h.group(2) or "")
            continue
        if line.strip() and open_heading is not None:
            open_heading = None
    if fence is not None:
        return "unclosed_fence"
    if open_heading is not None:
        return f"empty_section ({open_heading[1][:60]!r})"
    return None


class MarkdownFilter:
    name = "markdown"

    def check(self, example: Example) -> str | None:
        for m in example.messages:
            if m.role == "assistant" and m.content:
                problem = markdown_problem(m.content)
                if problem:
                    return problem
        return None
