"""`wikikit init`: write a starter recipe that extends a shipped (or given) recipe."""

from __future__ import annotations

import os
import re
from pathlib import Path

from wikikit.atomic import write_text
from wikikit.errors import InputError
from wikikit.paths import RECIPES_DIR
from wikikit.recipe.load import load_recipe


def write_starter_recipe(path: Path, base: str) -> None:
    if path.exists():
        raise InputError(f"{path}: already exists; choose another path (nothing was written)")
    shipped = RECIPES_DIR / f"{base}.yaml"
    if shipped.is_file():
        extends = base
    elif Path(base).is_file():
        extends = os.path.relpath(Path(base).resolve(), path.resolve().parent)
    else:
        raise InputError(f"--from {base}: no shipped recipe or file by that name")
    name = re.sub(r"[^A-Za-z0-9._-]", "-", path.stem).strip("-.") or "my-recipe"
    text = (
        "# A wikikit recipe. Everything not set here comes from the recipe it extends;\n"
        "# `wikikit show` prints the resolved whole, `wikikit schema` documents every key.\n"
        "wikikit: 1\n"
        f"name: {name}\n"
        f"extends: {extends}\n"
        "# seed: 42\n"
        "# data:\n"
        "#   size: 1000\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, text)
    try:
        load_recipe(path)
    except InputError:
        path.unlink()
        raise
