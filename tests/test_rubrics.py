"""CodeWikiBench aggregation: reproduce the published combined scores; verdict parsing.

The judge loop itself is tested in test_codewikibench_judge.py.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from wikikit.eval import rubrics

FIXTURES = Path(__file__).resolve().parents[2] / "shared/fixtures/codewikibench/OpenHands"
JUDGES = ("gemini-2.5-flash", "gpt-oss-120b", "kimi-k2-instruct")
needs_fixtures = pytest.mark.skipif(
    not FIXTURES.is_dir(), reason="shared CodeWikiBench fixtures absent"
)


@needs_fixtures
@pytest.mark.parametrize(("system", "expected"), [("codewiki", 0.8245), ("deepwiki", 0.7304)])
def test_reproduces_codewikibench_combined_scores(system: str, expected: float) -> None:
    folder = FIXTURES / system / "evaluation_results"
    result = rubrics.combine_files([folder / f"{j}.json" for j in JUDGES], "average")
    reference = json.loads((folder / "combined_evaluation_results.json").read_text())
    meta = reference["combination_metadata"]
    assert round(result.overall_score, 4) == expected
    assert result.overall_score == pytest.approx(meta["overall_score"], abs=1e-12)
    assert result.overall_std == pytest.approx(meta["overall_std"], abs=1e-12)
    # every intermediate node agrees with the reference's combined tree too
    ours = [n for _, n in rubrics.iter_leaves(result.rubrics)]
    theirs = [n for _, n in rubrics.iter_leaves(reference["rubrics"])]
    assert [n["score"] for n in ours] == pytest.approx([n["score"] for n in theirs])
    for a, b in zip(result.rubrics, reference["rubrics"], strict=True):
        assert a["score"] == pytest.approx(b["score"]) and a["std"] == pytest.approx(b["std"])


def _tree(leaves: list[tuple[int, float | None]]) -> list[dict]:
    return [
        {
            "requirements": "A",
            "weight": 3,
            "sub_tasks": [
                {"requirements": f"a{i}", "weight": w, "score": s}
                for i, (w, s) in enumerate(leaves)
            ],
        },
        {"requirements": "B", "weight": 1, "score": 0},
    ]


def test_weighted_means_and_std_by_hand() -> None:
    # A = (3*1 + 1*0)/4 = 0.75 ; repo = (3*0.75 + 1*0)/4 = 0.5625
    assert rubrics.score_nodes(_tree([(3, 1), (1, 0)])).score == pytest.approx(0.5625)
    judges = [_tree([(3, 1), (1, 0)]), _tree([(3, 1), (1, 1)]), _tree([(3, 0), (1, 1)])]
    avg = rubrics.combine_judges(judges, "average")
    # leaves: a0 = 2/3 (std .577), a1 = 2/3 (std .577), B = 0
    sd = math.sqrt(1 / 3)
    a_std = math.sqrt((3 * sd) ** 2 + (1 * sd) ** 2) / 4
    assert avg.overall_score == pytest.approx((3 * (2 / 3)) / 4)
    assert avg.overall_std == pytest.approx(3 * a_std / 4)
    assert rubrics.combine_judges(judges, "majority_vote").overall_score == pytest.approx(0.75)
    assert rubrics.combine_judges(judges, "max").overall_score == pytest.approx(0.75)
    assert rubrics.combine_judges(judges, "min").overall_score == pytest.approx(0.0)


def test_failed_leaf_is_excluded_not_passed() -> None:
    # a1 unjudged everywhere: A is a0 alone (0), not (0 + pass)
    result = rubrics.combine_judges([_tree([(3, 0), (1, None)])] * 2)
    assert result.excluded_leaves == 1
    assert result.rubrics[0]["score"] == 0.0
    # one judge failed on a0: the other judge's verdict alone decides
    result = rubrics.combine_judges([_tree([(3, 1), (1, 1)]), _tree([(3, None), (1, 1)])])
    assert result.rubrics[0]["sub_tasks"][0]["evaluation"]["num_llms"] == 1
    assert result.rubrics[0]["score"] == 1.0


def test_mismatched_trees_are_rejected() -> None:
    other = _tree([(3, 1), (1, 0)])
    other[0]["sub_tasks"][1]["requirements"] = "different"
    with pytest.raises(rubrics.InputError, match="differs"):
        rubrics.combine_judges([_tree([(3, 1), (1, 0)]), other])


@pytest.mark.parametrize("reply", ['{"score": 2}', '{"score": true}', '{"reasoning": "x"}', ""])
def test_bad_verdicts_raise(reply: str) -> None:
    with pytest.raises((ValueError, json.JSONDecodeError)):
        rubrics.parse_verdict(reply)
