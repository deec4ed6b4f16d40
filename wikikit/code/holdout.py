"""Held-out repositories: named once in the recipe (`data.holdout`), recognised in every form.

A source knows a repository by its own name for it: CodeWikiBench's `repo_name` (`OpenHands`),
DeepWiki's `owner/name` (`All-Hands-AI/OpenHands`), a git URL, or wikikit's `name@commit`. A
held-out entry matches a repository when, compared case-insensitively, both give the same
`owner/name`, or when either side is a bare name equal to the other's last path part.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

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


class Holdout:
    """The recipe's `data.holdout` list, ready to match repository names of any source."""

    def __init__(self, names: Iterable[str] = ()):
        self.names = [n for n in names if str(n).strip()]
        self._paths = {repo_path(n) for n in self.names}
        self._bare = {p.rsplit("/", 1)[-1] for p in self._paths}

    def __bool__(self) -> bool:
        return bool(self.names)

    def matches(self, name: str | None) -> bool:
        if not name or not self.names:
            return False
        path = repo_path(name)
        if path in self._paths:
            return True
        bare = path.rsplit("/", 1)[-1]
        return ("/" not in path and bare in self._bare) or bare in {
            p for p in self._paths if "/" not in p
        }

    def entry_for(self, name: str | None) -> str | None:
        """The recipe's entry that holds `name` out (for reports), or None."""
        if not name:
            return None
        return next((n for n in self.names if Holdout([n]).matches(name)), None)
