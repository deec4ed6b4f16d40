"""A wiki's repository at the commit the wiki was written for, cloned once into a cache.

DeepWiki's flight payload names the commit (`commit_hash`, often abbreviated: `2307919c`);
checking the repository out at that commit lets references be verified against the code they
describe, and lets a replay of the wiki quote that code. Cloning is wikikit.code.repo's (an
argument list, a temporary folder renamed when complete, a finished clone re-used).
"""

from __future__ import annotations

from pathlib import Path

from wikikit.code.repo import Repo, open_repo
from wikikit.deepwiki.wiki import Wiki
from wikikit.errors import WikikitError

DEFAULT_GIT_URL = "https://github.com/{repo}.git"


def git_url(template: str, repo: str) -> str:
    """`https://github.com/{repo}.git` with {repo}, {owner}, {name} filled in (no other fields)."""
    owner, _, name = repo.partition("/")
    return template.replace("{repo}", repo).replace("{owner}", owner).replace("{name}", name)


def checkout(wiki: Wiki, cache_dir: Path, url: str) -> Repo:
    """The repository of `wiki` cloned from `url` at `wiki.commit`; WikikitError when the wiki
    names no commit or git fails."""
    if not wiki.commit:
        raise WikikitError(f"{wiki.repo}: the wiki names no commit ({wiki.transport} gives none)")
    spec = {"url": url, "commit": wiki.commit, "name": wiki.repo}
    return open_repo(spec, Path.cwd(), Path(cache_dir), label=f"deepwiki {wiki.repo}")
