"""Held-out repositories: named once in the recipe (`data.holdout`), recognised in every form.

A source knows a repository by its own name for it: CodeWikiBench's `repo_name` (`OpenHands`),
DeepWiki's `owner/name` (`All-Hands-AI/OpenHands`), a git URL, or wikikit's `name@commit`. A
held-out entry matches a repository when, compared case-insensitively, both give the same
`owner/name`, or when either side is a bare name equal to the other's last path part.

An entry that names a benchmark (`codewikibench`, wikikit.code.benchmark_repos.BENCHMARK)
stands for every one of its repositories (all 22 rows), each by its GitHub `owner/name`: a
source's bare `repo_name` still matches it by the rule above, and an unrelated `other/json`
does not (a bare `json` entry would hold out every owner's `json`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_URL = re.compile(r"^(?:[a-z+]+://[^/]+/|git@[^:]+:)(?P<path>.+?)(?:\.git)?/?$", re.I)


def repo_path(name: str) -> str:
    """`owner/name` (or a bare `name`) in lower case, from any of the forms above."""
    text = name.strip()
    m = _URL.match(text)
    # a git URL gives its path; otherwise `name@commit` (wikikit's Example.repo) drops the commit
    text = m.group("path") if m else text.split("@", 1)[0]
    text = text.strip("/").lower()
    if text.endswith(".git"):
        text = text[:-4]
    parts = [p for p in text.split("/") if p]
    return "/".join(parts[-2:]) if parts else ""


def benchmark_members(entry: str) -> list[str] | None:
    """The GitHub owner/name of every repository of the benchmark `entry` names, else None."""
    from wikikit.code.benchmark_repos import BENCHMARK, CODEWIKIBENCH_REPOS

    if str(entry).strip().lower() != BENCHMARK:
        return None
    return [r.github for r in CODEWIKIBENCH_REPOS]


class Holdout:
    """The recipe's `data.holdout` list, ready to match repository names of any source.

    `names` are the recipe's entries as written; `repos` the repositories they stand for (a
    benchmark entry expanded to its rows)."""

    def __init__(self, names: Iterable[str] = ()):
        self.names = [str(n) for n in names if str(n).strip()]
        self._owner: dict[str, str] = {}  # repo -> the entry naming it
        for entry in self.names:
            for repo in benchmark_members(entry) or [entry]:
                self._owner.setdefault(repo, entry)
        self.repos = list(self._owner)
        self._paths = {repo_path(n) for n in self.repos}
        self._bare = {p.rsplit("/", 1)[-1] for p in self._paths}
        self._bare_entries = {p for p in self._paths if "/" not in p}

    def __bool__(self) -> bool:
        return bool(self.names)

    def matches(self, name: str | None) -> bool:
        if not name or not self.names:
            return False
        path = repo_path(name)
        if path in self._paths:
            return True
        bare = path.rsplit("/", 1)[-1]
        return ("/" not in path and bare in self._bare) or bare in self._bare_entries

    def repo_for(self, name: str | None) -> str | None:
        """The held-out repository `name` is (as `repos` lists it), or None."""
        if not self.matches(name):  # the quick test first: most names are not held out
            return None
        return next((r for r in self.repos if Holdout([r]).matches(name)), None)

    def entry_for(self, name: str | None) -> str | None:
        """The recipe's entry that holds `name` out (for reports), or None."""
        repo = self.repo_for(name)
        return self._owner[repo] if repo is not None else None


def recipe_holdout(recipe: Any) -> Holdout:
    """The recipe's `data.holdout` (a Recipe, or anything with a `data` dict)."""
    data = (getattr(recipe, "data", None) or {}).get("data") or {}
    return Holdout([str(n) for n in data.get("holdout") or []])
