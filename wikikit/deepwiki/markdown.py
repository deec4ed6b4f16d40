"""Split markdown into blocks (headings, fenced code, thematic breaks, text) without a renderer.

Headings and `---` inside fenced code are not structure: a `# comment` in a Python block must
not start a section. Both the page parser and the chunkers work on these blocks, so a fenced
block (a Mermaid diagram above all) is never cut in two.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*([^`\s]*)[^`]*$")
THEMATIC_BREAK = re.compile(r"^ {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$")

MERMAID_KINDS = (
    "graph",
    "flowchart",
    "sequenceDiagram",
    "classDiagram",
    "stateDiagram",
    "stateDiagram-v2",
    "erDiagram",
    "gantt",
    "pie",
    "journey",
    "gitGraph",
    "mindmap",
    "timeline",
    "quadrantChart",
    "requirementDiagram",
    "C4Context",
    "C4Container",
    "C4Component",
    "sankey-beta",
    "xychart-beta",
    "block-beta",
    "architecture-beta",
)


@dataclass
class Block:
    """A run of lines: `heading` (level, title), `code` (info string), `hr`, or `text`."""

    kind: str
    text: str
    line: int  # 1-based line of the block's first line in the document
    level: int = 0
    title: str = ""
    info: str = ""

    @property
    def code_body(self) -> str:
        """The inside of a fenced block, without its fences."""
        lines = self.text.split("\n")
        closed = len(lines) > 1 and FENCE_OPEN.match(lines[-1]) is not None
        return "\n".join(lines[1 : -1 if closed else None])

    @property
    def is_mermaid(self) -> bool:
        return self.kind == "code" and self.info.lower() == "mermaid"


def split_blocks(text: str) -> list[Block]:
    lines = text.split("\n")
    blocks: list[Block] = []
    run: list[str] = []
    run_start = 1

    def flush_text() -> None:
        if run and any(s.strip() for s in run):
            blocks.append(Block("text", "\n".join(run), run_start))
        run.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        fence = FENCE_OPEN.match(line)
        if fence:
            flush_text()
            marker = fence.group(1)
            start = i
            i += 1
            while i < len(lines):
                stripped = lines[i].strip()
                if stripped.startswith(marker[0] * len(marker)) and set(stripped) == {marker[0]}:
                    break
                i += 1
            end = min(i, len(lines) - 1)
            blocks.append(
                Block("code", "\n".join(lines[start : end + 1]), start + 1, info=fence.group(2))
            )
            i = end + 1
            run_start = i + 1
            continue
        heading = HEADING.match(line)
        if heading:
            flush_text()
            level = len(heading.group(1))
            blocks.append(
                Block("heading", line, i + 1, level=level, title=heading.group(2).strip())
            )
            i += 1
            run_start = i + 1
            continue
        # A `---` right under a text line is a setext heading underline, not a section break.
        if THEMATIC_BREAK.match(line) and (not run or not run[-1].strip()):
            flush_text()
            blocks.append(Block("hr", line, i + 1))
            i += 1
            run_start = i + 1
            continue
        if not run:
            run_start = i + 1
        run.append(line)
        i += 1
    flush_text()
    return blocks


def join_blocks(blocks: list[Block]) -> str:
    return "\n\n".join(b.text.strip("\n") for b in blocks).strip()


def looks_like_mermaid(body: str) -> bool:
    first = next(
        (s.strip() for s in body.split("\n") if s.strip() and not s.strip().startswith("%%")), ""
    )
    word = re.split(r"[\s:;{]", first, maxsplit=1)[0]
    return word in MERMAID_KINDS


def restore_mermaid_fences(text: str) -> str:
    """Label unlabelled fenced blocks holding Mermaid as ```mermaid (CodeWikiBench drops the tag)."""
    out = []
    for block in split_blocks(text):
        if block.kind == "code" and not block.info and looks_like_mermaid(block.code_body):
            first, _, rest = block.text.partition("\n")
            out.append(first.rstrip() + "mermaid\n" + rest)
        else:
            out.append(block.text)
    # split_blocks drops blank-only runs; paragraphs are re-separated by one blank line.
    return "\n\n".join(s.strip("\n") for s in out).strip()
