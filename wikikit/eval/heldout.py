"""The held-out repos the eval stage works on, and the single-skill items built from them.

`eval.heldout.repos` maps each held-out repository (a name that `data.holdout` holds out of every
training source, checked here) to its checkout: a path or a git URL at a pinned commit, as any
repo spec in a recipe. The stage clones them into its cache and builds
`heldout/semanticwiki_page.jsonl`: `eval.heldout.items` SemanticWiki page prompts (default 200),
drawn round-robin over the repos (wikikit.semanticwiki.items), and `heldout/repos.json`
({repo: {root, commit}}) for scoring. Items are built by the eval stage, not the data stage, so
that changing how many there are re-runs the evaluation and never the training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wikikit import console
from wikikit.atomic import write_json, write_jsonl
from wikikit.code.holdout import Holdout
from wikikit.code.repo import Repo, is_git_url, open_repo
from wikikit.errors import InputError
from wikikit.stage import StageContext

DEFAULT_ITEMS = 200
ITEMS_FILE = "semanticwiki_page.jsonl"


def heldout_repos(ctx: StageContext) -> dict[str, Repo]:
    """{name: checkout} of eval.heldout.repos, each confirmed as held out by data.holdout."""
    section = ctx.section.get("heldout") or {}
    specs = section.get("repos") or {}
    holdout = Holdout(ctx.recipe.get(("data", "holdout")) or [])
    repos: dict[str, Repo] = {}
    for name, spec in sorted(specs.items()):
        where = f"eval.heldout.repos.{name}"
        if not holdout.matches(name):
            raise InputError(
                f"{where}: not in data.holdout (items from a repo the model trains on are not "
                "held out); add it there"
            )
        if isinstance(spec, str):
            spec = {"url": spec} if is_git_url(spec) else {"path": spec}
        spec = dict(spec)
        spec.setdefault("name", name)
        base = ctx.recipe.resolve_path(".", ("eval", "heldout", "repos", name))
        repos[name] = open_repo(spec, base, ctx.cache_dir / "repos", label=where)
    return repos


def round_robin(per_repo: list[list[dict[str, Any]]], count: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    i = 0
    while len(out) < count and any(i < len(items) for items in per_repo):
        out += [items[i] for items in per_repo if i < len(items)][: count - len(out)]
        i += 1
    return out


def build_items(ctx: StageContext, out_dir: Path) -> Path | None:
    """Write heldout/ under out_dir; returns that folder, or None without held-out repos."""
    from wikikit.semanticwiki.items import items_from_repo

    repos = heldout_repos(ctx)
    if not repos:
        return None
    count = int((ctx.section.get("heldout") or {}).get("items", DEFAULT_ITEMS))
    per_repo = [items_from_repo(repo, count) for repo in repos.values()]
    items = round_robin(per_repo, count)
    folder = out_dir / "heldout"
    write_jsonl(folder / ITEMS_FILE, items)
    write_json(
        folder / "repos.json",
        {repo.name: {"root": str(repo.root), "commit": repo.commit} for repo in repos.values()},
    )
    console.info(
        f"eval: {len(items)} SemanticWiki page items from {len(repos)} held-out repo(s)"
        + (f" (asked for {count}: the repos have fewer pages)" if len(items) < count else "")
    )
    return folder
