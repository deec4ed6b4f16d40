"""Opening the repositories a source's `repos:` list names, shared by every code-reading source."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wikikit.code.repo import Repo, is_git_url, open_repo


def open_source_repo(spec: Any, i: int, ctx: Any, max_file_bytes: int) -> Repo:
    """Open `repos[i]` of a source: relative paths resolve against the declaring recipe file."""
    key_path = (*tuple(ctx.key_path), "repos", i)
    label = ".".join(str(p) for p in key_path)
    recipe = getattr(ctx, "recipe", None)
    base = Path.cwd()
    if recipe is not None:
        if isinstance(spec, str) and not is_git_url(spec):
            spec = str(recipe.resolve_path(spec, key_path))
        elif isinstance(spec, dict) and spec.get("path"):
            spec = {**spec, "path": str(recipe.resolve_path(spec["path"], (*key_path, "path")))}
        elif isinstance(spec, dict) and spec.get("url") and not is_git_url(str(spec["url"])):
            spec = {**spec, "url": str(recipe.resolve_path(spec["url"], (*key_path, "url")))}
    return open_repo(spec, base, Path(ctx.cache_dir), max_file_bytes=max_file_bytes, label=label)


def add_repo_stats(stats: Any, repo: Repo) -> None:
    """Sum a repository's skip reasons (binary, too_large, vendored, ...) into a source's stats."""
    for key, value in repo.stats.items():
        if key != "files":
            stats[key] += value
    stats["repo_files"] += repo.stats.get("files", 0)


def is_held_out(spec: Any, ctx: Any, repo: Repo | None = None) -> bool:
    """True when `data.holdout` names this repository (its spec, or once open, its name)."""
    from wikikit.data.holdout import held_out_spec

    holdout = getattr(ctx, "holdout", None)
    if not holdout:
        return False
    return bool(held_out_spec(spec, holdout)) or (repo is not None and holdout.matches(repo.name))


def iter_source_repos(name: str, config: dict, ctx: Any, max_file_bytes: int) -> Iterator[Repo]:
    """Each repository of the source in order, held-out ones skipped (never cloned when the
    spec names them); its skip counts land in ctx.stats[name] after use."""
    stats = ctx.stats[name]
    for i, spec in enumerate(config.get("repos") or []):
        if is_held_out(spec, ctx):
            stats["holdout_repos"] += 1
            continue
        repo = open_source_repo(spec, i, ctx, max_file_bytes)
        if is_held_out(spec, ctx, repo):
            stats["holdout_repos"] += 1
            continue
        try:
            yield repo
        finally:
            add_repo_stats(stats, repo)
