"""95% intervals for every score, base vs fine-tuned differences, and gates that respect them.

A score is a corpus share sum(hits) / sum(total) over items (wikikit.eval.metrics), so the
interval is a percentile bootstrap over items: resample the items with replacement, recompute
the share, take the 2.5th and 97.5th percentiles. Items are whatever was scored one by one: an
lm-eval document, or a whole wiki (a bootstrap over repos). A difference between two models is
bootstrapped on the same resampled items for both (paired), so item difficulty cancels out.

A gate passes only when the interval's lower end reaches its minimum; otherwise the verdict
says why not (below it, too few items to draw an interval, or not measured).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

DEFAULT_ITERATIONS = 2000
DEFAULT_LEVEL = 0.95
Pair = tuple[float, float]  # (hits, total) of one item


@dataclass
class Interval:
    value: float | None
    low: float | None
    high: float | None
    n: int  # items
    level: float = DEFAULT_LEVEL

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "low": self.low, "high": self.high, "n": self.n,
                "level": self.level}  # fmt: skip

    def text(self, digits: int = 3) -> str:
        """`0.842 [0.801, 0.880]`, or the value alone when there is no interval."""
        if self.value is None:
            return "n/a"
        v = f"{self.value:.{digits}f}"
        if self.low is None or self.high is None:
            return f"{v} (n={self.n}, no interval)"
        return f"{v} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


def _arrays(pairs: Sequence[Pair]):
    import numpy as np

    hits = np.array([float(h) for h, _ in pairs], dtype=float)
    totals = np.array([float(t) for _, t in pairs], dtype=float)
    return hits, totals


def _ratio(hits, totals) -> float | None:
    t = float(totals.sum())
    return float(hits.sum()) / t if t else None


def _percentiles(samples, level: float) -> tuple[float | None, float | None]:
    import numpy as np

    samples = samples[~np.isnan(samples)]
    if samples.size == 0:
        return None, None
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_ratio(
    pairs: Sequence[Pair],
    iterations: int = DEFAULT_ITERATIONS,
    seed: int = 0,
    level: float = DEFAULT_LEVEL,
) -> Interval:
    """The share over items with its percentile-bootstrap interval (None with under 2 items)."""
    import numpy as np

    hits, totals = _arrays(pairs)
    kept = totals > 0  # an item that counted nothing says nothing about the share
    hits, totals = hits[kept], totals[kept]
    n = int(hits.size)
    value = _ratio(hits, totals)
    if n < 2 or value is None:
        return Interval(value, None, None, n, level)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(iterations, n))
    with np.errstate(invalid="ignore", divide="ignore"):
        samples = hits[idx].sum(axis=1) / totals[idx].sum(axis=1)
    low, high = _percentiles(samples, level)
    return Interval(value, low, high, n, level)


def bootstrap_mean(values: Sequence[float], **kwargs: Any) -> Interval:
    """A mean of per-item values (e.g. one score per repo) with its interval."""
    return bootstrap_ratio([(v, 1.0) for v in values], **kwargs)


def paired_difference(
    base: Sequence[Pair],
    tuned: Sequence[Pair],
    iterations: int = DEFAULT_ITERATIONS,
    seed: int = 0,
    level: float = DEFAULT_LEVEL,
) -> Interval:
    """tuned share minus base share over the same items (aligned), with a paired interval."""
    import numpy as np

    if len(base) != len(tuned):
        raise ValueError(f"paired items differ in number: {len(base)} vs {len(tuned)}")
    bh, bt = _arrays(base)
    th, tt = _arrays(tuned)
    kept = (bt > 0) | (tt > 0)
    bh, bt, th, tt = bh[kept], bt[kept], th[kept], tt[kept]
    n = int(bh.size)
    b, t = _ratio(bh, bt), _ratio(th, tt)
    value = None if b is None or t is None else t - b
    if n < 2 or value is None:
        return Interval(value, None, None, n, level)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(iterations, n))
    with np.errstate(invalid="ignore", divide="ignore"):
        samples = th[idx].sum(1) / tt[idx].sum(1) - bh[idx].sum(1) / bt[idx].sum(1)
    low, high = _percentiles(samples, level)
    return Interval(value, low, high, n, level)


@dataclass
class GateVerdict:
    gate: str
    minimum: float
    passed: bool
    reason: str
    interval: Interval | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "gate": self.gate,
            "minimum": self.minimum,
            "passed": self.passed,
            "reason": self.reason,
            "interval": self.interval.as_dict() if self.interval else None,
        }


def gate_verdict(
    gate: str, minimum: float, interval: Interval | None, hint: str = ""
) -> GateVerdict:
    """Passed only when the interval's lower end is at least `minimum`; else why not."""
    if interval is None or interval.value is None:
        return GateVerdict(gate, minimum, False, f"not measured{hint}", interval)
    if interval.low is None:
        return GateVerdict(
            gate,
            minimum,
            False,
            f"{interval.value:.4f} on {interval.n} item(s): too few for an interval, "
            "so the gate cannot be shown to hold",
            interval,
        )
    if interval.low >= minimum:
        return GateVerdict(
            gate, minimum, True, f"lower end {interval.low:.4f} >= {minimum}", interval
        )
    where = (
        "the value itself is below" if interval.value < minimum else "the interval reaches below"
    )
    return GateVerdict(
        gate,
        minimum,
        False,
        f"lower end {interval.low:.4f} < {minimum} ({where}; value {interval.value:.4f}, "
        f"n={interval.n})",
        interval,
    )
