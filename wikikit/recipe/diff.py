"""`wikikit diff`: what differs between two recipes once `extends` and overrides are resolved."""

from __future__ import annotations

import json
from typing import Any

from wikikit.recipe.load import Recipe, key_path_str


def flatten(node: Any, path: tuple = ()) -> dict[tuple, Any]:
    """Leaf values by key path; lists are leaves (they are replaced whole, never merged)."""
    if isinstance(node, dict) and node:
        out: dict[tuple, Any] = {}
        for k, v in node.items():
            out.update(flatten(v, path + (k,)))
        return out
    return {path: node}


def diff_recipes(a: Recipe, b: Recipe) -> list[str]:
    fa, fb = flatten(a.redacted()), flatten(b.redacted())
    lines = []
    for path in sorted(set(fa) | set(fb), key=lambda p: [str(x) for x in p]):
        name = key_path_str(path)
        if path not in fb:
            lines.append(f"- {name}: {_show(fa[path])}   ({a.loc(path)})")
        elif path not in fa:
            lines.append(f"+ {name}: {_show(fb[path])}   ({b.loc(path)})")
        elif fa[path] != fb[path]:
            lines.append(f"~ {name}: {_show(fa[path])} -> {_show(fb[path])}")
    return lines


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
