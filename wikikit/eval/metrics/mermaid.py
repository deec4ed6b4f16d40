"""Mermaid diagrams in an answer: present, parsed by the real Mermaid parser, of the asked type.

- has_diagram: answers with at least one fenced mermaid block;
- parse_rate: blocks that mermaid.parse accepts (wikikit.mermaid's Node worker);
- type_match: answers with a parsing block of the requested diagram type;
- validity (headline): parsing blocks, where an answer without any diagram counts as one failed
  block, so that saying nothing cannot score well.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from wikikit.eval.metrics import Ratio, share

# (blocks from wikikit.mermaid.extract_mermaid_blocks) -> one Result(ok, diagram_type, ...) each
Validator = Callable[[Sequence[Any]], Sequence[Any]]

# The first keyword of a diagram, and the names mermaid.parse reports, mapped to one family name.
_FAMILIES = {
    "graph": "flowchart",
    "flowchart": "flowchart",
    "flowchart-v2": "flowchart",
    "flowchart-elk": "flowchart",
    "sequence": "sequence",
    "sequencediagram": "sequence",
    "class": "class",
    "classdiagram": "class",
    "classdiagram-v2": "class",
    "state": "state",
    "statediagram": "state",
    "statediagram-v2": "state",
    "er": "er",
    "erdiagram": "er",
}


def diagram_family(name: str | None) -> str:
    key = (name or "").strip().lower()
    return _FAMILIES.get(key, key)


def declared_type(diagram: str) -> str:
    """The type keyword a diagram starts with (after front matter, comments and directives)."""
    body = re.sub(r"\A\s*---\n.*?\n---\s*\n", "", diagram, flags=re.S)
    for line in body.splitlines():
        line = line.strip()
        if not line or line.startswith("%%"):
            continue
        return diagram_family(line.split()[0])
    return ""


@dataclass
class MermaidScore:
    has_diagram: Ratio
    parse_rate: Ratio
    type_match: Ratio
    validity: Ratio
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, float]:
        keys = ("has_diagram", "parse_rate", "type_match", "validity")
        return {k: share(getattr(self, k)) for k in keys}


def _default_validator(blocks: Sequence[Any]) -> Sequence[Any]:
    from wikikit.mermaid import validate_blocks

    # an unterminated fence (a generation cut at max tokens) fails without being parsed
    return validate_blocks(list(blocks))


def extract_blocks(markdown: str) -> list[Any]:
    from wikikit.mermaid import extract_mermaid_blocks

    return list(extract_mermaid_blocks(markdown))


def score_mermaid(
    answer: str, requested: str | None = None, validator: Validator | None = None
) -> MermaidScore:
    """Score one answer; `requested` is the diagram type the prompt asked for (e.g. "sequence")."""
    blocks = extract_blocks(answer or "")
    results = list((validator or _default_validator)(blocks)) if blocks else []
    ok = [r for r in results if r.ok]
    errors = [f"block {i + 1}: {r.message}" for i, r in enumerate(results) if not r.ok]
    want = diagram_family(requested) if requested else None
    matched = any(
        want is None or diagram_family(r.diagram_type) == want or declared_type(b.text) == want
        for b, r in zip(blocks, results, strict=True)
        if r.ok
    )
    return MermaidScore(
        has_diagram=(int(bool(blocks)), 1),
        parse_rate=(len(ok), len(blocks)),
        type_match=(int(bool(ok) and matched), 1),
        validity=(len(ok), max(len(blocks), 1)),
        errors=errors,
    )
