"""The report's data section: mix planned vs actual, filters and drops, token lengths, breakdowns
and dedup, from data/quality.json and the split files."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from wikikit import console
from wikikit.bounded import iter_jsonl
from wikikit.report.html import Raw, cards, chart, esc, guarded, note, table
from wikikit.report.run_view import RunView, stage_banner

SPLITS = ("train", "validation", "test")


SAMPLE_ROWS = 2000  # rows per split whose tokens are counted (a seeded random sample)


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
        ("Held out, and the DeepWiki crawl", data_holdout),
    ):
        out.append(f"<h3>{esc(title)}</h3>")
        out.append(guarded(lambda part=part: part(view, q)))
    return Raw("".join(out))


def data_mix(view: RunView, q: dict[str, Any]) -> Raw:
    from wikikit.report.plots import grouped_bars

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
            [
                n,
                *[s[i] for s in series.values()],
                sources[n].get("held_out", 0),
                sources[n].get("duplicate_id", 0),
            ]
            for i, n in enumerate(names)
        ]
        out.append(
            table(
                [
                    "source",
                    "generated",
                    "passed filters",
                    "in the dataset",
                    "held out",
                    "duplicate ids",
                ],
                rows,
                numeric=(1, 2, 3, 4, 5),
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
    from wikikit.report.plots import stacked_barh

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
    chosen: list[Any] = []
    n = 0
    for _, row in iter_jsonl(path, skip_bad=True):
        n += 1
        if len(chosen) < limit:
            chosen.append(row)
        else:
            j = rng.randrange(n)
            if j < limit:
                chosen[j] = row
    lengths = []
    for row in console.progress(chosen, f"report: tokens in {path.name}"):
        text = row.get("text") if isinstance(row, dict) else None
        if isinstance(text, str):
            lengths.append(count_tokens(text))
    return lengths, n


def _percentile(sorted_values: list[int], p: float) -> int:
    return sorted_values[min(len(sorted_values) - 1, int(p * len(sorted_values)))]


def data_lengths(view: RunView, q: dict[str, Any]) -> Raw:
    from wikikit.report.plots import histograms

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
    from wikikit.report.plots import count_bars

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
    from wikikit.report.plots import PALETTE, count_bars

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
            bench = dc.get("benchmark") if isinstance(dc.get("benchmark"), dict) else {}
            if bench.get("rows"):
                per = bench.get("dropped") or {}
                out.append(
                    note(
                        f"Against the held-out benchmark rows' documentation ({bench['rows']} "
                        f"row(s)): {sum(per.values())} example(s) dropped"
                        + (": " + ", ".join(f"{k} {v}" for k, v in per.items()) if per else "")
                        + "."
                    )
                )
        else:
            out.append(note("Decontamination is off (data.decontaminate.enabled: false)."))
    return Raw("".join(out))


MAX_CRAWL_ROWS = 50


def data_holdout(view: RunView, q: dict[str, Any]) -> Raw:
    """data.holdout (what each source dropped or skipped) and each DeepWiki source's crawl."""
    out = []
    held = q.get("holdout") if isinstance(q.get("holdout"), dict) else {}
    if held.get("repos"):
        expanded = held.get("held_out_repos") or []
        out.append(
            note(
                "held out of every source: "
                + ", ".join(map(str, held["repos"]))
                + (
                    f" ({len(expanded)} repositories: {', '.join(map(str, expanded))})"
                    if expanded
                    else ""
                )
            )
        )
        dropped = held.get("examples_dropped") or {}
        skipped = held.get("repos_skipped") or {}
        rows = [
            [n, dropped.get(n, 0), skipped.get(n, 0)] for n in sorted(set(dropped) | set(skipped))
        ]
        out.append(table(["source", "examples dropped", "repos skipped"], rows, numeric=(1, 2)))
    else:
        out.append(note("no data.holdout: nothing held out", "empty"))
    folder = view.run_dir / "data" / "deepwiki"
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        crawl = view.json(f"data/deepwiki/{path.name}")
        if not isinstance(crawl, dict):
            continue
        summary = crawl.get("summary") or {}
        repos = [r for r in crawl.get("repos") or [] if isinstance(r, dict)]
        out.append(f"<h4>DeepWiki source {esc(path.stem)}</h4>")
        n = summary.get("repos") or 0
        out.append(
            cards(
                [
                    ("repositories", n),
                    *[(str(k), v) for k, v in (summary.get("by_status") or {}).items()],
                    ("held out", summary.get("held_out")),
                    ("pages", summary.get("pages")),
                    ("requests", summary.get("requests")),
                    ("requests / repo", round(summary.get("requests", 0) / n, 2) if n else None),
                ]
            )
        )
        if summary.get("stopped"):
            out.append(note(f"stopped early: {summary['stopped']}", "error"))
        unusual = [r for r in repos if r.get("status") != "fetched"]
        rows = [
            [r.get("repo"), r.get("status"), r.get("reason", "")] for r in unusual[:MAX_CRAWL_ROWS]
        ]
        if rows:
            out.append(table(["repository", "status", "reason"], rows))
        if len(unusual) > MAX_CRAWL_ROWS:
            out.append(
                note(f"... and {len(unusual) - MAX_CRAWL_ROWS} more in data/deepwiki/{path.name}")
            )
    return Raw("".join(out))
