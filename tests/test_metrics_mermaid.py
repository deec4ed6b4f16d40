"""Mermaid metric on hand-made answers, parsed by the real Mermaid parser (Node worker)."""

from __future__ import annotations

import pytest

from wikikit.eval.metrics import ratio
from wikikit.eval.metrics.mermaid import declared_type, diagram_family, score_mermaid

SEQUENCE = (
    "```mermaid\nsequenceDiagram\n    Client->>Gateway: login\n    Gateway-->>Client: token\n```"
)
FLOW = "```mermaid\nflowchart TD\n    A[request] --> B{valid?}\n    B -->|no| C[reject]\n```"
BROKEN = "```mermaid\nflowchart TD\n    A --> B -->\n```"


def test_perfect_answer() -> None:
    s = score_mermaid(f"The login flow:\n\n{SEQUENCE}\n", "sequence")
    assert s.as_dict() == {
        "has_diagram": 1.0,
        "parse_rate": 1.0,
        "type_match": 1.0,
        "validity": 1.0,
    }


def test_empty_answer_counts_as_a_failed_block() -> None:
    s = score_mermaid("", "sequence")
    assert (s.has_diagram, s.parse_rate, s.type_match, s.validity) == (
        (0, 1),
        (0, 0),
        (0, 1),
        (0, 1),
    )


def test_broken_diagram_is_reported() -> None:
    s = score_mermaid(f"{SEQUENCE}\n\n{BROKEN}", "sequence")
    assert s.parse_rate == (1, 2) and s.validity == (1, 2)
    assert s.type_match == (1, 1)  # the sequence diagram parsed
    assert len(s.errors) == 1 and "line" in s.errors[0].lower()


def test_wrong_type() -> None:
    s = score_mermaid(FLOW, "sequence")
    assert s.parse_rate == (1, 1) and s.type_match == (0, 1)
    assert score_mermaid(FLOW, "flowchart").type_match == (1, 1)


def test_unterminated_fence_fails() -> None:
    s = score_mermaid("```mermaid\nsequenceDiagram\n    A->>B: cut at max tokens", "sequence")
    assert s.has_diagram == (1, 1) and s.parse_rate == (0, 1)


def test_corpus_validity_is_per_block() -> None:
    answers = [
        score_mermaid(SEQUENCE),
        score_mermaid(f"{FLOW}\n{BROKEN}"),
        score_mermaid("no diagram"),
    ]
    assert ratio(a.validity for a in answers) == pytest.approx(2 / 4)


@pytest.mark.parametrize(
    ("text", "family"),
    [("graph LR\n A-->B", "flowchart"), ("%% c\nstateDiagram-v2\n [*]-->a", "state"),
     ("---\ntitle: x\n---\nerDiagram\n A ||--o{ B : r", "er")],
)  # fmt: skip
def test_declared_type(text: str, family: str) -> None:
    assert declared_type(text) == family
    assert (
        diagram_family("classDiagram") == "class" and diagram_family("flowchart-v2") == "flowchart"
    )
