"""Traceability metric on hand-made answers with known scores."""

from __future__ import annotations

import pytest

from wikikit.eval.metrics import ratio
from wikikit.eval.metrics.answer import final_text
from wikikit.eval.metrics.traceability import score_traceability

FILES = {
    "src/auth/jwt.py": "\n".join(
        [
            "import time",  # 1
            "",  # 2
            "class JwtProvider:",  # 3
            "    def __init__(self, secret):",  # 4
            "        self.secret = secret",  # 5
            "",  # 6
            "    def verify_token(self, token):",  # 7
            "        return decode(token, self.secret)",  # 8
        ]
    ),
    "src/db.py": "def connect(url):\n    return Pool(url)\n",
}

PERFECT = """# Authentication

`JwtProvider` keeps the signing secret.

**Source:** [`src/auth/jwt.py:3-5`](../../src/auth/jwt.py#L3-L5)

## Verification

Tokens are checked by `verify_token`, which decodes them with the secret.

Sources: [src/auth/jwt.py:7-8]()

## Storage

The database layer opens a pool in `connect`.

Sources: [src/db.py:1-2]()
"""


def test_perfect_answer_scores_one() -> None:
    s = score_traceability(PERFECT, FILES)
    assert s.as_dict() == {"coverage": 1.0, "resolved": 1.0, "precision": 1.0, "traceability": 1.0}
    assert s.problems == []


def test_empty_answer_scores_zero() -> None:
    s = score_traceability("", FILES)
    assert s.coverage == (0, 1) and s.traceability == (0, 1)
    assert s.resolved == (0, 0)


def test_hallucinated_path() -> None:
    answer = PERFECT.replace("src/db.py:1-2", "src/database/pool.py:1-2")
    s = score_traceability(answer, FILES)
    assert s.coverage == (3, 3)  # the section still carries a reference...
    assert s.resolved == (2, 3)  # ...that does not resolve
    assert s.traceability == (2, 3)
    assert any("src/database/pool.py" in p and "no such file" in p for p in s.problems)


def test_range_outside_file() -> None:
    answer = PERFECT.replace("src/auth/jwt.py:7-8", "src/auth/jwt.py:7-80")
    s = score_traceability(answer, FILES)
    assert s.resolved == (2, 3)
    assert any("outside the file's 8 lines" in p for p in s.problems)


def test_wrong_lines_are_imprecise() -> None:
    # resolves (lines 1-2 exist) but they hold `import time`, not verify_token
    answer = PERFECT.replace("src/auth/jwt.py:7-8", "src/auth/jwt.py:1-2")
    s = score_traceability(answer, FILES)
    assert s.resolved == (3, 3)
    assert s.precision == (2, 3)
    assert s.traceability == (2, 3)
    assert any("do not contain" in p for p in s.problems)


def test_unreferenced_sections_lower_coverage() -> None:
    answer = PERFECT + "\n## Deployment\n\nRun it behind a proxy.\n\n## Notes\n\nNothing more.\n"
    s = score_traceability(answer, FILES)
    assert s.coverage == (3, 5)
    assert s.traceability == (3, 5)


def test_refs_inside_code_blocks_do_not_count() -> None:
    answer = (
        "# A\n\nThe provider.\n\n```python\n# src/auth/jwt.py:3-5\nclass JwtProvider: ...\n```\n"
    )
    s = score_traceability(answer, FILES)
    assert s.coverage == (0, 1)


def test_paragraph_units_without_headings() -> None:
    answer = (
        "`JwtProvider` holds the secret (`src/auth/jwt.py:3-5`).\n\n"
        "Pools come from `connect` (`src/db.py:1-2`).\n\nThat is all there is to say."
    )
    s = score_traceability(answer, FILES)
    assert s.coverage == (2, 3)
    assert s.precision == (2, 2)


def test_corpus_ratio_is_micro_averaged() -> None:
    assert ratio([(1, 1), (0, 3)]) == pytest.approx(0.25)
    assert ratio([]) == 0.0


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (
            "<|channel|>analysis<|message|>think<|end|><|start|>assistant<|channel|>final<|message|>Hi<|return|>",
            "Hi",
        ),
        ("analysisLet me think.assistantfinalHi there", "Hi there"),
        ("analysisStill thinking about it", ""),
        ("Plain answer<|end|>", "Plain answer"),
    ],
)
def test_final_text(output: str, expected: str) -> None:
    assert final_text(output) == expected


def test_heading_only_sections_are_not_units() -> None:
    answer = "# Overview\n\n## JwtProvider\n\n`JwtProvider` signs.\n\n**Source:** [`src/auth/jwt.py:3-3`](x)\n"
    assert score_traceability(answer, FILES).traceability == (1, 1)


@pytest.mark.parametrize("sep", ["\x0c", "\x0b", "\x1c", "\x85", "\u2028", "\u2029"])
def test_line_numbers_count_newlines_only(sep: str) -> None:
    """A form feed (GNU C sources hold them) or U+2028 inside a line is not a line break: the
    numbers the prompt shows and the ones the metric checks are the file's own."""
    from wikikit.eval.metrics.prompts import number_lines

    files = {
        **FILES,
        "src/auth/jwt.py": FILES["src/auth/jwt.py"].replace("import ", f"import{sep}"),
    }
    assert number_lines(files["src/auth/jwt.py"]).split("\n")[6].startswith("7 |     def verify")
    s = score_traceability(PERFECT, files)
    assert s.as_dict()["resolved"] == s.as_dict()["precision"] == 1.0 and not s.problems
