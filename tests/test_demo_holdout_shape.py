"""The demo has the flagship's shape: the repositories its eval judges are held out, and no
training source names one of them (compared through the same Holdout matching the data stage
uses), nor reads its code inside another checkout."""

from __future__ import annotations

from pathlib import Path

from wikikit.bounded import read_jsonl
from wikikit.code.holdout import Holdout
from wikikit.data.holdout import spec_names
from wikikit.paths import RECIPES_DIR
from wikikit.recipe.load import load_recipe

DEMO = RECIPES_DIR / "demo.yaml"


def source_repos(recipe) -> dict[str, list[tuple[list[str], Path | None]]]:
    """{source: [(the names a repository is known by, its folder when local)]}, every
    repository a data source reads: its `repos:` specs and a codewikibench dataset's rows."""
    out: dict[str, list[tuple[list[str], Path | None]]] = {}
    for name, cfg in recipe.data["data"]["sources"].items():
        found: list[tuple[list[str], Path | None]] = []
        repos = cfg.get("repos") or []
        items = list(repos.items()) if isinstance(repos, dict) else [(None, s) for s in repos]
        for i, (key, spec) in enumerate(items):
            names = ([key] if key else []) + spec_names(spec)
            path = spec.get("path") if isinstance(spec, dict) else None
            where = ("data", "sources", name, "repos", key if key else i, "path")
            found.append((names, recipe.resolve_path(path, where) if path else None))
        if cfg.get("kind") == "codewikibench" and cfg.get("path"):
            rows = recipe.resolve_path(cfg["path"], ("data", "sources", name, "path"))
            for f in sorted(rows.glob("*.jsonl")) if rows.is_dir() else [rows]:
                found += [([str(r["repo_name"])], None) for r in read_jsonl(f)]
        out[name] = found
    return out


def judged(recipe) -> dict[str, Path | None]:
    repos = (recipe.data["eval"].get("heldout") or {}).get("repos") or {}
    return {
        name: recipe.resolve_path(spec, ("eval", "heldout", "repos", name)).resolve()
        if isinstance(spec, str) and "://" not in spec
        else None
        for name, spec in repos.items()
    }


def test_the_demo_judges_held_out_repos_that_no_source_names():
    recipe = load_recipe(DEMO)
    heldout = Holdout(recipe.data["data"]["holdout"])
    evaluated = judged(recipe)
    assert evaluated, "the demo's eval judges no held-out repository"
    assert all(heldout.matches(name) for name in evaluated)
    by_eval = Holdout(list(evaluated))
    sources = source_repos(recipe)
    assert sum(len(v) for v in sources.values()) >= 7  # every source that reads a repo counted
    named = {s: [n for names, _ in repos for n in names if by_eval.matches(n)]
             for s, repos in sources.items()}  # fmt: skip
    assert not any(named.values()), named


def test_no_source_reads_a_judged_repo_inside_its_own_checkout():
    recipe = load_recipe(DEMO)
    inside = {
        source: [str(path) for _, path in repos for folder in judged(recipe).values()
                 if path and folder and folder.is_relative_to(path.resolve())]
        for source, repos in source_repos(recipe).items()
    }  # fmt: skip
    assert not any(inside.values()), inside
