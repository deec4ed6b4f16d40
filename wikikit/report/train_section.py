"""The report's training section: steps, loss curve and throughput from train/metrics.json."""

from __future__ import annotations

from wikikit.report.html import Raw, cards, chart, note, table
from wikikit.report.run_view import RunView, stage_banner


def section_train(view: RunView) -> Raw:
    from wikikit.report.plots import line_chart

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
