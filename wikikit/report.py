"""runs/<name>/report.html: one self-contained page about a run, with pictures.

Reads only what the stages wrote (manifest.json, data/quality.json and the split files,
train/metrics.json, eval/results.json, package/package.json) and never fails because a stage
has not run: each section then says "not run yet" (or shows the stage's error). Everything
taken from the run is escaped, since example text and source names are untrusted. Charts are
SVG data URIs (wikikit.report_plots), styles are inline: the page needs no network.
"""

from __future__ import annotations

import datetime
import html
import json
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wikikit import console
from wikikit.atomic import write_text
from wikikit.errors import InputError

REPORT_NAME = "report.html"
SPLITS = ("train", "validation", "test")
SAMPLE_ROWS = 2000  # rows per split whose tokens are counted (a seeded random sample)
STAGE_TITLES = {"data": "Data", "train": "Training", "eval": "Evaluation", "package": "Package"}


class Raw(str):
    """HTML built here (already escaped); every other string is escaped when emitted."""


def esc(value: Any) -> str:
    if isinstance(value, Raw):
        return value
    return html.escape(str(value), quote=True)


def fmt_num(value: Any, digits: int = 4) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.{digits}g}"
    return str(value)


def fmt_bytes(n: Any) -> str:
    if not isinstance(n, int | float):
        return ""
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return str(n)


def table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Sequence[int] = ()
) -> Raw:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, c in enumerate(row):
            cls = ' class="num"' if i in numeric else ""
            cells.append(f"<td{cls}>{esc(c if isinstance(c, Raw) else fmt_num(c))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not body:
        return Raw("")
    thead = f"<thead><tr>{head}</tr></thead>" if any(headers) else ""
    return Raw(f"<table>{thead}<tbody>{''.join(body)}</tbody></table>")


def chart(make: Callable[[], str], alt: str) -> Raw:
    """A chart as an <img>; a chart that cannot be drawn becomes a note, not a broken page."""
    try:
        uri = make()
    except Exception as exc:  # a plotting bug must not cost the user the whole report
        return note(f"chart unavailable ({type(exc).__name__}: {exc})")
    return Raw(f'<figure><img alt="{esc(alt)}" src="{esc(uri)}"></figure>')


def note(text: str, kind: str = "muted") -> Raw:
    return Raw(f'<p class="{kind}">{esc(text)}</p>')


def cards(items: Sequence[tuple[str, Any]]) -> Raw:
    parts = [
        f'<div class="card"><div class="v">{esc(fmt_num(v))}</div><div class="k">{esc(k)}</div></div>'
        for k, v in items
        if v is not None
    ]
    return Raw(f'<div class="cards">{"".join(parts)}</div>')


def code(text: Any) -> Raw:
    return Raw(f"<code>{esc(text)}</code>")


@dataclass
class RunView:
    """A run directory as the report sees it; unreadable files are recorded, not raised."""

    run_dir: Path
    manifest: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, run_dir: Path) -> RunView:
        view = cls(run_dir)
        view.manifest = view.json("manifest.json") or {}
        return view

    def json(self, rel: str) -> Any:
        path = self.run_dir / rel
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            self.problems.append(f"{rel}: unreadable ({exc})")
            return None

    def stage(self, name: str) -> dict[str, Any]:
        stages = self.manifest.get("stages")
        entry = stages.get(name) if isinstance(stages, dict) else None
        return entry if isinstance(entry, dict) else {}


def stage_status(view: RunView, name: str) -> str:
    """done | failed | running | not implemented | not run yet."""
    status = view.stage(name).get("status")
    return str(status) if status else "not run yet"


def status_badge(status: str) -> Raw:
    kind = {"done": "ok", "failed": "bad", "running": "warn"}.get(status, "idle")
    return Raw(f'<span class="badge {kind}">{esc(status)}</span>')


def stage_banner(view: RunView, name: str, have_outputs: bool) -> Raw:
    """The line under a section title: how the stage went, or that it has not run."""
    entry = view.stage(name)
    status = stage_status(view, name)
    if status == "not run yet" and have_outputs:
        status = "outputs present, not in manifest.json"
    parts = [status_badge(status)]
    if entry.get("seconds") is not None:
        parts.append(esc(f"{fmt_num(float(entry['seconds']), 3)} s"))
    if entry.get("started"):
        parts.append(esc(f"started {entry['started']}"))
    if entry.get("summary"):
        parts.append(esc(entry["summary"]))
    line = Raw('<p class="banner">' + " · ".join(parts) + "</p>")
    if entry.get("error"):
        line = Raw(line + note(f"error: {entry['error']}", "error"))
    if status == "running":
        line = Raw(
            line
            + note("the stage was running when this report was written (or it was interrupted)")
        )
    if not have_outputs:
        msg = "not run yet" if status == "not run yet" else "no outputs from this stage"
        line = Raw(line + note(f"{msg}: nothing to show here.", "empty"))
    return line


# ---------------------------------------------------------------- sections


def section_overview(view: RunView) -> Raw:
    m = view.manifest
    rows = []
    for name, title in STAGE_TITLES.items():
        e = view.stage(name)
        rows.append(
            [
                title,
                status_badge(stage_status(view, name)),
                "" if e.get("seconds") is None else f"{float(e['seconds']):.1f}",
                e.get("started", ""),
                e.get("summary") or e.get("error") or "",
            ]
        )
    out = [
        "<p>"
        + esc(f"Run directory {view.run_dir.resolve()}")
        + (esc(f" · recipe {m['recipe']}") if m.get("recipe") else "")
        + (
            Raw(" · fingerprint ") + code(str(m["recipe_fingerprint"])[:16])
            if m.get("recipe_fingerprint")
            else ""
        )
        + "</p>",
        table(["stage", "status", "seconds", "started", "summary"], rows, numeric=(2,)),
    ]
    if not m:
        out.append(
            note("no manifest.json: this folder has not been used by `wikikit run` yet.", "empty")
        )
    timed = {
        STAGE_TITLES[n]: float(view.stage(n)["seconds"])
        for n in STAGE_TITLES
        if view.stage(n).get("seconds") is not None
    }
    if timed:
        from wikikit.report_plots import PALETTE, count_bars

        out.append(
            chart(
                lambda: count_bars(timed, "Seconds per stage", color=PALETTE[0], keep_order=True),
                "seconds per stage",
            )
        )
    versions = m.get("versions")
    if isinstance(versions, dict) and versions:
        out.append("<details><summary>Tool versions</summary>")
        out.append(table(["package", "version"], sorted(versions.items())))
        out.append("</details>")
    return Raw("".join(out))


def section_data(view: RunView) -> Raw:
    q = view.json("data/quality.json")
    have = isinstance(q, dict) or any(
        (view.run_dir / "data" / f"{s}.jsonl").is_file() for s in SPLITS
    )
    out = [stage_banner(view, "data", have)]
    if not have:
        return Raw("".join(out))
    q = q if isinstance(q, dict) else {}
    counts = view.stage("data").get("counts") or {}
    out.append(
        cards(
            [
                ("generated", counts.get("generated")),
                ("passed filters", counts.get("after_filters")),
                ("after dedup", counts.get("after_dedup")),
                ("mixed", counts.get("mixed")),
                ("decontaminated (dropped)", counts.get("decontaminated")),
                *[(s, counts.get(s)) for s in SPLITS],
            ]
        )
    )
    for title, part in (
        ("Mix: planned vs actual", data_mix),
        ("Filters: why examples were dropped", data_filters),
        ("Lengths (tokens) per split", data_lengths),
        ("Languages and categories", data_breakdowns),
        ("Dedup and decontamination", data_dedup),
    ):
        out.append(f"<h3>{esc(title)}</h3>")
        out.append(guarded(lambda part=part: part(view, q)))
    return Raw("".join(out))


def data_mix(view: RunView, q: dict[str, Any]) -> Raw:
    from wikikit.report_plots import grouped_bars

    mixr = q.get("mix")
    out = []
    if isinstance(mixr, dict) and mixr.get("planned"):
        buckets = list(mixr["planned"])
        series = {
            k: [mixr.get(k, {}).get(b, 0) for b in buckets]
            for k in ("planned", "available", "actual")
        }
        out.append(
            chart(
                lambda: grouped_bars(buckets, series, "Examples per bucket"), "examples per bucket"
            )
        )
        rows = [
            [
                b,
                mixr.get("weights", {}).get(b, ""),
                *[s[i] for s in series.values()],
                mixr.get("shortfalls", {}).get(b, 0),
            ]
            for i, b in enumerate(buckets)
        ]
        out.append(
            table(
                ["bucket", "weight", "planned", "available", "actual", "short by"],
                rows,
                numeric=(1, 2, 3, 4, 5),
            )
        )
        size = mixr.get("size")
        out.append(
            note(f"requested size: {size}" if size else "no data.size: every example was taken")
        )
    else:
        out.append(note("no mix information in quality.json", "empty"))
    sources = q.get("sources")
    if isinstance(sources, dict) and sources:
        names = list(sources)
        final = {
            n: sum((q.get("splits", {}).get(s, {}).get("source") or {}).get(n, 0) for s in SPLITS)
            for n in names
        }
        series = {
            "generated": [sources[n].get("generated", 0) for n in names],
            "passed filters": [sources[n].get("kept", 0) for n in names],
            "in the dataset": [final[n] for n in names],
        }
        out.append(
            chart(lambda: grouped_bars(names, series, "Examples per source"), "examples per source")
        )
        rows = [
            [n, *[s[i] for s in series.values()], sources[n].get("duplicate_id", 0)]
            for i, n in enumerate(names)
        ]
        out.append(
            table(
                ["source", "generated", "passed filters", "in the dataset", "duplicate ids"],
                rows,
                numeric=(1, 2, 3, 4),
            )
        )
    stats = q.get("source_stats")
    if isinstance(stats, dict) and stats:
        out.append("<details><summary>What each source counted</summary>")
        for n, c in stats.items():
            if isinstance(c, dict):
                out.append(
                    f"<h4>{esc(n)}</h4>"
                    + table(["counter", "value"], sorted(c.items()), numeric=(1,))
                )
        out.append("</details>")
    return Raw("".join(out))


def data_filters(view: RunView, q: dict[str, Any]) -> Raw:
    from wikikit.report_plots import stacked_barh

    filters = q.get("filters")
    if not isinstance(filters, dict) or not filters:
        return note("no filter counts in quality.json", "empty")
    drops: dict[str, dict[str, int]] = {}  # source -> "filter: reason" -> n
    for fname, entry in filters.items():
        for source, reasons in (entry.get("dropped") or {}).items():
            for reason, n in reasons.items():
                drops.setdefault(source, {})[f"{fname}: {reason}"] = int(n)
    out = []
    if drops:
        sources = sorted(drops)
        reasons = sorted(
            {r for d in drops.values() for r in d},
            key=lambda r: -sum(d.get(r, 0) for d in drops.values()),
        )
        segments = {r: [drops[s].get(r, 0) for s in sources] for r in reasons}
        out.append(
            chart(
                lambda: stacked_barh(
                    sources, segments, "Dropped examples per source, by reason", "examples dropped"
                ),
                "filter drops per source",
            )
        )
        rows = [
            [s, r, drops[s][r]]
            for s in sources
            for r in sorted(drops[s], key=lambda r: -drops[s][r])
        ]
        out.append(table(["source", "filter: reason", "dropped"], rows, numeric=(2,)))
    else:
        out.append(note("no filter dropped anything."))
    rows = []
    for fname, entry in filters.items():
        noted = ", ".join(f"{k} {v}" for k, v in (entry.get("noted") or {}).items())
        dropped = sum(int(n) for r in (entry.get("dropped") or {}).values() for n in r.values())
        rows.append(
            [fname, entry.get("status", ""), dropped, noted, entry.get("unavailable_reason", "")]
        )
    out.append(
        table(["filter", "status", "dropped", "noted", "unavailable because"], rows, numeric=(2,))
    )
    return Raw("".join(out))


def sample_token_lengths(
    path: Path, limit: int = SAMPLE_ROWS, seed: int = 0
) -> tuple[list[int], int]:
    """Token counts of the `text` of up to `limit` rows (reservoir sample); (counts, rows seen)."""
    from wikikit.tokens import count_tokens

    rng = random.Random(f"{seed}:{path.name}")
    chosen: list[str] = []
    n = 0
    with path.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            n += 1
            if len(chosen) < limit:
                chosen.append(line)
            else:
                j = rng.randrange(n)
                if j < limit:
                    chosen[j] = line
    lengths = []
    for line in console.progress(chosen, f"report: tokens in {path.name}"):
        try:
            text = json.loads(line).get("text")
        except (ValueError, AttributeError):
            continue
        if isinstance(text, str):
            lengths.append(count_tokens(text))
    return lengths, n


def _percentile(sorted_values: list[int], p: float) -> int:
    return sorted_values[min(len(sorted_values) - 1, int(p * len(sorted_values)))]


def data_lengths(view: RunView, q: dict[str, Any]) -> Raw:
    from wikikit.report_plots import histograms

    samples: dict[str, list[int]] = {}
    rows = []
    for split in SPLITS:
        path = view.run_dir / "data" / f"{split}.jsonl"
        if not path.is_file():
            continue
        lengths, n = sample_token_lengths(path)
        if not lengths:
            rows.append([split, n, 0, "", "", "", "", ""])
            continue
        samples[split] = lengths
        s = sorted(lengths)
        rows.append(
            [
                split,
                n,
                len(s),
                s[0],
                _percentile(s, 0.5),
                round(sum(s) / len(s), 1),
                _percentile(s, 0.95),
                s[-1],
            ]
        )
    if not rows:
        return note("no split files (train/validation/test.jsonl)", "empty")
    out = []
    if samples:
        out.append(
            chart(
                lambda: histograms(samples, "Rendered example length", "tokens (o200k)"),
                "token length histogram per split",
            )
        )
    out.append(
        table(
            ["split", "rows", "sampled", "min", "median", "mean", "p95", "max"],
            rows,
            numeric=range(1, 8),
        )
    )
    out.append(
        note(
            f"Tokens of each row's rendered `text` with the gpt-oss tokenizer; at most {SAMPLE_ROWS} rows per split are counted."
        )
    )
    return Raw("".join(out))


def data_breakdowns(view: RunView, q: dict[str, Any]) -> Raw:
    from wikikit.report_plots import count_bars

    splits = q.get("splits")
    if not isinstance(splits, dict) or not splits:
        return note("no split statistics in quality.json", "empty")
    out = []
    for fld in ("language", "category", "source"):
        total: dict[str, int] = {}
        for s in SPLITS:
            for k, v in ((splits.get(s) or {}).get(fld) or {}).items():
                total[str(k)] = total.get(str(k), 0) + int(v)
        if not total:
            continue
        out.append('<div class="split">')
        out.append(
            chart(
                lambda fld=fld, total=total: count_bars(total, f"Examples by {fld} (all splits)"),
                f"examples by {fld}",
            )
        )
        keys = sorted(total, key=lambda k: -total[k])
        rows = [
            [k, *[((splits.get(s) or {}).get(fld) or {}).get(k, 0) for s in SPLITS]] for k in keys
        ]
        out.append(
            Raw(
                '<div class="tablebox">' + table([fld, *SPLITS], rows, numeric=(1, 2, 3)) + "</div>"
            )
        )
        out.append("</div>")
    return Raw("".join(out)) if out else note("no breakdowns recorded", "empty")


def data_dedup(view: RunView, q: dict[str, Any]) -> Raw:
    from wikikit.report_plots import PALETTE, count_bars

    out = []
    dd = q.get("dedup")
    if isinstance(dd, dict):
        out.append(
            cards(
                [
                    ("exact duplicates removed", dd.get("exact_removed")),
                    ("near duplicates removed", dd.get("near_removed")),
                    ("clusters", dd.get("clusters")),
                    ("kept", dd.get("kept")),
                ]
            )
        )
        out.append(
            note(
                f"method {dd.get('method', '?')}, threshold {dd.get('threshold', '?')}, num_perm {dd.get('num_perm', '?')}, shingle {dd.get('shingle', '?')}"
            )
        )
        sizes = dd.get("cluster_sizes") or {}
        if sizes:
            keys = sorted(sizes, key=int)
            out.append(
                chart(
                    lambda: count_bars(
                        {f"{k} copies": sizes[k] for k in keys},
                        "Duplicate clusters by size (clusters)",
                        color=PALETTE[3],
                        keep_order=True,
                    ),
                    "duplicate cluster sizes",
                )
            )
        largest = dd.get("largest_clusters") or []
        if largest:
            rows = [
                [
                    c.get("kept", ""),
                    len(c.get("removed") or []),
                    ", ".join(map(str, (c.get("removed") or [])[:8])),
                ]
                for c in largest[:10]
            ]
            out.append("<details><summary>Largest clusters (example ids)</summary>")
            out.append(table(["kept", "removed", "removed ids"], rows, numeric=(1,)))
            out.append("</details>")
    else:
        out.append(note("no dedup information in quality.json", "empty"))
    dc = q.get("decontaminate")
    if isinstance(dc, dict):
        if dc.get("enabled", True):
            out.append(
                note(
                    f"Decontamination ({dc.get('ngram', '?')}-grams, threshold {dc.get('threshold', '?')}) dropped {dc.get('dropped', 0)} training example(s) that overlap validation, test or the eval tasks."
                )
            )
        else:
            out.append(note("Decontamination is off (data.decontaminate.enabled: false)."))
    return Raw("".join(out))


def section_train(view: RunView) -> Raw:
    from wikikit.report_plots import line_chart

    m = view.json("train/metrics.json")
    out = [stage_banner(view, "train", isinstance(m, dict))]
    if not isinstance(m, dict):
        return Raw("".join(out))
    tps = m.get("tokens_per_second")
    out.append(
        cards(
            [
                ("steps", m.get("steps")),
                ("final loss", m.get("final_loss")),
                ("train loss (mean)", m.get("train_loss")),
                ("eval loss", m.get("eval_loss")),
                ("tokens/s", round(tps) if isinstance(tps, int | float) else None),
                ("training wall time (s)", m.get("train_wall_s")),
                ("stage wall time (s)", m.get("wall_time_s")),
            ]
        )
    )
    curve = [
        p
        for p in m.get("loss_curve") or []
        if isinstance(p, dict) and isinstance(p.get("loss"), int | float)
    ]
    if curve:
        steps = [p.get("step", i + 1) for i, p in enumerate(curve)]
        losses = [p["loss"] for p in curve]
        rate = [
            (p.get("step", i + 1), p.get("tokens_per_second", p.get("tokens_per_second_per_gpu")))
            for i, p in enumerate(curve)
        ]
        rate = [(s, r) for s, r in rate if isinstance(r, int | float)]
        extra = ([s for s, _ in rate], [r for _, r in rate], "tokens/s") if rate else None
        out.append(
            chart(
                lambda: line_chart(steps, losses, "Training loss", "step", "loss", extra),
                "training loss curve",
            )
        )
    else:
        out.append(note("no loss curve recorded", "empty"))
    rows = [
        ["base model", m.get("base_model", "")],
        ["adapter", m.get("adapter") or ""],
        ["merged model", m.get("merged") or "not merged"],
        ["resumed from a checkpoint", "yes" if m.get("resumed") else "no"],
        ["Trainer runtime (s)", m.get("train_runtime_s")],
    ]
    out.append(table(["", ""], rows))
    return Raw("".join(out))


def section_eval(view: RunView) -> Raw:
    from wikikit.evaluate import HEADLINE, TARGETS
    from wikikit.report_plots import score_chart

    r = view.json("eval/results.json")
    out = [stage_banner(view, "eval", isinstance(r, dict))]
    if not isinstance(r, dict):
        return Raw("".join(out))
    scores = r.get("scores") or {}
    base = r.get("base_scores")
    targets = r.get("targets") or {}
    model = r.get("model") or {}
    if model:
        out.append(
            note(
                f"model: {model.get('backend', '?')} {model.get('location', '')}"
                + (f" ({model['name']})" if model.get("name") else "")
            )
        )
    tasks = list(scores)
    # results.json names each task's headline metric and target; older files may not.
    headline = {
        t: (targets.get(t) or {}).get("metric") or HEADLINE.get(t) or next(iter(scores[t]), "")
        for t in tasks
    }
    target = {t: (targets.get(t) or {}).get("target", TARGETS.get(t)) for t in tasks}
    if tasks:
        tuned_vals = [scores[t].get(headline[t]) for t in tasks]
        base_vals = (
            [(base.get(t) or {}).get(headline[t]) for t in tasks]
            if isinstance(base, dict)
            else None
        )
        labels = [f"{t} ({headline[t]})" for t in tasks]
        out.append(
            chart(
                lambda: score_chart(
                    labels,
                    tuned_vals,
                    base_vals,
                    [target[t] for t in tasks],
                    "Headline score per task",
                ),
                "eval scores against targets",
            )
        )
    rows = []
    for t in tasks:
        for metric in sorted(scores[t], key=lambda k: (k != headline[t], k)):
            value = scores[t][metric]
            b = (base.get(t) or {}).get(metric) if isinstance(base, dict) else None
            tgt = target[t] if metric == headline[t] else None
            verdict: Any = ""
            if tgt is not None and value is not None:
                ok = value > tgt
                verdict = Raw(
                    f'<span class="{"good" if ok else "error"}">'
                    f"{'meets target' if ok else 'below target'}</span>"
                )
            rows.append(
                [
                    t,
                    metric,
                    "" if b is None else f"{b:.4f}",
                    f"{value:.4f}",
                    "" if tgt is None else f"> {tgt:.2f}",
                    verdict,
                ]
            )
    if rows:
        out.append(
            table(["task", "metric", "base", "fine-tuned", "target", ""], rows, numeric=(2, 3))
        )
    else:
        out.append(note("results.json holds no scores", "empty"))
    if base is None:
        out.append(
            note("no base-model scores (set eval.compare_base: true to see base vs fine-tuned).")
        )
    gates = r.get("gates") or {}
    if gates.get("required"):
        missed = gates.get("missed") or []
        if missed:
            out.append(
                Raw(
                    "<p><b>Gates missed:</b></p><ul>"
                    + "".join(f"<li>{esc(x)}</li>" for x in missed)
                    + "</ul>"
                )
            )
        else:
            out.append(note("all gates met", "good"))
    listed = [f"{t}: {HEADLINE[t]} > {v:.2f}" for t, v in TARGETS.items() if t not in tasks]
    if listed:
        out.append(note("targets of tasks not run: " + "; ".join(listed)))
    return Raw("".join(out))


def section_package(view: RunView) -> Raw:
    p = view.json("package/package.json")
    entry = view.stage("package")
    files = entry.get("outputs") if isinstance(entry.get("outputs"), dict) else {}
    out = [stage_banner(view, "package", isinstance(p, dict) or bool(files))]
    if isinstance(p, dict):
        g = p.get("gguf") or {}
        mf = p.get("modelfile") or {}
        times = p.get("times") or {}
        out.append(
            cards(
                [
                    ("GGUF size", fmt_bytes(g.get("bytes"))),
                    ("type", g.get("quantize") or g.get("outtype")),
                    ("convert (s)", times.get("convert_s")),
                    ("total (s)", times.get("total_s")),
                ]
            )
        )
        rows = []
        if g:
            rows.append(
                [g.get("file", "model.gguf"), fmt_bytes(g.get("bytes")), code(g.get("sha256", ""))]
            )
        if mf:
            rows.append([mf.get("file", "Modelfile"), "", code(mf.get("sha256", ""))])
        if rows:
            out.append(table(["artefact", "size", "sha256"], rows, numeric=(1,)))
        ver = p.get("verification") or {}
        meta = ver.get("metadata") or {}
        greedy = ver.get("greedy")
        vrows = []
        if meta:
            vrows += [
                ["architecture", meta.get("architecture", "")],
                ["tensors", meta.get("tensor_count", "")],
                [
                    "tokenizer",
                    f"{meta.get('tokenizer_model', '')} / {meta.get('tokenizer_pre', '')}",
                ],
            ]
        if isinstance(greedy, dict):
            vrows.append(
                [
                    "greedy tokens, llama.cpp vs transformers",
                    f"{greedy.get('agreed_prefix', '?')} agreed ({greedy.get('required', '?')} required): {'ok' if greedy.get('ok') else 'MISMATCH'}",
                ]
            )
        elif greedy:
            vrows.append(["greedy check", greedy])
        if vrows:
            out.append("<h3>Verification</h3>" + table(["check", "result"], vrows))
        ol = p.get("ollama") or {}
        if ol:
            out.append("<h3>Ollama</h3>")
            if ol.get("created"):
                out.append(
                    note(
                        f"created {ol.get('name', '')} at {ol.get('host', '')} (digest {ol.get('digest', '')})",
                        "good",
                    )
                )
            else:
                out.append(
                    note(
                        f"not created in Ollama: {ol.get('unreachable') or 'package.ollama.create is off'}"
                    )
                )
            if ol.get("commands"):
                out.append(
                    "<p>To finish by hand:</p><pre>"
                    + esc("\n".join(map(str, ol["commands"])))
                    + "</pre>"
                )
    if files:
        out.append("<h3>Files (from manifest.json)</h3>")
        rows = [
            [
                rel,
                fmt_bytes(rec.get("size")),
                code(rec.get("sha256", "(not hashed: large file, size checked)")),
            ]
            for rel, rec in sorted(files.items())
        ]
        out.append(table(["file", "size", "sha256"], rows, numeric=(1,)))
    return Raw("".join(out))


def guarded(make: Callable[[], Raw]) -> Raw:
    """A section that raises (odd or hand-edited files) becomes a visible note."""
    try:
        return make()
    except Exception as exc:
        console.warn(f"report: a section could not be rendered: {type(exc).__name__}: {exc}")
        return note(f"this part could not be rendered ({type(exc).__name__}: {exc})", "error")


CSS = """
body{font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;color:#1d2733;background:#f4f6f8}
header{background:#1f3a5f;color:#fff;padding:18px 32px}
header h1{margin:0;font-size:22px} header p{margin:4px 0 0;opacity:.85}
nav{background:#fff;border-bottom:1px solid #dde3ea;padding:8px 32px;position:sticky;top:0}
nav a{margin-right:18px;color:#1f3a5f;text-decoration:none;font-weight:600}
main{max-width:1120px;margin:0 auto;padding:8px 24px 48px}
section{background:#fff;border:1px solid #dde3ea;border-radius:8px;padding:8px 22px 18px;margin:18px 0}
h2{font-size:19px;border-bottom:2px solid #e8edf2;padding-bottom:6px} h3{font-size:15px;margin-top:22px} h4{margin:10px 0 4px}
table{border-collapse:collapse;margin:8px 0;font-size:13px;max-width:100%}
th,td{border-bottom:1px solid #e5e9ee;padding:4px 10px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f0f3f6} td.num{text-align:right;font-variant-numeric:tabular-nums}
code{font:12px ui-monospace,Menlo,Consolas,monospace;background:#f0f3f6;padding:1px 4px;border-radius:3px;overflow-wrap:anywhere}
pre{background:#f0f3f6;padding:8px;overflow-x:auto}
figure{margin:8px 0} figure img{max-width:100%;height:auto}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:10px 0}
.card{border:1px solid #dde3ea;border-radius:6px;padding:6px 14px;min-width:96px;background:#fafbfc}
.card .v{font-size:18px;font-weight:700} .card .k{font-size:12px;color:#5b6b7c}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600}
.badge.ok{background:#dff3e4;color:#1e6b34} .badge.bad{background:#fbe1e1;color:#a12727}
.badge.warn{background:#fff1d6;color:#8a5a00} .badge.idle{background:#eceff3;color:#5b6b7c}
.muted{color:#5b6b7c} .empty{color:#5b6b7c;font-style:italic} .error{color:#a12727} .good{color:#1e6b34}
.banner{margin:6px 0}
.split{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start} .split figure{flex:0 1 460px}
.tablebox{flex:1 1 300px;overflow-x:auto}
details{margin:8px 0} summary{cursor:pointer;color:#1f3a5f}
"""


def render_report(run_dir: Path) -> str:
    """The whole page as a string."""
    view = RunView.load(run_dir)
    name = view.manifest.get("recipe") or run_dir.resolve().name
    sections = [
        ("overview", "Overview", lambda: section_overview(view)),
        ("data", "Data", lambda: section_data(view)),
        ("train", "Training", lambda: section_train(view)),
        ("eval", "Evaluation", lambda: section_eval(view)),
        ("package", "Package", lambda: section_package(view)),
    ]
    body = [
        f'<section id="{sid}"><h2>{esc(title)}</h2>{guarded(make)}</section>'
        for sid, title, make in sections
    ]
    if view.problems:
        body.append(
            '<section id="problems"><h2>Problems reading the run</h2><ul>'
            + "".join(f"<li>{esc(p)}</li>" for p in view.problems)
            + "</ul></section>"
        )
    nav = "".join(f'<a href="#{sid}">{esc(title)}</a>' for sid, title, _ in sections)
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{esc(f'wikikit run report: {name}')}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{esc(f'wikikit run: {name}')}</h1><p>{esc(f'report written {when}')}</p></header>"
        f"<nav>{nav}</nav><main>{''.join(body)}</main></body></html>\n"
    )


def write_report(run_dir: Path) -> Path:
    """Write RUN_DIR/report.html (atomically) and return its path."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: no such run directory")
    path = run_dir / REPORT_NAME
    write_text(path, render_report(run_dir))
    return path


def try_write_report(run_dir: Path) -> Path | None:
    """write_report for the end of `wikikit run`: a report problem never fails the run."""
    try:
        path = write_report(run_dir)
    except Exception as exc:  # the run's own outcome matters more than its report
        console.warn(f"could not write {Path(run_dir) / REPORT_NAME}: {exc}")
        return None
    console.info(f"report: {path}")
    return path
