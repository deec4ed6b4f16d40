"""The contract between the runner and each stage (data, train, eval, package).

A stage module exposes `run_stage(ctx: StageContext) -> StageResult` and optionally
`plan(ctx: StageContext) -> list[str]` (extra lines for `wikikit run --dry-run`, such as a
cost estimate). A stage writes only under `ctx.out_dir` (with wikikit.atomic) and may keep
state that must survive a killed run (HTTP cache, teacher cache, checkpoints) under
`ctx.cache_dir`. It reads earlier stages' outputs from `ctx.inputs[stage_name]`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wikikit.recipe.load import Recipe

STAGES = ("data", "train", "eval", "package")

# Recipe sections each stage depends on (besides its input stages' fingerprints).
STAGE_SECTIONS = {
    "data": ("seed", "model", "data"),
    "train": ("seed", "model", "train"),
    "eval": ("seed", "model", "eval"),
    "package": ("model", "package"),
}
STAGE_INPUTS = {"data": (), "train": ("data",), "eval": ("train",), "package": ("train",)}
STAGE_MODULES = {
    "data": "wikikit.data.stage",
    "train": "wikikit.train.stage",
    "eval": "wikikit.eval.stage",
    "package": "wikikit.package.stage",
}


@dataclass
class StageContext:
    recipe: Recipe
    stage: str
    run_dir: Path  # runs/<name>/
    out_dir: Path  # runs/<name>/<stage>/
    cache_dir: Path  # runs/<name>/cache/<stage>/ ; survives re-runs of the stage
    inputs: dict[str, Path] = field(default_factory=dict)
    dry_run: bool = False

    @property
    def section(self) -> dict[str, Any]:
        return self.recipe.data.get(self.stage, {})


@dataclass
class StageResult:
    """What a stage reports. `outputs` are paths relative to out_dir that make the stage "intact"."""

    outputs: list[str]
    counts: dict[str, Any] = field(default_factory=dict)
    summary: str = ""
