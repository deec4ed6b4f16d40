"""A minimal stage used by runner tests: writes files derived from its recipe section."""

from __future__ import annotations

import json

from wikikit.atomic import write_text
from wikikit.stage import StageContext, StageResult

CALLS: list[str] = []


def run_stage(ctx: StageContext) -> StageResult:
    CALLS.append(ctx.stage)
    inputs = {
        k: sorted(p.name for p in v.iterdir()) if v.exists() else None
        for k, v in ctx.inputs.items()
    }
    body = json.dumps(
        {"section": ctx.section, "seed": ctx.recipe.seed, "inputs": inputs}, sort_keys=True
    )
    names = [f"part-{i}.txt" for i in range(3)]
    for name in names:
        write_text(ctx.out_dir / name, body + name)
    return StageResult(outputs=names, counts={"files": len(names)}, summary=f"{len(names)} files")


def plan(ctx: StageContext) -> list[str]:
    return [f"probe would write 3 files for {ctx.stage}"]
