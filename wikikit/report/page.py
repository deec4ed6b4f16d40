"""runs/<name>/report.html: one self-contained page about a run, with pictures.

Reads only what the stages wrote (manifest.json, data/quality.json and the split files,
train/metrics.json, eval/results.json, package/package.json) and never fails because a stage
has not run: each section then says "not run yet" (or shows the stage's error). Everything
taken from the run is escaped, since example text and source names are untrusted. Charts are
SVG data URIs (plots.py), styles are inline: the page needs no network.

The page is assembled here from one module per section (overview, data_section, train_section,
eval_section, package_section) and the helpers in html.py and run_view.py.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from wikikit import console
from wikikit.atomic import write_text
from wikikit.errors import InputError
from wikikit.report.data_section import section_data
from wikikit.report.eval_section import section_eval
from wikikit.report.html import esc, guarded
from wikikit.report.overview import section_overview
from wikikit.report.package_section import section_package
from wikikit.report.run_view import RunView
from wikikit.report.train_section import section_train

REPORT_NAME = "report.html"


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
