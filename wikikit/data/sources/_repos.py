"""Opening the repositories a source's `repos:` list names, shared by every code-reading source."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wikikit.code import site_packages
from wikikit.code.repo import Repo, is_git_url, open_repo


def confined_spec(spec: Any, key_path: tuple, recipe: Any) -> Any:
    """A repository spec with its local path, or `file://` URL, resolved against the declaring
    recipe file and confined to the recipe's allowed roots (Recipe.resolve_path raises
    InputError outside them): a shared recipe cannot read or clone a repository from elsewhere
    on the machine. Remote URLs pass unchanged."""
    if recipe is None:
        return spec
    plain = isinstance(spec, str)  # `repos: [path-or-url]`: the item itself is the value
    if plain:
        spec = {"url": spec} if is_git_url(spec) else {"path": spec}

    def at(field: str) -> tuple:
        return key_path if plain else (*key_path, field)

    if isinstance(spec, dict) and spec.get("path"):
        spec = {**spec, "path": str(recipe.resolve_path(spec["path"], at("path")))}
    elif isinstance(spec, dict) and spec.get("url"):
        url = str(spec["url"])
        local = url.removeprefix("file://") if url.startswith("file://") else None
        if local is not None or not is_git_url(url):
            spec = {**spec, "url": str(recipe.resolve_path(local or url, at("url")))}
    return spec


def open_source_repo(spec: Any, i: int | str, ctx: Any, max_file_bytes: int) -> Repo:
    """Open `repos[i]` of a source (`i` an index, or a name for a mapping of repos), confined
    by `confined_spec`."""
    key_path = (*tuple(ctx.key_path), "repos", i)
    label = ".".join(str(p) for p in key_path)
    spec = confined_spec(spec, key_path, getattr(ctx, "recipe", None))
    spec = site_packages.as_path_spec(spec, ctx.cache_dir, label)  # built under the cache
    return open_repo(
        spec, Path.cwd(), Path(ctx.cache_dir), max_file_bytes=max_file_bytes, label=label
    )


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
