"""From per-item scores to what results.json and results.md say: intervals, differences, gates.

lm-eval keeps each document's metric values in its samples (`log_samples=True`); a wikikit
metric value is a (hits, total) pair (wikikit.eval.metrics), so every task/metric becomes a list
of items, bootstrapped by wikikit.eval.stats. The same shape serves the wiki harness, whose
items are whole wikis (one per held-out repo).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wikikit.eval.stats import (
    DEFAULT_ITERATIONS,
    GateVerdict,
    Interval,
    Pair,
    bootstrap_ratio,
    gate_verdict,
    paired_difference,
)
from wikikit.targets import HEADLINE, TARGETS

# {task: {metric: {item id: (hits, total)}}}
Items = dict[str, dict[str, dict[Any, Pair]]]
Intervals = dict[str, dict[str, Interval]]


def _pair(value: Any) -> Pair | None:
    if isinstance(value, list | tuple) and len(value) == 2:
        h, t = value
        if isinstance(h, int | float) and isinstance(t, int | float):
            return float(h), float(t)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value), 1.0
    return None


def lm_eval_items(results: Mapping[str, Any], tasks: list[str]) -> Items:
    """Per-document metric pairs from lm-eval's samples, keyed by doc_id."""
    out: Items = {}
    for task in tasks:
        metrics: dict[str, dict[Any, Pair]] = {}
        for sample in (results.get("samples") or {}).get(task, []):
            for key in sample.get("metrics") or []:
                pair = _pair(sample.get(key))
                if pair is not None:
                    metrics.setdefault(key, {})[sample.get("doc_id")] = pair
        out[task] = metrics
    return out


def intervals(items: Items, iterations: int = DEFAULT_ITERATIONS, seed: int = 0) -> Intervals:
    return {
        task: {
            m: bootstrap_ratio(list(by_id.values()), iterations, seed) for m, by_id in ms.items()
        }
        for task, ms in items.items()
    }


def differences(
    base: Items, tuned: Items, iterations: int = DEFAULT_ITERATIONS, seed: int = 0
) -> Intervals:
    """fine-tuned minus base on the items both were scored on (paired)."""
    out: Intervals = {}
    for task, ms in tuned.items():
        for metric, by_id in ms.items():
            other = base.get(task, {}).get(metric, {})
            ids = [i for i in by_id if i in other]
            if ids:
                out.setdefault(task, {})[metric] = paired_difference(
                    [other[i] for i in ids], [by_id[i] for i in ids], iterations, seed
                )
    return out


def check_gates(gates: Mapping[str, float], found: Intervals) -> list[GateVerdict]:
    """One verdict per gate (`task` = its headline metric, or `task/metric`), sorted by gate."""
    verdicts = []
    for key, minimum in sorted(gates.items()):
        task, _, metric = key.partition("/")
        named = metric or HEADLINE.get(task, "")
        metric = gate_metric(task, named)
        hint = f" (is {task} in eval.tasks?)" if task not in found else ""
        label = key if metric == named else f"{key} ({metric})"  # says when it reads raw
        verdicts.append(gate_verdict(label, float(minimum), found.get(task, {}).get(metric), hint))
    return verdicts


# -- gates on the wiki read the model's own answers ------------------------------------------

RAW_GATED_TASK = "semanticwiki"  # wikikit.eval.harness.WIKI_TASK


def gate_metric(task: str, metric: str) -> str:
    """The metric a gate reads: on the wiki task, a file score's raw twin where it has one
    (`semanticwiki/links` gates raw_links, `semanticwiki/mermaid_valid` raw_mermaid_valid;
    wikikit.eval.wiki.raw), since the files show the client's repairs; scores without a twin
    (h1, sections, plan_files, cost) are gated as named."""
    from wikikit.eval.wiki.raw import RAW_RATIOS

    if task == RAW_GATED_TASK and f"raw_{metric}" in RAW_RATIOS:
        return f"raw_{metric}"
    return metric


def missed(verdicts: list[GateVerdict]) -> list[str]:
    return [f"{v.gate}: {v.reason}" for v in verdicts if not v.passed]


def _cell(x: Interval | None) -> str:
    return "" if x is None else x.text(4)


def results_table(
    found: Intervals, base: Intervals | None = None, diff: Intervals | None = None
) -> str:
    """Markdown: one row per task/metric, each value with its 95% interval; base, fine-tuned and
    their difference when there is a base run."""
    head = ["task", "metric", "n"]
    head += ["base", "fine-tuned", "difference"] if base is not None else ["fine-tuned"]
    head.append("target")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for task, metrics in found.items():
        headline = HEADLINE.get(task)
        for metric in sorted(metrics, key=lambda m: (m != headline, m)):
            x = metrics[metric]
            row = [task, f"**{metric}**" if metric == headline else metric, str(x.n)]
            if base is not None:
                row.append(_cell(base.get(task, {}).get(metric)))
            row.append(_cell(x))
            if base is not None:
                d = (diff or {}).get(task, {}).get(metric)
                row.append("" if d is None else _signed(d))
            target = TARGETS.get(task) if metric == headline else None
            row.append(f"> {target:.2f}" if target is not None else "")
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def _signed(d: Interval) -> str:
    if d.value is None:
        return "n/a"
    if d.low is None or d.high is None:
        return f"{d.value:+.4f} (n={d.n}, no interval)"
    return f"{d.value:+.4f} [{d.low:+.4f}, {d.high:+.4f}]"


def gates_markdown(verdicts: list[GateVerdict]) -> str:
    if not verdicts:
        return "- no gates set (eval.gates)\n"
    return "".join(
        f"- {'passed' if v.passed else 'FAILED'}: {v.gate} >= {v.minimum}: {v.reason}\n"
        for v in verdicts
    )


def as_json(found: Intervals) -> dict[str, dict[str, dict[str, Any]]]:
    return {t: {m: x.as_dict() for m, x in ms.items()} for t, ms in found.items()}


def points(found: Intervals) -> dict[str, dict[str, float]]:
    """{task: {metric: value}} (what results.json called `scores` before intervals)."""
    return {
        t: {m: x.value for m, x in ms.items() if x.value is not None} for t, ms in found.items()
    }


# -- the SemanticWiki harness: whole wikis as items (one per held-out repo) --------------------

COST_FIGURES = ("seconds_per_page", "tokens_per_page", "thinking_share", "retries")


def wiki_items(per_repo: Mapping[str, Any], task: str = "semanticwiki") -> Items:
    """{repo: WikiScore} -> items keyed by repo: each share as that wiki's (hits, total), each
    cost figure as (value, 1), so intervals are a bootstrap over repos and a base-vs-fine-tuned
    difference pairs the same repos."""
    metrics: dict[str, dict[Any, Pair]] = {}
    for repo, score in per_repo.items():
        for name, (hits, total) in score.ratios.items():
            if total:
                metrics.setdefault(name, {})[repo] = (float(hits), float(total))
        figures = score.cost.as_dict() if score.cost is not None else {}
        for name in COST_FIGURES:
            if figures.get(name) is not None:
                metrics.setdefault(name, {})[repo] = (float(figures[name]), 1.0)
    return {task: metrics}


def codewikibench_items(summary: Mapping[str, Any], task: str = "codewikibench") -> Items:
    """wikikit.eval.codewikibench.bench.judge_heldout's summary -> items keyed by repo."""
    scores = {
        r["repo"]: (float(r["score"]), 1.0) for r in summary["repos"] if r["score"] is not None
    }
    judged = {
        r["repo"]: (float(r["leaves"] - r["excluded_leaves"]), float(r["leaves"]))
        for r in summary["repos"]
    }
    return {task: {"codewikibench": scores, "judged_leaves": judged}}


def _share(value: Any) -> str:
    return "" if value is None else f"{value:.2f}"


def _figure(value: Any, fmt: str) -> str:
    return "" if value is None else fmt.format(value)


# (what the row says, the raw score, the file score): results.md's raw-beside-files table
RAW_BESIDE_FILES = (
    ("plan kept by the client", "raw_plan_accepted", "plan_parses"),
    ("planned pages written", "raw_pages_planned", None),
    ("requested pages written", "raw_pages_requested", None),
    ("answers cut at the token limit (lower is better)", "raw_truncated", None),
    ("references right", "raw_refs_right", "refs_right"),
    ("references resolving", "raw_refs_resolved", "refs_resolved"),
    ("references precise", "raw_refs_precise", "refs_precise"),
    ("references in the asked 📄 form", "raw_refs_form", None),
    ("components with a reference", "raw_ref_coverage", "ref_coverage"),
    ("Mermaid blocks valid", "raw_mermaid_valid", "mermaid_valid"),
    ("links resolving", "raw_links", "links"),
)


def raw_files_table(repos: Mapping[str, list[Mapping[str, Any]]]) -> str:
    """Markdown: per model and held-out repository, each wiki score counted in the model's own
    answers (raw, before SemanticWiki's retries, rewriting and completeness loop) beside the same
    score of the files the client wrote; gates read the raw column."""
    head = ["model", "repo", "score", "raw answers", "files"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, rows in repos.items():
        for r in rows:
            s = r.get("scores") or {}
            for what, raw, files in RAW_BESIDE_FILES:
                cells = [label, str(r.get("repo")), what, _share(s.get(raw))]
                cells.append(_share(s.get(files)) if files else "")
                lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _deployed(equal: Any) -> str:
    return "?" if equal is None else "yes" if equal else "no"


def wiki_table(repos: Mapping[str, list[Mapping[str, Any]]]) -> str:
    """Markdown: per model and held-out repository, where the wiki is, whether the model was
    asked as deployed (`deployment_equal`: the reason is in the notes), what it cost, its
    scores."""
    head = ["model", "repo", "as deployed", "pages", "calls", "s/page", "tokens/page", "retries",
            "refs right", "mermaid", "links", "h1", "codewikibench", "wiki"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, rows in repos.items():
        for r in rows:
            s = r.get("scores") or {}
            cwb = (r.get("codewikibench") or {}).get("score")
            lines.append(
                "| "
                + " | ".join(
                    [
                        label,
                        str(r.get("repo")),
                        _deployed(r.get("deployment_equal")),
                        str(r.get("pages")),
                        str(r.get("calls")),
                        _figure(s.get("seconds_per_page"), "{:.1f}"),
                        _figure(s.get("tokens_per_page"), "{:.0f}"),
                        _figure(s.get("retries"), "{}"),
                        _share(s.get("refs_right")),
                        _share(s.get("mermaid_valid")),
                        _share(s.get("links")),
                        _share(s.get("h1")),
                        _share(cwb),
                        f"`{r.get('wiki')}`",
                    ]
                )  # fmt: skip
                + " |"
            )
    return "\n".join(lines) + "\n"
