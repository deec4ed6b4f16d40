"""The report's evaluation section: scores against targets, base vs fine-tuned, gates, from
eval/results.json."""

from __future__ import annotations

from typing import Any

from wikikit.report.html import Raw, chart, esc, note, table
from wikikit.report.run_view import RunView, stage_banner


def section_eval(view: RunView) -> Raw:
    from wikikit.report.plots import score_chart
    from wikikit.targets import HEADLINE, TARGETS

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
