"""A source's `pool:`: the pool's repositories join its `repos:`, each at a pinned commit.

The sources that take repositories (semanticwiki, synthetic, traceability) see the pool as more
`repos:` entries ({url, name, commit}); the data stage adds them before the source runs
(`with_pool`), so each source opens, skips and counts them as it does its own. The pool file is
validated when a wikikit command loads the recipe (wikikit.code.pool.check_recipe) and again
when the stage reads it, against CodeWikiBench's 22 repositories and `data.holdout`, so no
held-out repository can come from it.

Commits: the pin store (`<data cache>/pool/pins.json`, wikikit.code.pool.PinStore) fixes each
repository's commit the first time a run fetches it (its default branch's head) and later runs
read it from there. A source replaying DeepWiki (`answerer: {kind: replay, wiki: deepwiki}`)
takes each repository at the commit its wiki documents instead (the semanticwiki source sets it
from the wiki; the crawl store keeps the wiki, so a later run gets the same commit). What each
source used is written to `pool/<source>.json` beside the data. A dry run resolves nothing: it
uses the pins already stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wikikit import console
from wikikit.code.pool import PinStore, source_pool

PIN_PARALLEL = 8  # `git ls-remote` calls at once


def pin_store(cache_dir: str | Path) -> PinStore:
    return PinStore(Path(cache_dir) / "pool" / "pins.json")


def replays_deepwiki(config: dict[str, Any]) -> bool:
    answerer = config.get("answerer") or {}
    return answerer.get("kind") == "replay" and answerer.get("wiki", "deepwiki") == "deepwiki"


def with_pool(name: str, config: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """`config` with its pool's repositories appended to `repos` (itself without `pool:`)."""
    if not isinstance(config, dict) or not config.get("pool"):
        return config
    pool = source_pool(config, getattr(ctx, "recipe", None), tuple(ctx.key_path))
    assert pool is not None
    own = list(config.get("repos") or [])
    entries = list(pool.repos)
    if config.get("max_repos"):  # the source documents no more than these: pin no more
        entries = entries[: max(0, int(config["max_repos"]) - len(own))]
    pins = pin_store(ctx.cache_dir)
    failed: dict[str, str] = {}
    if replays_deepwiki(config):
        specs = [r.spec() for r in entries]  # the wiki's commit, set by the source
        how = "deepwiki"
    elif getattr(ctx, "dry_run", False):
        specs = [r.spec(pins.get(r.name)) for r in entries]  # no remote asked in a dry run
        how = "stored"
    else:
        specs, failed = pins.pin_all([r.spec() for r in entries], PIN_PARALLEL)
        how = "pinned"
        for repo, why in list(failed.items())[:5]:
            console.warn(f"{name}: pool repository {repo} left out: {why}")
        if len(failed) > 5:
            console.warn(f"{name}: {len(failed) - 5} more pool repositories left out")
    stats = ctx.stats[name]
    stats["pool_repos"] += len(entries)
    if failed:
        stats["pool_repos_unpinned"] += len(failed)
    if not getattr(ctx, "dry_run", False):
        ctx.artifacts[f"pool/{name}.json"] = {
            "pool": str(config["pool"]),
            "repos": len(pool),
            "used": len(specs),
            "commits": how,
            "pins": {s["name"]: s.get("commit") for s in specs},
            "unpinned": failed,
        }
    rest = {k: v for k, v in config.items() if k != "pool"}
    return {**rest, "repos": [*own, *specs]}


def plan_line(name: str, config: dict[str, Any], ctx: Any, shown: set[str]) -> str | None:
    """`pool recipes/pools/pool.yaml: 466 repositories (...)` for the dry run, or None; a pool
    already in `shown` is named, not described again."""
    if not isinstance(config, dict) or not config.get("pool"):
        return None
    pool = source_pool(config, getattr(ctx, "recipe", None), tuple(ctx.key_path))
    assert pool is not None
    if str(pool.path) in shown:
        return f"{name}: pool {config['pool']} ({len(pool)} repositories, as above)"
    shown.add(str(pool.path))
    pins = pin_store(ctx.cache_dir)
    pinned = sum(1 for r in pool.repos if r.commit or pins.get(r.name))
    commits = (
        "each at the commit its DeepWiki wiki documents"
        if replays_deepwiki(config)
        else f"{pinned} pinned already, the rest pinned to their default branch's head when "
        "first fetched"
    )
    return (
        f"{name}: pool {config['pool']}: {pool.summary()}; none of CodeWikiBench's 22 and none "
        f"held out (checked line by line); {commits}"
    )
