"""Running the data stage in tests without the runner: a Recipe stand-in and a one-call run."""

from __future__ import annotations

from pathlib import Path

from wikikit.stage import StageContext, StageResult


class RecipeStandIn:
    """What the data stage needs of a Recipe: .data, .path, .resolve_path, .secret."""

    def __init__(self, data: dict, base: Path):
        self.data = data
        self.path = base / "recipe.yaml"
        self._base = base

    def resolve_path(self, value, key_path):
        p = Path(value)
        return p if p.is_absolute() else (self._base / p).resolve()

    def secret(self, key_path):
        return None


def run_data_stage(recipe: RecipeStandIn, run_dir: Path) -> tuple[StageContext, StageResult]:
    from wikikit.data.stage import run_stage

    ctx = StageContext(
        recipe=recipe,
        stage="data",
        run_dir=run_dir,
        out_dir=run_dir / "data",
        cache_dir=run_dir / "cache" / "data",
    )
    return ctx, run_stage(ctx)
