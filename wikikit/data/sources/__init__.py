"""Source kinds. Each module exposes

    generate(name: str, config: dict, ctx: SourceContext) -> Iterable[Example]

Sources only produce Examples; they never filter, dedup or render. Counts of what a source
skipped (files too large, malformed lines, ...) go into `ctx.stats[name]`.
"""

from __future__ import annotations

import importlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wikikit.code.holdout import Holdout
from wikikit.errors import StageNotImplemented

if TYPE_CHECKING:
    from wikikit.example import Example
    from wikikit.recipe.load import Recipe

SOURCE_MODULES = {
    "traceability": "wikikit.data.sources.traceability",
    "jsonl": "wikikit.data.sources.jsonl",
    "codewikibench": "wikikit.data.sources.codewikibench",
    "deepwiki": "wikikit.data.sources.deepwiki",
    "synthetic": "wikikit.data.sources.synthetic",
    "code_units": "wikikit.data.sources.code_units",
    "fim": "wikikit.data.sources.fim",
    "cpt": "wikikit.data.sources.cpt",
    "git_history": "wikikit.data.sources.git_history",
    "semanticwiki": "wikikit.data.sources.semanticwiki",
}


@dataclass
class SourceContext:
    recipe: Recipe
    cache_dir: Path  # persistent cache for this data stage (clones, HTTP cache, teacher cache)
    seed: int = 0
    dry_run: bool = False
    stats: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    # Extra material a source keeps for later stages, not for training, as a flat map from a
    # path relative to the data stage's out_dir to a JSON-able object, e.g.
    # ctx.artifacts["rubrics/OpenHands.json"] = {...}. The data stage writes each one.
    artifacts: dict[str, Any] = field(default_factory=dict)
    # Key path of the source's config in the recipe, e.g. ("data", "sources", "trace").
    key_path: tuple = ()
    # The recipe's `data.holdout`: a source skips work for these repos (no crawl, no clone);
    # the data stage drops any example whose `repo` they match.
    holdout: Holdout = field(default_factory=Holdout)


Generator = Callable[[str, dict, SourceContext], Iterable["Example"]]


def load_generator(kind: str) -> Generator:
    module_name = SOURCE_MODULES[kind]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise StageNotImplemented(f"source kind '{kind}' is not implemented yet") from None
        raise
    return module.generate
