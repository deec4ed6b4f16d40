"""A run directory as the report reads it (manifest and stage outputs; unreadable files are
recorded, not raised) and each stage's status banner."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wikikit.report.html import Raw, esc, fmt_num, note

STAGE_TITLES = {"data": "Data", "train": "Training", "eval": "Evaluation", "package": "Package"}


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
