"""The local files a recipe's data sources read, so the data stage's fingerprint covers them.

A stage is skipped when its recipe sections are unchanged (wikikit/runner.py); without this, a
user who edits a JSONL file, a `repos_file`, a pool file or a local CodeWikiBench copy and runs again would
get the old data. Only files named in the recipe count: a local repository's working tree does
not (pin it with `commit:` to make the source reproducible).
"""

from __future__ import annotations

import contextlib
import itertools
from pathlib import Path
from typing import Any

from wikikit.errors import WikikitError

MAX_FILES = 10_000  # a folder (a `save_to_disk` copy) is described by at most this many files


def named_paths(recipe: Any) -> list[tuple[tuple, str]]:
    """(key path, value) of every local input named under data.sources."""
    sources = ((recipe.data.get("data") or {}).get("sources")) or {}
    found: list[tuple[tuple, str]] = []
    if not isinstance(sources, dict):
        return found
    for name, config in sources.items():
        if not isinstance(config, dict):
            continue
        at = ("data", "sources", name)
        nested = config.get("codewikibench")
        for base, cfg in ((at, config), ((*at, "codewikibench"), nested)):
            if not isinstance(cfg, dict):
                continue
            for key in ("path", "repos_file", "pool"):
                if isinstance(cfg.get(key), str):
                    found.append(((*base, key), cfg[key]))
            paths = cfg.get("paths")
            if isinstance(paths, list):
                found += [
                    ((*base, "paths", i), p) for i, p in enumerate(paths) if isinstance(p, str)
                ]
    return found


def input_files(recipe: Any) -> list[Path]:
    """The files behind `named_paths` (a folder's files, sorted), as the sources resolve them.
    A path the recipe may not name is left to the source, which reports it when it runs."""
    files: list[Path] = []
    for key_path, value in named_paths(recipe):
        with contextlib.suppress(WikikitError, OSError):
            path = recipe.resolve_path(value, key_path)
            if path.is_file():
                files.append(path)
            elif path.is_dir():
                inside = (p for p in path.rglob("*") if p.is_file() and not p.is_symlink())
                files += sorted(itertools.islice(inside, MAX_FILES))
    return files
