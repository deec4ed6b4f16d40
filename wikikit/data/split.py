"""Splitting into train/validation/test: by fractions, stratified, optionally grouped.

Units (single examples, or whole groups when `group_by` is set, e.g. one repository) are
ordered by stratum and, within a stratum, by a seeded shuffle. Each unit then goes to the split
that is furthest behind its fraction of what has been assigned so far (a deterministic
"systematic" allocation): overall counts follow the fractions to within one unit, every
stratum is spread proportionally, and a group is never divided between splits.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

SPLITS = ("train", "validation", "test")
DEFAULTS = {"train": 0.9, "validation": 0.05, "test": 0.05}


def split(
    items: Sequence[Any],
    fractions: Mapping[str, float],
    seed: int,
    stratify: Sequence[str] = (),
    group_by: str | None = None,
    key: Callable[[Any, str], Any] = lambda item, field: getattr(item, field, None),
) -> dict[str, list[int]]:
    """Indices of `items` for each split (each list in a seeded shuffled order)."""
    names = [s for s in SPLITS if s in fractions] or list(fractions)
    fr = {s: float(fractions.get(s, 0.0)) for s in names}

    def stratum(i: int) -> tuple:
        return tuple(str(key(items[i], f)) for f in stratify)

    # Units: groups of indices that must stay together.
    units: dict[Any, list[int]] = {}
    for i, item in enumerate(items):
        g = key(item, group_by) if group_by else None
        unit_key = ("group", str(g)) if g is not None else ("item", i)
        units.setdefault(unit_key, []).append(i)

    rng = random.Random(f"{seed}:split")
    unit_list = sorted(units.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]).zfill(12)))
    shuffle_rank = list(range(len(unit_list)))
    rng.shuffle(shuffle_rank)

    def unit_stratum(members: list[int]) -> tuple:
        counts = Counter(stratum(i) for i in members)
        return min(counts, key=lambda s: (-counts[s], s))  # most common; ties by value

    order = sorted(
        range(len(unit_list)),
        key=lambda u: (unit_stratum(unit_list[u][1]), shuffle_rank[u]),
    )
    assigned = {s: 0 for s in names}
    out: dict[str, list[int]] = {s: [] for s in names}
    seen = 0
    for u in order:
        members = unit_list[u][1]
        seen += len(members)
        target = max(names, key=lambda s: (fr[s] * seen - assigned[s], -names.index(s)))
        assigned[target] += len(members)
        out[target].extend(members)
    for s in names:
        random.Random(f"{seed}:order:{s}").shuffle(out[s])
    return out
