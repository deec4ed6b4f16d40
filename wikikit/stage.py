"""The contract between the runner and each stage (data, train, package, eval).

A stage module exposes `run_stage(ctx: StageContext) -> StageResult` and optionally
`plan(ctx: StageContext) -> list[str]` (extra lines for `wikikit run --dry-run`, such as a
cost estimate) and `inputs(section) -> tuple[str, ...]` (the earlier stages it reads with this
recipe section's settings, among STAGE_INPUTS_ANY; without it, STAGE_INPUTS). A stage writes
only under `ctx.out_dir` (with
wikikit.atomic) and may keep state that must survive a killed run (HTTP cache, teacher cache,
checkpoints) under `ctx.cache_dir`. It reads earlier stages' outputs from
`ctx.inputs[stage_name]`.

The order: package comes before eval, because the eval stage judges the model where it will
live: SemanticWiki's bundled mode loads the package stage's GGUF (`eval.harness: semanticwiki`),
and `eval.backend: gguf` serves it. Those settings make package an input of eval
(wikikit.eval.stage.inputs), so a new GGUF re-runs the evaluation; an eval of the merged model
(hf, vllm) reads train instead, and one of a GGUF or URL named in the recipe reads neither. A run whose gates
fail has its package written already; the failed eval fails the run and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wikikit.recipe.load import Recipe

STAGES = ("data", "train", "package", "eval")

# Recipe sections each stage depends on (besides its input stages' fingerprints).
STAGE_SECTIONS = {
    "data": ("seed", "model", "data"),
    "train": ("seed", "model", "train"),
    "package": ("model", "package"),
    "eval": ("seed", "model", "eval"),
}
STAGE_INPUTS = {"data": (), "train": ("data",), "package": ("train",), "eval": ("train",)}
# What a stage's `inputs(section)` may choose from.
STAGE_INPUTS_ANY = {"data": (), "train": ("data",), "package": ("train",),
                    "eval": ("train", "package")}  # fmt: skip
# Stages whose fingerprint also covers the contents of local files the recipe names (a
# module with `input_files(recipe) -> list[Path]`).
STAGE_INPUT_FILES = {"data": "wikikit.data.input_files"}
STAGE_MODULES = {
    "data": "wikikit.data.stage",
    "train": "wikikit.train.stage",
    "package": "wikikit.package.stage",
    "eval": "wikikit.eval.stage",
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
