"""Scores for the eval tasks (eval_tasks/*/utils.py call these; so do the tests).

Each metric reports micro-averaged shares as `(hits, total)` pairs, so a corpus score is
sum(hits) / sum(total) (`ratio`), not a mean of per-answer shares that would let one short
answer weigh as much as a long one.
"""

from __future__ import annotations

from collections.abc import Iterable

Ratio = tuple[int, int]


def ratio(items: Iterable[Ratio]) -> float:
    """Corpus share from (hits, total) pairs; 0.0 when nothing was counted."""
    hits = total = 0
    for h, t in items:
        hits += h
        total += t
    return hits / total if total else 0.0


def share(r: Ratio) -> float:
    return r[0] / r[1] if r[1] else 0.0
