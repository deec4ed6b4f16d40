"""Held-out repositories in the data stage: named once (`data.holdout`), kept out of every source.

Two places act on them. Sources skip work early where they can (wikikit.data.sources:
`SourceContext.holdout`): the deepwiki source fetches no held-out wiki, code-reading sources
open no held-out checkout, codewikibench makes no example of a held-out row but keeps its
rubrics for the eval stage. Then the stage drops every example whose `Example.repo` a held-out
name matches (wikikit.code.holdout: owner/name, bare name, git URL, name@commit), whatever its
source, and counts the drops per source for quality.json and the report.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from wikikit.code.holdout import Holdout, recipe_holdout
from wikikit.code.site_packages import repo_name

__all__ = ["held_out_spec", "plan_lines", "recipe_holdout", "report", "spec_names"]


def spec_names(spec: Any) -> list[str]:
    """The names a repository spec of a source's `repos:` is known by (name, URL, folder)."""
    if isinstance(spec, str):
        return [spec, Path(spec.rstrip("/")).name] if "://" not in spec else [spec]
    if isinstance(spec, dict):
        names = [str(spec[k]) for k in ("name", "url") if spec.get(k)]
        if spec.get("site_package"):  # an installed distribution, as pypi/<name>
            names.append(repo_name(str(spec["site_package"])))
        if spec.get("path"):
            names.append(Path(str(spec["path"]).rstrip("/")).name)
        return names
    return []


def held_out_spec(spec: Any, holdout: Holdout) -> str | None:
    """The name by which `spec` is held out, or None."""
    if not holdout:
        return None
    return next((n for n in spec_names(spec) if holdout.matches(n)), None)


def plan_lines(holdout: Holdout, sources: dict[str, Any]) -> list[str]:
    """What each source does with the held-out repositories (for `--dry-run`)."""
    if not holdout:
        return ["holdout: none (data.holdout is empty)"]
    named = ", ".join(holdout.names)
    if len(holdout.repos) != len(holdout.names):  # a benchmark entry: say what it stands for
        named += f" = {len(holdout.repos)} held-out repositories ({', '.join(holdout.repos)})"
    lines = [f"holdout: {named}: kept out of every source's training data"]
    for name, cfg in sources.items():
        cfg = cfg or {}
        kind = cfg.get("kind", "?")
        if kind == "codewikibench":
            what = "no examples from their rows; their rubrics are kept for the eval stage"
        elif kind == "deepwiki":
            listed = [str(r) for r in cfg.get("repos") or [] if holdout.matches(str(r))]
            what = (
                f"{', '.join(listed)} not fetched" if listed else "none of its listed repos"
            ) + (", and none from repos_file" if cfg.get("repos_file") else "")
        elif isinstance(cfg.get("repos"), list) or cfg.get("pool"):
            listed = [n for spec in cfg.get("repos") or [] if (n := held_out_spec(spec, holdout))]
            what = f"{', '.join(listed)} not opened" if listed else "none of its repos"
            if cfg.get("pool"):
                what += " (its pool holds none: checked line by line when the recipe loads)"
        else:
            what = "examples naming them dropped"
        lines.append(f"holdout: {name} ({kind}): {what}; any example of theirs dropped")
    return lines


def report(holdout: Holdout, dropped: Counter, stats: dict[str, Counter]) -> dict[str, Any]:
    """quality.json's `holdout`: the names, examples dropped and repos skipped per source."""
    return {
        "repos": list(holdout.names),
        **({"held_out_repos": list(holdout.repos)} if holdout.repos != holdout.names else {}),
        "examples_dropped": dict(sorted((k, v) for k, v in dropped.items() if v)),
        "repos_skipped": {
            n: int(c["holdout_repos"]) for n, c in sorted(stats.items()) if c.get("holdout_repos")
        },
    }
