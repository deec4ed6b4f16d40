"""The report's evaluation section, from eval/results.json: every score with its 95% interval,
base vs fine-tuned with the difference's interval, the gates' verdicts, and the charts."""

from __future__ import annotations

from typing import Any

from wikikit.report.html import Raw, chart, code, esc, note, table
from wikikit.report.run_view import RunView, stage_banner


def _iv(x: Any) -> dict[str, Any] | None:
    return x if isinstance(x, dict) and "value" in x else None


def _fmt(value: float | None, iv: dict[str, Any] | None, signed: bool = False) -> str:
    if iv is not None:
        value = iv.get("value")
    if value is None:
        return ""
    f = "{:+.4f}" if signed else "{:.4f}"
    text = f.format(value)
    if iv is not None and iv.get("low") is not None and iv.get("high") is not None:
        text += f" [{f.format(iv['low'])}, {f.format(iv['high'])}]"
    elif iv is not None:
        text += " (no interval)"
    return text


def _ci(iv: dict[str, Any] | None) -> tuple[float, float] | None:
    if iv is None or iv.get("low") is None or iv.get("high") is None:
        return None
    return float(iv["low"]), float(iv["high"])


def section_eval(view: RunView) -> Raw:
    from wikikit.report.plots import difference_chart, score_chart
    from wikikit.targets import HEADLINE, TARGETS

    r = view.json("eval/results.json")
    out = [stage_banner(view, "eval", isinstance(r, dict))]
    if not isinstance(r, dict):
        return Raw("".join(out))
    scores = r.get("scores") or {}
    base = r.get("base_scores")
    found = r.get("intervals") or {}
    base_found = r.get("base_intervals") or {}
    diffs = r.get("differences") or {}
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

    def iv(where: dict, t: str, m: str) -> dict[str, Any] | None:
        return _iv((where.get(t) or {}).get(m))

    if tasks:
        labels = [f"{t} ({headline[t]})" for t in tasks]
        tuned_vals = [scores[t].get(headline[t]) for t in tasks]
        base_vals = (
            [(base.get(t) or {}).get(headline[t]) for t in tasks]
            if isinstance(base, dict)
            else None
        )
        tuned_ci = [_ci(iv(found, t, headline[t])) for t in tasks] if found else None
        base_ci = [_ci(iv(base_found, t, headline[t])) for t in tasks] if base_found else None
        out.append(
            chart(
                lambda: score_chart(
                    labels,
                    tuned_vals,
                    base_vals,
                    [target[t] for t in tasks],
                    "Headline score per task (95% interval)",
                    tuned_ci,
                    base_ci,
                ),
                "eval scores against targets",
            )
        )
        d = [(lab, iv(diffs, t, headline[t])) for lab, t in zip(labels, tasks, strict=True)]
        d = [(lab, x) for lab, x in d if x is not None and x.get("value") is not None]
        if d:
            out.append(
                chart(
                    lambda: difference_chart(
                        [lab for lab, _ in d],
                        [float(x["value"]) for _, x in d],
                        [_ci(x) for _, x in d],
                        "Fine-tuned minus base",
                    ),
                    "fine-tuned minus base with 95% intervals",
                )
            )
    rows = []
    for t in tasks:
        for metric in sorted(scores[t], key=lambda k: (k != headline[t], k)):
            value = scores[t][metric]
            here = iv(found, t, metric)
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
                    "" if here is None else str(here.get("n", "")),
                    _fmt(b, iv(base_found, t, metric)),
                    _fmt(value, here),
                    _fmt(None, iv(diffs, t, metric), signed=True),
                    "" if tgt is None else f"> {tgt:.2f}",
                    verdict,
                ]
            )
    if rows:
        out.append(
            table(
                ["task", "metric", "n", "base", "fine-tuned", "difference", "target", ""],
                rows,
                numeric=(2, 3, 4, 5),
            )
        )
        if found:
            out.append(
                note(
                    "[low, high]: 95% percentile-bootstrap interval over the scored items; the "
                    "difference is paired over the items both models were scored on."
                )
            )
    else:
        out.append(note("results.json holds no scores", "empty"))
    if base is None:
        out.append(
            note("no base-model scores (set eval.compare_base: true to see base vs fine-tuned).")
        )
    out.append(_gates(r.get("gates") or {}))
    harness = r.get("harness")
    if isinstance(harness, dict) and harness.get("repos"):
        out.append(_wikis(harness))
    if isinstance(harness, dict) and isinstance(harness.get("benchmark"), dict):
        out.append(_benchmark(harness["benchmark"]))
    for line in r.get("notes") or []:
        out.append(note(str(line)))
    listed = [f"{t}: {HEADLINE[t]} > {v:.2f}" for t, v in TARGETS.items() if t not in tasks]
    if listed:
        out.append(note("targets of tasks not run: " + "; ".join(listed)))
    return Raw("".join(out))


def _gates(gates: dict[str, Any]) -> Raw:
    if not gates.get("required"):
        return Raw("")
    verdicts = gates.get("verdicts")
    if isinstance(verdicts, list) and verdicts:
        items = "".join(
            f'<li><span class="{"good" if v.get("passed") else "error"}">'
            f"{'passed' if v.get('passed') else 'failed'}</span> "
            f"{esc(v.get('gate'))} &ge; {esc(v.get('minimum'))}: {esc(v.get('reason'))}</li>"
            for v in verdicts
            if isinstance(v, dict)
        )
        return Raw(
            f"<p><b>Gates</b> (the interval's lower end must reach the minimum):</p><ul>{items}</ul>"
        )
    missed = gates.get("missed") or []
    if missed:
        return Raw(
            "<p><b>Gates missed:</b></p><ul>"
            + "".join(f"<li>{esc(x)}</li>" for x in missed)
            + "</ul>"
        )
    return note("all gates met", "good")


def _num(value: Any, fmt: str) -> str:
    return "" if value is None else fmt.format(value)


def _wikis(harness: dict[str, Any]) -> Raw:
    """The semanticwiki harness: per model and held-out repository, the wiki the real client
    wrote, what it cost and how it scores (raw answers beside files, wikikit.eval.wiki.raw)."""
    rows = []
    for label, repos in (harness.get("repos") or {}).items():
        for w in repos if isinstance(repos, list) else []:
            s = w.get("scores") or {}
            rows.append(
                [
                    label,
                    w.get("repo", ""),
                    w.get("pages", ""),
                    w.get("calls", ""),
                    _num(s.get("seconds_per_page"), "{:.1f}"),
                    _num(s.get("tokens_per_page"), "{:.0f}"),
                    # the model's own answers (raw, what gates read) beside the client's files
                    *(
                        _num(s.get(prefix + name), "{:.2f}")
                        for name in ("refs_right", "mermaid_valid", "links")
                        for prefix in ("raw_", "")
                    ),
                    _num((w.get("codewikibench") or {}).get("score"), "{:.3f}"),
                    code(w.get("wiki", "")),
                ]
            )
    head = (
        f"<p><b>Wikis the real client wrote</b> (SemanticWiki {esc(harness.get('client', '?'))}, "
        "--full-local, its own prompts and sampling):</p>"
    )
    return Raw(
        head
        + table(
            [
                "model",
                "repo",
                "pages",
                "calls",
                "s/page",
                "tokens/page",
                "refs right raw",
                "refs right files",
                "mermaid raw",
                "mermaid files",
                "links raw",
                "links files",
                "codewikibench",
                "wiki",
            ],
            rows,
            numeric=(2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12),
        )  # fmt: skip
    )


def _benchmark(b: dict[str, Any]) -> Raw:
    """CodeWikiBench over the benchmark (wikikit.eval.codewikibench.report's results.json part):
    each group (overall first, then the language groups) per column with its interval, the
    paired differences, then every repository."""
    columns = [str(c) for c in b.get("columns") or []]
    groups = b.get("groups") or {}
    order = sorted(groups, key=lambda g: (g != "overall", g))
    versus = sorted({c for g in groups.values() for c in (g.get("versus") or {})})
    rows = []
    for name in order:
        g = groups[name]
        cells = [name, g.get("repos", ""), *(_fmt(None, _iv(g.get(c))) for c in columns)]
        cells.append(_fmt(None, _iv(g.get("difference")), signed=True))
        cells += [_fmt(None, _iv((g.get("versus") or {}).get(c)), signed=True) for c in versus]
        rows.append(cells)
    head = ["group", "repos", *columns, "fine-tuned minus base"]
    head += [f"fine-tuned minus {c}" for c in versus]
    per_repo = [
        [r.get("repo", ""), r.get("language", ""), *(_num(r.get(c), "{:.4f}") for c in columns)]
        for r in b.get("repos") or []
        if isinstance(r, dict)
    ]
    paper = ", ".join(f"{k} {100 * v:.2f}%" for k, v in (b.get("paper") or {}).items())
    missing = b.get("not_judged") or []
    return Raw(
        "<p><b>CodeWikiBench</b> per language group and overall (mean over repositories, "
        "[95% bootstrap interval over repositories]; differences paired):</p>"
        + table(head, rows, numeric=tuple(range(1, len(head))))
        + table(["repo", "language", *columns], per_repo, numeric=tuple(range(2, 2 + len(columns))))
        + (note(f"the paper's headline figures, quoted as such: {paper}") if paper else Raw(""))
        + (note("not judged: " + ", ".join(map(str, missing)), "error") if missing else Raw(""))
    )
