"""Mermaid validation with Mermaid's own parser (mermaid 11 in a long-lived Node worker).

    validate(diagrams) -> [Result(ok, diagram_type, error_line, message, kind)]
    extract_mermaid_blocks(markdown) -> [Block(text, line, end_line, unterminated)]
    check_files(paths) -> exit code   (`wikikit mermaid check FILE...`)
    shutdown()                         (also registered with atexit)

The worker needs `node` on PATH and wikikit/mermaid/node_modules (`make setup` runs npm ci from
the pinned package-lock.json). When either is missing, validate() raises WikikitError saying so;
`unavailable_reason()` tells without starting anything.
"""

from __future__ import annotations

import atexit
import sys
import threading
from collections.abc import Sequence

from wikikit import console
from wikikit.mermaid.blocks import Block, extract_mermaid_blocks
from wikikit.mermaid.client import (
    DEFAULT_TIMEOUT_S,
    EMPTY,
    OK,
    PARSE_ERROR,
    TIMEOUT,
    UNKNOWN_TYPE,
    UNTERMINATED_FENCE,
    WORKER_CRASH,
    MermaidValidator,
    Result,
    failure,
    unavailable_reason,
)

__all__ = [
    "Block",
    "MermaidValidator",
    "Result",
    "check_files",
    "describe",
    "extract_mermaid_blocks",
    "short_reason",
    "shutdown",
    "unavailable_reason",
    "validate",
    "validate_blocks",
    "DEFAULT_TIMEOUT_S",
    "EMPTY",
    "OK",
    "PARSE_ERROR",
    "TIMEOUT",
    "UNKNOWN_TYPE",
    "UNTERMINATED_FENCE",
    "WORKER_CRASH",
]

_default: MermaidValidator | None = None
_default_lock = threading.Lock()

# Mermaid's internal ids, as the keyword a diagram is written with.
DISPLAY_TYPES = {
    "flowchart-v2": "flowchart",
    "flowchart-elk": "flowchart",
    "sequence": "sequenceDiagram",
    "classDiagram": "classDiagram",
    "class": "classDiagram",
    "stateDiagram": "stateDiagram",
    "state": "stateDiagram",
    "er": "erDiagram",
}


def _validator() -> MermaidValidator:
    global _default
    with _default_lock:
        if _default is None:
            _default = MermaidValidator()
        return _default


def validate(diagrams: Sequence[str], timeout_s: float = DEFAULT_TIMEOUT_S) -> list[Result]:
    """Mermaid's verdict on each diagram text, in order (the shared worker pool starts lazily)."""
    if not diagrams:
        return []
    return _validator().validate(diagrams, timeout_s=timeout_s)


def validate_blocks(blocks: Sequence[Block], timeout_s: float = DEFAULT_TIMEOUT_S) -> list[Result]:
    """Verdicts for extracted blocks: an unterminated fence fails without being parsed."""
    results: list[Result | None] = [None] * len(blocks)
    to_parse = []
    for i, block in enumerate(blocks):
        if block.unterminated:
            results[i] = failure(
                UNTERMINATED_FENCE, "unterminated mermaid fence (no closing fence before the end)"
            )
        else:
            to_parse.append(i)
    for i, result in zip(
        to_parse, validate([blocks[i].text for i in to_parse], timeout_s=timeout_s), strict=True
    ):
        results[i] = result
    return [r for r in results if r is not None]


def shutdown() -> None:
    """Stop the shared workers (safe to call more than once; validate() restarts them)."""
    global _default
    with _default_lock:
        if _default is not None:
            _default.close()
            _default = None


atexit.register(shutdown)


def display_type(diagram_type: str | None) -> str:
    if diagram_type is None:
        return "unknown"
    return DISPLAY_TYPES.get(diagram_type, diagram_type)


def describe(result: Result) -> str:
    """One line for a person: 'ok flowchart' or what is wrong."""
    if result.ok:
        return f"ok {display_type(result.diagram_type)}"
    if result.kind == EMPTY:
        return "empty mermaid block"
    if result.kind == UNTERMINATED_FENCE:
        return result.message
    if result.kind == UNKNOWN_TYPE:
        return f"unknown diagram type: {result.message}"
    if result.kind == TIMEOUT:
        return f"timeout: {result.message}"
    if result.kind == PARSE_ERROR:
        return f"parse error ({display_type(result.diagram_type)}): {result.message}"
    return f"{result.kind}: {result.message}"


def short_reason(result: Result) -> str:
    """A compact reason for drop counts: 'parse error line 3 (flowchart)'."""
    kind = result.kind.replace("_", " ")
    if result.kind == PARSE_ERROR:
        where = f" line {result.error_line}" if result.error_line else ""
        return f"parse error{where} ({display_type(result.diagram_type)})"
    return kind


def check_files(paths: Sequence[str], timeout_s: float = DEFAULT_TIMEOUT_S) -> int:
    """`wikikit mermaid check`: one stdout line per diagram, 'file:line: ok TYPE' or
    'file:line: error: message'. Returns 0 if all are valid, 1 if any is not, 2 if a file could
    not be read (an error line names it; the other files are still checked)."""
    code = 0
    found: list[tuple[str, Block]] = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                markdown = f.read()
        except (OSError, UnicodeDecodeError) as e:
            console.error(f"{path}: cannot read: {getattr(e, 'strerror', None) or e}")
            code = 2
            continue
        found.extend((path, block) for block in extract_mermaid_blocks(markdown))
    results = validate_blocks([block for _, block in found], timeout_s=timeout_s)
    out = sys.stdout
    for (path, block), result in zip(found, results, strict=True):
        if result.ok:
            out.write(f"{path}:{block.line}: {describe(result)}\n")
        else:
            where = ""
            if result.error_line:
                where = f" [file line {block.first_text_line + result.error_line - 1}]"
            out.write(f"{path}:{block.line}: error: {describe(result)}{where}\n")
            code = max(code, 1)
    out.flush()
    return code
