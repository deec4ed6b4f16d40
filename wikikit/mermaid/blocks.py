"""Finding fenced mermaid blocks in markdown, with their line numbers.

Follows CommonMark's fence rules closely enough for generated wiki pages: a fence is three or more
backticks or tildes, indented by any amount (fences inside list items are indented), with an info
string whose first word is `mermaid`; it is closed by a line of the same character, at least as
long, with nothing after it. Fences of other languages are skipped whole, so a ```mermaid line
quoted inside a ````markdown block is not a diagram. A mermaid fence still open at the end of the
text is reported as unterminated (a renderer would swallow the rest of the page).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from wikikit.code.repo import split_lines

_FENCE_OPEN = re.compile(
    r"^(?P<indent>[ \t]*)(?:>[ \t]?)?(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n]*)$"
)


@dataclass(frozen=True)
class Block:
    """One mermaid block. `line` is the 1-based line of the opening fence; `text` the diagram."""

    text: str
    line: int
    end_line: int  # the closing fence's line, or the last line when unterminated
    unterminated: bool = False

    @property
    def first_text_line(self) -> int:
        """The 1-based markdown line of the diagram's first line (for mapping parser lines)."""
        return self.line + 1


def _info_language(info: str) -> str:
    word = info.strip().split(maxsplit=1)[0] if info.strip() else ""
    return word.strip("{}.").lower()  # also ``` {mermaid} and ``` .mermaid (pandoc styles)


def _dedent(line: str, width: int) -> str:
    """Remove up to `width` leading spaces, as CommonMark does for a fence's content lines."""
    i = 0
    while i < width and i < len(line) and line[i] == " ":
        i += 1
    return line[i:]


def extract_mermaid_blocks(markdown: str) -> list[Block]:
    """All ```mermaid / ~~~mermaid blocks in `markdown`, in order, with 1-based line numbers."""
    lines = split_lines(markdown)
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE_OPEN.match(lines[i])
        if not m or (m["fence"][0] == "`" and "`" in m["info"]):  # backticks can't be in the info
            i += 1
            continue
        fence, indent = m["fence"], len(m["indent"].expandtabs(4))
        quoted = lines[i].lstrip().startswith(">")
        close = re.compile(
            rf"^[ \t]*{'>[ ]?' if quoted else ''}[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$"
        )
        start = i
        j = i + 1
        while j < len(lines) and not close.match(lines[j]):
            j += 1
        if _info_language(m["info"]) == "mermaid":
            body = lines[start + 1 : j]
            if quoted:
                body = [re.sub(r"^[ \t]*>[ ]?", "", line) for line in body]
            text = "\n".join(_dedent(line, indent) for line in body)
            unterminated = j >= len(lines)
            end_line = len(lines) if unterminated else j + 1
            blocks.append(
                Block(text=text, line=start + 1, end_line=end_line, unterminated=unterminated)
            )
        i = j + 1
    return blocks
