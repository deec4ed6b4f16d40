"""The report's pictures: small matplotlib charts returned as self-contained SVG data URIs.

Each chart is an `<img src="data:image/svg+xml;base64,...">` so the page needs no network and
one chart's SVG ids can never clash with another's. Matplotlib's object API (Figure, not
pyplot) keeps no global state; mathtext is off because labels come from untrusted data.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # never a GUI backend, even if pyplot gets imported elsewhere

from matplotlib.figure import Figure  # noqa: E402

PALETTE = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C"]
RC = {
    "svg.fonttype": "none",  # text stays text (small, crisp); the browser picks the font
    "svg.hashsalt": "wikikit-report",  # stable ids, so the same run gives the same page
    "text.parse_math": False,  # "$x$" in a category name is just text
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
}
MAX_LABEL = 40


def _label(text: object) -> str:
    s = str(text)
    return s if len(s) <= MAX_LABEL else s[: MAX_LABEL - 1] + "…"


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def to_data_uri(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def grouped_bars(
    groups: Sequence[str],
    series: Mapping[str, Sequence[float]],
    title: str,
    ylabel: str = "examples",
) -> str:
    """Vertical bars: one cluster per group, one bar per series (e.g. planned/available/actual)."""
    with matplotlib.rc_context(RC):
        width = min(10.0, max(4.8, 2.4 + 0.5 * len(groups) * max(1, len(series))))
        fig = _figure(width, 3.2)
        ax = fig.subplots()
        n = max(1, len(series))
        bar_w = 0.8 / n
        for k, (name, values) in enumerate(series.items()):
            xs = [i + (k - (n - 1) / 2) * bar_w for i in range(len(groups))]
            bars = ax.bar(xs, values, bar_w, label=_label(name))
            ax.bar_label(bars, fmt="%g", fontsize=7, padding=1)
        ax.set_xticks(range(len(groups)), [_label(g) for g in groups])
        if len(groups) > 5:
            ax.tick_params(axis="x", labelrotation=30)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(axis="x", visible=False)
        if len(series) > 1:
            ax.legend(frameon=False, fontsize=8)
        return to_data_uri(fig)


def stacked_barh(
    rows: Sequence[str], segments: Mapping[str, Sequence[float]], title: str, xlabel: str
) -> str:
    """Horizontal stacked bars: one row per item (e.g. source), one segment per reason."""
    with matplotlib.rc_context(RC):
        fig = _figure(8.0, 1.4 + 0.45 * len(rows) + 0.18 * len(segments))
        ax = fig.subplots()
        left = [0.0] * len(rows)
        colors = PALETTE * (len(segments) // len(PALETTE) + 1)
        for (name, values), color in zip(segments.items(), colors, strict=False):
            ax.barh(range(len(rows)), values, left=left, label=_label(name), color=color)
            left = [a + b for a, b in zip(left, values, strict=True)]
        for i, total in enumerate(left):
            ax.text(total, i, f" {total:g}", va="center", fontsize=8)
        ax.set_yticks(range(len(rows)), [_label(r) for r in rows])
        ax.invert_yaxis()
        ax.set_xlabel(xlabel)
        ax.set_title(title)
        ax.grid(axis="y", visible=False)
        ax.legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        return to_data_uri(fig)


def histograms(samples: Mapping[str, Sequence[int]], title: str, xlabel: str) -> str:
    """Overlaid step histograms (one per split) on shared bins, counts as density."""
    import numpy as np

    with matplotlib.rc_context(RC):
        fig = _figure(8.0, 3.2)
        ax = fig.subplots()
        values = [v for vs in samples.values() for v in vs]
        lo, hi = max(1, min(values)), max(values)
        log = hi / lo > 50
        n_bins = int(min(40, max(8, 2 * len(values) ** 0.5)))  # fewer bins for small samples
        bins = np.geomspace(lo, hi + 1, n_bins) if log else np.linspace(lo, hi + 1, n_bins)
        for name, vs in samples.items():
            if vs:
                ax.hist(vs, bins=bins, histtype="step", linewidth=1.6, density=True, label=name)
        if log:
            ax.set_xscale("log")
        ax.set_xlabel(xlabel + (" (log scale)" if log else ""))
        ax.set_ylabel("share of examples (density)")
        ax.set_title(title)
        ax.legend(frameon=False)
        return to_data_uri(fig)


def line_chart(
    xs: Sequence[float],
    ys: Sequence[float],
    title: str,
    xlabel: str,
    ylabel: str,
    extra: tuple[Sequence[float], Sequence[float], str] | None = None,
) -> str:
    """A line (e.g. loss per step), optionally a second series on a right-hand axis."""
    with matplotlib.rc_context(RC):
        fig = _figure(8.0, 3.2)
        ax = fig.subplots()
        ax.plot(xs, ys, marker="o" if len(xs) <= 30 else None, markersize=3, color=PALETTE[0])
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel, color=PALETTE[0])
        ax.set_title(title)
        if extra is not None:
            ex, ey, elabel = extra
            ax2 = ax.twinx()
            ax2.plot(ex, ey, color=PALETTE[1], linewidth=1, alpha=0.8)
            ax2.set_ylabel(elabel, color=PALETTE[1])
            ax2.grid(False)
        return to_data_uri(fig)


def score_chart(
    tasks: Sequence[str],
    tuned: Sequence[float | None],
    base: Sequence[float | None] | None,
    targets: Sequence[float | None],
    title: str,
    tuned_ci: Sequence[tuple[float, float] | None] | None = None,
    base_ci: Sequence[tuple[float, float] | None] | None = None,
) -> str:
    """Horizontal bars per task: base and fine-tuned scores with their 95% intervals as error
    bars, the target as a dark tick."""
    with matplotlib.rc_context(RC):
        fig = _figure(8.0, 1.2 + 0.6 * len(tasks))
        ax = fig.subplots()
        ys = list(range(len(tasks)))
        h = 0.38 if base is not None else 0.6
        off = h / 2 if base is not None else 0.0

        def bars(
            values: Sequence[float | None],
            ci: Sequence[tuple[float, float] | None] | None,
            dy: float,
            color: str,
            name: str,
        ) -> None:
            vals = [v if v is not None else 0.0 for v in values]
            err = None
            if ci is not None:
                err = [
                    [max(0.0, v - c[0]) if c else 0.0 for v, c in zip(vals, ci, strict=True)],
                    [max(0.0, c[1] - v) if c else 0.0 for v, c in zip(vals, ci, strict=True)],
                ]
            rects = ax.barh([y + dy for y in ys], vals, h, color=color, label=name, xerr=err,
                            error_kw={"elinewidth": 1.0, "capsize": 2.5, "ecolor": "#333333"})  # fmt: skip
            labels = ["n/a" if v is None else f"{v:.3f}" for v in values]
            ax.bar_label(rects, labels=labels, fontsize=7, padding=2)

        if base is not None:
            bars(base, base_ci, -off, "#B0B0B0", "base")
        bars(tuned, tuned_ci, off, PALETTE[0], "fine-tuned")
        for y, t in zip(ys, targets, strict=True):
            if t is not None:
                ax.plot([t, t], [y - 0.45, y + 0.45], color="#C44E52", linewidth=2.2)
        ax.plot([], [], color="#C44E52", linewidth=2.2, label="target")
        ax.set_yticks(ys, [_label(t) for t in tasks])
        ax.invert_yaxis()
        ax.set_xlim(0, 1.12)
        ax.set_xlabel("score (0-1), 95% interval" if tuned_ci is not None else "score (0-1)")
        ax.set_title(title)
        ax.grid(axis="y", visible=False)
        ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        return to_data_uri(fig)


def difference_chart(
    labels: Sequence[str],
    values: Sequence[float],
    intervals: Sequence[tuple[float, float] | None],
    title: str,
) -> str:
    """Fine-tuned minus base per metric: a point with its 95% interval, and the zero line."""
    with matplotlib.rc_context(RC):
        fig = _figure(8.0, 1.2 + 0.45 * len(labels))
        ax = fig.subplots()
        ys = list(range(len(labels)))
        for y, v, ci in zip(ys, values, intervals, strict=True):
            above = ci is not None and ci[0] > 0
            below = ci is not None and ci[1] < 0
            color = PALETTE[2] if above else "#C44E52" if below else "#777777"
            if ci is not None:
                ax.plot([ci[0], ci[1]], [y, y], color=color, linewidth=2.0)
            ax.plot([v], [y], "o", color=color, markersize=5)
        ax.axvline(0.0, color="#333333", linewidth=1.0)
        ax.set_yticks(ys, [_label(x) for x in labels])
        ax.invert_yaxis()
        ax.set_xlabel("fine-tuned minus base, 95% interval (paired over items)")
        ax.set_title(title)
        ax.grid(axis="y", visible=False)
        return to_data_uri(fig)


def count_bars(
    counts: Mapping[str, float],
    title: str,
    max_items: int = 12,
    color: str = PALETTE[2],
    keep_order: bool = False,
) -> str:
    """A horizontal bar per key (largest first unless keep_order; a long tail folded into 'other')."""
    items = list(counts.items())
    if not keep_order:
        items.sort(key=lambda kv: (-kv[1], kv[0]))
    if len(items) > max_items:
        head, tail = items[: max_items - 1], items[max_items - 1 :]
        items = [*head, ("other", sum(v for _, v in tail))]
    with matplotlib.rc_context(RC):
        fig = _figure(4.6, 1.0 + 0.3 * len(items))
        ax = fig.subplots()
        rects = ax.barh(range(len(items)), [v for _, v in items], color=color)
        ax.bar_label(rects, fmt="%g", fontsize=7, padding=2)
        ax.set_yticks(range(len(items)), [_label(k) for k, _ in items])
        ax.invert_yaxis()
        ax.set_title(title)
        ax.grid(axis="y", visible=False)
        ax.margins(x=0.15)
        return to_data_uri(fig)
