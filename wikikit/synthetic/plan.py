"""What to ask the teacher about: items (category, repository, subject, variant) from real code.

Planning is deterministic in the recipe seed, so a re-run asks the same prompts and the
teacher cache answers them all. When a repository has fewer distinct (subject, variant) pairs
than a category's target, the shortfall is reported, never padded with duplicates.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wikikit.example import example_id

if TYPE_CHECKING:
    from wikikit.code.repo import Repo

MIN_FILE_LINES = 15
MAX_FILE_BYTES = 60_000
MIN_GROUP_FILES = 2
README_NAMES = ("README.md", "README.rst", "README.txt", "README")


@dataclass(eq=False)
class Item:
    id: str
    category: str
    repo: Repo
    subject: tuple[str, ...]  # file paths (file subjects) or a folder ("" for the root)
    variant: int
    group: bool = False  # subject is a folder
    files: tuple[str, ...] = field(default=())  # the files shown for a folder subject

    def describe(self) -> dict:
        return {
            "item": self.id,
            "category": self.category,
            "repo": self.repo.id,
            "subject": list(self.subject),
        }


def source_files(repo: Repo) -> list[str]:
    """Code files worth documenting: a known language, not tiny, not huge."""
    out = []
    for rel in repo.iter_files():
        if not repo.language_of(rel) or rel.endswith(
            (".md", ".rst", ".txt", ".json", ".yaml", ".yml", ".toml")
        ):
            continue
        try:
            text = repo.read_text(rel)
        except Exception:  # noqa: BLE001 - unreadable files are simply not subjects
            continue
        if len(text) > MAX_FILE_BYTES or text.count("\n") + 1 < MIN_FILE_LINES:
            continue
        out.append(rel)
    return out


def folder_groups(files: list[str]) -> dict[str, list[str]]:
    """Folders (and the root) holding at least MIN_GROUP_FILES code files below them."""
    groups: dict[str, list[str]] = {"": list(files)}
    for f in files:
        parts = f.split("/")[:-1]
        for depth in range(1, min(len(parts), 2) + 1):
            groups.setdefault("/".join(parts[:depth]), []).append(f)
    return {k: v for k, v in groups.items() if len(v) >= MIN_GROUP_FILES}


def readme_of(repo: Repo) -> str | None:
    for name in README_NAMES:
        if repo.exists(name):
            return name
    return None


def plan_items(
    source_name: str,
    categories: dict[str, int],
    repos: list[Repo],
    variants: dict[str, int],
    group_categories: frozenset[str],
    seed: int,
    max_examples: int | None = None,
) -> tuple[list[Item], dict[str, int]]:
    """Items per category (up to its target) and the shortfall per category."""
    code = {r.id: source_files(r) for r in repos}
    groups = {r.id: folder_groups(code[r.id]) for r in repos}
    by_category: dict[str, list[Item]] = {}
    short: dict[str, int] = {}
    for category, target in categories.items():
        if target <= 0:
            continue
        pool: list[tuple[Repo, tuple[str, ...], int, bool, tuple[str, ...]]] = []
        for repo in repos:
            if category in group_categories:
                for folder, members in sorted(groups[repo.id].items()):
                    for v in range(variants[category]):
                        pool.append((repo, (folder,), v, True, tuple(members)))
            else:
                for f in code[repo.id]:
                    for v in range(variants[category]):
                        pool.append((repo, (f,), v, False, ()))
        rng = random.Random(f"{seed}:{source_name}:{category}")
        rng.shuffle(pool)
        chosen = pool[:target]
        if len(chosen) < target:
            short[category] = target - len(chosen)
        by_category[category] = [
            Item(
                id=example_id("synthetic", source_name, category, repo.id, subject, v),
                category=category,
                repo=repo,
                subject=subject,
                variant=v,
                group=group,
                files=files,
            )
            for repo, subject, v, group, files in chosen
        ]
    items = _round_robin(by_category)
    if max_examples is not None and len(items) > max_examples:
        items = items[:max_examples]
    return items, short


def _round_robin(by_category: dict[str, list[Item]]) -> list[Item]:
    """Interleave categories so a max_examples cap (or a budget stop) keeps the mix."""
    out: list[Item] = []
    queues = [list(v) for v in by_category.values()]
    i = 0
    while any(queues):
        for q in queues:
            if i < len(q):
                out.append(q[i])
        i += 1
        if all(i >= len(q) for q in queues):
            break
    return out
