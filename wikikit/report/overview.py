"""The report's overview section: every stage's status, time and summary."""

from __future__ import annotations

from wikikit.report.html import Raw, chart, code, esc, note, table
from wikikit.report.run_view import STAGE_TITLES, RunView, stage_status, status_badge


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
        from wikikit.report.plots import PALETTE, count_bars

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
