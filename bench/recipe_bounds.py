"""Recipe loading within bounds (issue 20): how fast pure-Python YAML composes, how long each
hostile recipe takes to be refused, and what a recipe just inside the limits costs. Run by hand:

    .venv/bin/python bench/recipe_bounds.py

The limits in wikikit/recipe/safe_yaml.py were sized from these figures: every refusal must
come well under a second, so the node bound is what this machine composes in a fraction of one.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from wikikit.errors import InputError
from wikikit.recipe.load import load_recipe
from wikikit.recipe.safe_yaml import LIMITS, Limits, compose_bounded

UNBOUNDED = Limits(max_bytes=1 << 30, max_depth=10**6, max_aliases=10**9, max_nodes=10**9)


def _bomb(levels: int = 9) -> str:
    lines = ["wikikit: 1", "name: bomb", "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


HOSTILE = {
    "alias bomb (9 x 9)": lambda: _bomb(),
    "5,000 nested brackets": lambda: "wikikit: 1\nname: x\nmodel: " + "[" * 5000 + "]" * 5000,
    "3,000 nested flow keys": lambda: "wikikit: 1\nmodel: " + "{k: " * 3000 + "1" + "}" * 3000,
    "50 MB comment": lambda: "wikikit: 1\n# " + "x" * 50_000_000 + "\n",
    "1,000,000 list items": lambda: "wikikit: 1\nl: [" + "a, " * 1_000_000 + "]\n",
    "UTF-16": lambda: "wikikit: 1\nname: x\n".encode("utf-16"),
    "extends /etc/passwd": lambda: "wikikit: 1\nname: x\nextends: /etc/passwd\n",
}
INSIDE = {
    "20,000 nodes just inside (list)": lambda: (
        "wikikit: 1\nname: x\nl: [" + "a, " * (LIMITS.max_nodes - 10) + "]\n"
    ),
    "255 KiB plain scalar": lambda: "wikikit: 1\nname: x\nl: " + "y" * (255 << 10) + "\n",
    "100 aliases of a 10 KiB value": lambda: (
        "wikikit: 1\nname: x\nv: &v " + "y" * 10_000 + "\nl: [" + ", ".join(["*v"] * 100) + "]\n"
    ),
}


def _time_load(text: str | bytes, folder: Path) -> tuple[float, str]:
    path = folder / "r.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    start = time.perf_counter()
    try:
        load_recipe(path)
        outcome = "ok"
    except InputError as exc:
        outcome = exc.lines[0][:90]
    return time.perf_counter() - start, outcome


def main() -> None:
    text = "l: [" + "a, " * 200_000 + "]\n"
    start = time.perf_counter()
    compose_bounded(text, UNBOUNDED)
    rate = 200_000 / (time.perf_counter() - start)
    print(f"compose rate: {rate:,.0f} nodes/s (pure-Python SafeLoader composer, bounds counted)")
    print(f"limits: {LIMITS}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.chdir(folder)
        for title, cases in (("refused", HOSTILE), ("inside the limits", INSIDE)):
            print(f"\n{title}:")
            for name, make in cases.items():
                seconds, outcome = _time_load(make(), folder)
                print(f"  {name:34s} {seconds * 1000:8.1f} ms  {outcome}")


if __name__ == "__main__":
    main()
