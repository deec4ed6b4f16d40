"""Bootstrap intervals, paired differences and gate verdicts, checked against independent math."""

from __future__ import annotations

import math
import random

import pytest

from wikikit.eval.stats import bootstrap_mean, bootstrap_ratio, gate_verdict, paired_difference


def slow_bootstrap(pairs, iterations, seed):
    """A plain-Python percentile bootstrap of sum(hits)/sum(total), for comparison."""
    rng = random.Random(seed)
    n = len(pairs)
    values = []
    for _ in range(iterations):
        picks = [pairs[rng.randrange(n)] for _ in range(n)]
        values.append(sum(h for h, _ in picks) / sum(t for _, t in picks))
    values.sort()
    return values[int(0.025 * iterations)], values[int(0.975 * iterations) - 1]


def test_interval_agrees_with_a_plain_bootstrap_and_the_normal_approximation() -> None:
    rng = random.Random(3)
    pairs = [(float(rng.random() < 0.8), 1.0) for _ in range(400)]
    x = bootstrap_ratio(pairs, iterations=4000, seed=1)
    low, high = slow_bootstrap(pairs, 4000, 2)
    assert x.value == pytest.approx(sum(h for h, _ in pairs) / 400)
    assert x.low == pytest.approx(low, abs=0.01) and x.high == pytest.approx(high, abs=0.01)
    p = x.value
    half = 1.96 * math.sqrt(p * (1 - p) / 400)
    assert (x.high - x.low) / 2 == pytest.approx(half, rel=0.15)
    assert x.n == 400 and x.low < p < x.high


def test_a_share_weighs_items_by_their_totals() -> None:
    x = bootstrap_ratio([(1, 1), (0, 9), (5, 10)])
    assert x.value == pytest.approx(6 / 20)  # not the mean of 1, 0, 0.5
    assert bootstrap_ratio([(0, 0), (3, 4)]).n == 1  # an item that counted nothing is no item


def test_edge_cases_have_no_interval_instead_of_a_false_one() -> None:
    one = bootstrap_ratio([(1, 1)])
    assert (one.value, one.low, one.high, one.n) == (1.0, None, None, 1)
    assert bootstrap_ratio([]).value is None
    constant = bootstrap_ratio([(1, 1)] * 50)
    assert (constant.low, constant.high) == (1.0, 1.0)
    assert bootstrap_mean([0.5, 0.7]).value == pytest.approx(0.6)
    assert (
        bootstrap_ratio([(1, 2)] * 5, seed=4).as_dict()
        == bootstrap_ratio([(1, 2)] * 5, seed=4).as_dict()
    )


def test_paired_difference_cancels_item_difficulty() -> None:
    rng = random.Random(5)
    difficulty = [rng.random() for _ in range(200)]
    base = [(d, 1.0) for d in difficulty]
    tuned = [(min(1.0, d + 0.05), 1.0) for d in difficulty]
    d = paired_difference(base, tuned, iterations=3000)
    exact = sum(t for t, _ in tuned) / 200 - sum(b for b, _ in base) / 200
    assert d.value == pytest.approx(exact)
    # paired: the spread of per-item differences (tiny) decides, not the spread of difficulty
    unpaired = bootstrap_ratio(tuned, iterations=3000)
    assert (d.high - d.low) < (unpaired.high - unpaired.low) / 5
    assert d.low > 0
    same = paired_difference(base, base)
    assert (same.value, same.low, same.high) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="differ in number"):
        paired_difference(base, tuned[:-1])


def test_gate_verdicts() -> None:
    good = bootstrap_ratio([(1, 1)] * 40)
    assert gate_verdict("t", 0.9, good).passed
    close = bootstrap_ratio([(1, 1)] * 19 + [(0, 1)])  # 0.95, lower end well under 0.9
    v = gate_verdict("t", 0.9, close)
    assert not v.passed and "the interval reaches below" in v.reason and "value 0.9500" in v.reason
    assert "too few" in gate_verdict("t", 0.5, bootstrap_ratio([(1, 1)])).reason
    assert gate_verdict("t", 0.5, None).reason == "not measured"


def test_wikis_become_items_bootstrapped_over_repos() -> None:
    from wikikit.eval.results import (
        check_gates,
        codewikibench_items,
        differences,
        intervals,
        wiki_items,
    )
    from wikikit.eval.wiki import WikiScore

    def wiki(right: int, refs: int) -> WikiScore:
        return WikiScore({"refs_right": (right, refs), "links": (0, 0)}, None, None)

    tuned = wiki_items({f"r{i}": wiki(9, 10) for i in range(6)})
    base = wiki_items({f"r{i}": wiki(i, 10) for i in range(6)})
    assert set(tuned["semanticwiki"]) == {"refs_right"}  # nothing counted is no item
    found = intervals(tuned)
    assert (
        found["semanticwiki"]["refs_right"].n == 6
        and found["semanticwiki"]["refs_right"].value == 0.9
    )
    diff = differences(base, tuned)["semanticwiki"]["refs_right"]
    assert diff.value == pytest.approx(0.9 - 15 / 60) and diff.low > 0
    [verdict] = check_gates({"semanticwiki/refs_right": 0.85}, found)
    # a gate on the wiki reads the raw twin (the model's answers), here never measured
    assert not verdict.passed and verdict.gate == "semanticwiki/refs_right (raw_refs_right)"
    raw = {f"r{i}": WikiScore({"refs_right": (9, 10), "raw_refs_right": (9, 10)}, None, None)
           for i in range(6)}  # fmt: skip
    found = intervals(wiki_items(raw))
    verdicts = check_gates({"semanticwiki/refs_right": 0.85, "semanticwiki/raw_refs_right": 0.95,
                            "semanticwiki": 0.85}, found)  # fmt: skip
    assert [(v.gate, v.passed) for v in verdicts] == [
        ("semanticwiki", True),  # the headline is raw_refs_right; six wikis at 0.9: [0.9, 0.9]
        ("semanticwiki/raw_refs_right", False),
        ("semanticwiki/refs_right (raw_refs_right)", True),
    ]
    assert check_gates({"semanticwiki/h1": 0.5}, found)[0].gate == "semanticwiki/h1"
    cwb = codewikibench_items({"repos": [{"repo": "a", "score": 0.8, "leaves": 10, "excluded_leaves": 1},
                                         {"repo": "b", "score": None, "leaves": 4, "excluded_leaves": 4}]})  # fmt: skip
    assert cwb["codewikibench"]["codewikibench"] == {"a": (0.8, 1.0)}
    assert cwb["codewikibench"]["judged_leaves"] == {"a": (9.0, 10.0), "b": (0.0, 4.0)}
