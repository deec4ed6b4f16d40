"""Mix quotas (largest remainder, exact sums, shortfalls, strict) and stratified, grouped splits."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pytest

from wikikit.data.mix import largest_remainder, mix
from wikikit.data.split import split
from wikikit.errors import WikikitError

WEIGHTS = {"real": 0.40, "synthetic": 0.50, "traceability": 0.10}


def test_40_50_10_of_1000_is_exact_when_supply_allows():
    pools = {
        "real": list(range(900)),
        "synthetic": list(range(2000)),
        "traceability": list(range(150)),
    }
    r = mix(pools, WEIGHTS, 1000, seed=42)
    assert r.actual == {"real": 400, "synthetic": 500, "traceability": 100}
    assert r.shortfalls == {}
    assert r.selected == mix(pools, WEIGHTS, 1000, seed=42).selected  # same seed, same picks
    assert r.selected != mix(pools, WEIGHTS, 1000, seed=43).selected
    assert all(len(set(v)) == len(v) for v in r.selected.values())


def test_shortfall_is_reported_and_strict_fails():
    pools = {
        "real": list(range(900)),
        "synthetic": list(range(2000)),
        "traceability": list(range(37)),
    }
    r = mix(pools, WEIGHTS, 1000, seed=1)
    print("\nshort supply report:", r.report())
    assert r.actual == {"real": 400, "synthetic": 500, "traceability": 37}
    assert r.shortfalls == {"traceability": 63}
    assert r.report()["planned"] == {"real": 400, "synthetic": 500, "traceability": 100}
    with pytest.raises(WikikitError, match="traceability: 37 of 100"):
        mix(pools, WEIGHTS, 1000, seed=1, strict=True)


@pytest.mark.parametrize("total", [1, 7, 99, 1000, 50_001])
def test_largest_remainder_sums_exactly(total):
    w = {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}
    q = largest_remainder(w, total)
    assert sum(q.values()) == total
    assert max(q.values()) - min(q.values()) <= 1
    assert largest_remainder({"x": 0.333, "y": 0.667}, 10) == {"x": 3, "y": 7}


@dataclass
class Item:
    language: str
    category: str
    repo: str | None


def test_stratified_split_follows_fractions_in_every_stratum():
    items = [
        Item(lang, cat, None)
        for lang in ("python", "go")
        for cat in ("qa", "component")
        for _ in range(200)
    ]
    parts = split(
        items,
        {"train": 0.9, "validation": 0.05, "test": 0.05},
        seed=3,
        stratify=["language", "category"],
    )
    assert sorted(i for p in parts.values() for i in p) == list(range(len(items)))
    assert [len(parts[s]) for s in ("train", "validation", "test")] == [720, 40, 40]
    for s, frac in (("train", 0.9), ("validation", 0.05), ("test", 0.05)):
        per = Counter((items[i].language, items[i].category) for i in parts[s])
        for stratum in per:
            assert abs(per[stratum] - frac * 200) <= 1
    assert parts == split(
        items,
        {"train": 0.9, "validation": 0.05, "test": 0.05},
        seed=3,
        stratify=["language", "category"],
    )


def test_grouped_split_never_straddles_a_repo():
    items = [Item("python", "qa", f"repo{r}@c") for r in range(40) for _ in range(5 + r % 7)]
    parts = split(
        items,
        {"train": 0.8, "validation": 0.1, "test": 0.1},
        seed=5,
        stratify=["category"],
        group_by="repo",
    )
    where = {}
    for s, idx in parts.items():
        for i in idx:
            assert where.setdefault(items[i].repo, s) == s, f"{items[i].repo} in two splits"
    sizes = {s: len(v) for s, v in parts.items()}
    assert sizes["validation"] > 0 and sizes["test"] > 0
    assert abs(sizes["train"] / len(items) - 0.8) < 0.08
    # Ungrouped, the same items do straddle repos: the grouping is what prevents it.
    loose = split(items, {"train": 0.8, "validation": 0.1, "test": 0.1}, seed=5)
    repos_in = {s: {items[i].repo for i in idx} for s, idx in loose.items()}
    assert repos_in["train"] & repos_in["test"]
