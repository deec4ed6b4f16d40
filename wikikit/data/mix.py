"""Mixing: bucket weights x `data.size` -> per-bucket quotas, sampled deterministically.

Quotas use largest-remainder rounding, so they sum exactly to the size. A bucket with fewer
examples than its quota takes all it has and the shortfall is reported; `strict` turns any
shortfall into a failed run.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wikikit.errors import WikikitError


def largest_remainder(weights: Mapping[str, float], total: int) -> dict[str, int]:
    """Integer shares of `total` proportional to `weights`, summing exactly to `total`.

    Ties in the remainders go to the bucket listed first, so the result is deterministic.
    """
    wsum = float(sum(weights.values()))
    if total <= 0 or wsum <= 0:
        return {k: 0 for k in weights}
    exact = {k: total * w / wsum for k, w in weights.items()}
    quotas = {k: math.floor(v) for k, v in exact.items()}
    left = total - sum(quotas.values())
    order = sorted(weights, key=lambda k: (-(exact[k] - quotas[k]), list(weights).index(k)))
    for k in order[:left]:
        quotas[k] += 1
    return quotas


@dataclass
class MixResult:
    selected: dict[str, list[int]]  # bucket -> chosen indices (ascending) into the bucket's pool
    planned: dict[str, int]
    available: dict[str, int]
    shortfalls: dict[str, int] = field(default_factory=dict)

    @property
    def actual(self) -> dict[str, int]:
        return {b: len(v) for b, v in self.selected.items()}

    def report(self) -> dict[str, Any]:
        return {
            "planned": self.planned,
            "available": self.available,
            "actual": self.actual,
            "shortfalls": self.shortfalls,
        }


def mix(
    pools: Mapping[str, Sequence[Any]],
    weights: Mapping[str, float],
    size: int | None,
    seed: int,
    strict: bool = False,
) -> MixResult:
    """Choose examples from each bucket's pool.

    `pools` maps bucket -> its candidate examples in stream order. Without a `size` every
    example is taken (the weights are then only reported). Sampling uses a generator seeded by
    (seed, bucket), so adding a bucket does not change what another bucket picks.
    """
    available = {b: len(pools.get(b, ())) for b in weights}
    planned = largest_remainder(weights, size) if size else dict(available)
    selected: dict[str, list[int]] = {}
    shortfalls: dict[str, int] = {}
    for bucket in weights:
        n, quota = available[bucket], planned[bucket]
        if n <= quota:
            selected[bucket] = list(range(n))
            if n < quota:
                shortfalls[bucket] = quota - n
        else:
            rng = random.Random(f"{seed}:mix:{bucket}")
            selected[bucket] = sorted(rng.sample(range(n), quota))
    result = MixResult(selected, planned, available, shortfalls)
    if strict and shortfalls:
        detail = ", ".join(
            f"{b}: {available[b]} of {planned[b]} (short {s})" for b, s in shortfalls.items()
        )
        raise WikikitError(f"data.strict: buckets short of their quota: {detail}")
    return result
