"""Pieces every generator uses: the environment, asking the teacher, building the Example."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wikikit.code.refs import parse_refs
from wikikit.example import Example, Message, Ref
from wikikit.synthetic.prompts import HEAD_LINES, WIKI_SYSTEM, join, numbered_listing, repo_header
from wikikit.synthetic.prompts import tree_listing as _tree
from wikikit.teachers import TeacherRequest, TeacherResponse

if TYPE_CHECKING:
    from wikikit.synthetic.plan import Item
    from wikikit.teachers import Teacher


class ItemFailed(Exception):
    """The teacher answered, but the answer cannot become an example (reason is a short label)."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason = reason
        self.detail = detail


@dataclass
class Env:
    source_name: str
    teacher: Teacher
    wiki_root: Path  # scratch wikis for tool-use trajectories, one folder per item
    judge_min_score: int = 7
    max_tool_steps: int = 12

    @property
    def provenance(self) -> dict[str, str]:
        return {"provider": self.teacher.settings.provider, "model": self.teacher.settings.model}


async def ask(
    env: Env,
    turns: list[tuple[str, str]],
    system: str | None = WIKI_SYSTEM,
    shared: str | None = None,
) -> TeacherResponse:
    """One teacher answer; a truncated or empty answer fails the item (it would teach cut-offs).

    `shared` is the item's code context at the start of the first turn: the same for every
    item about that code, so the teacher marks it for the provider's prompt cache."""
    response = await env.teacher.complete(TeacherRequest.of(turns, system=system, shared=shared))
    if response.truncated:
        raise ItemFailed("truncated", "answer cut at max_tokens")
    if not response.text.strip():
        raise ItemFailed("empty_answer")
    return response


def where(item: Item) -> str:
    folder = item.subject[0]
    return "the whole repository" if not folder else f"the `{folder}` folder"


def file_context(item: Item) -> str:
    return join(repo_header(item.repo), numbered_listing(item.repo, item.subject[0]))


def group_context(item: Item) -> str:
    """Layout, README (at the root) and the heads of a few files, different per variant."""
    repo, folder = item.repo, item.subject[0]
    parts = [repo_header(item.repo), _tree(list(repo.iter_files()), folder)]
    if not folder:
        from wikikit.synthetic.plan import readme_of

        readme = readme_of(repo)
        if readme:
            parts.append(numbered_listing(repo, readme, HEAD_LINES))
    files = list(item.files)
    start = (item.variant * 3) % max(1, len(files))
    for path in (files[start:] + files[:start])[:3]:
        parts.append(numbered_listing(repo, path, HEAD_LINES * 2))
    return join(*parts)


def context(item: Item) -> str:
    return group_context(item) if item.group else file_context(item)


def tag(text: str, name: str) -> str | None:
    m = re.search(rf"<{name}>(.*?)</{name}>", text, re.S)
    return m.group(1).strip() if m and m.group(1).strip() else None


def refs_of(text: str) -> list[Ref]:
    seen: dict[tuple[str, int, int], Ref] = {}
    for r in parse_refs(text):
        if r.start is not None:
            key = (r.path, r.start, r.end or r.start)
            seen.setdefault(key, Ref(*key))
    return list(seen.values())


def language_of(item: Item) -> str:
    files = item.files if item.group else item.subject
    langs = Counter(item.repo.language_of(f) for f in files if item.repo.language_of(f))
    return langs.most_common(1)[0][0] if langs else "unknown"


def make_example(item: Item, env: Env, messages: list[Message], **meta: Any) -> Example:
    text = "\n\n".join(m.content for m in messages if m.role == "assistant")
    return Example(
        id=item.id,
        messages=messages,
        source="synthetic",
        category=item.category,
        language=language_of(item),
        repo=item.repo.id,
        refs=refs_of(text),
        meta={
            "generator": item.category,
            "source_name": env.source_name,
            "teacher": env.provenance,
            "subject": list(item.subject),
            "variant": item.variant,
            **meta,
        },
    )


def system_message(system: str = WIKI_SYSTEM) -> Message:
    return Message("system", system)
