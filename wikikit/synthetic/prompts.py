"""Prompt scaffolding shared by every generator, in SemanticWiki's conventions.

The same system prompt is given to the teacher and kept in the training example, so the
student learns the conventions it will be asked for at inference time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wikikit.code.repo import Repo

WIKI_SYSTEM = """\
You are an expert software architect writing an architectural wiki for a code repository.
Follow these conventions exactly:
- Every architectural concept carries a source reference in this form, followed by a 5-30 line \
code snippet from that range in a fenced block with the right language:
  **Source:** [`path/to/file.py:23-67`](path/to/file.py#L23-L67)
  Paths are relative to the repository root; line numbers are those shown in the listings.
- Diagrams are Mermaid, in fenced ```mermaid blocks (architecture overview, data flow, \
sequence, class diagrams).
- Put business context beside technical detail: what problem a component solves, its role in \
the workflow, its user impact, and its relations to other domains.
- Describe only what the code shows; never invent files, functions or line numbers."""

MAX_FILE_LINES = 300
HEAD_LINES = 60


def numbered_listing(repo: Repo, path: str, max_lines: int = MAX_FILE_LINES) -> str:
    """A file as the teacher (and student) sees it: line-numbered, fenced, with its language."""
    lines = repo.lines(path)
    language = repo.language_of(path) or ""
    width = len(str(min(len(lines), max_lines)))
    body = "\n".join(f"{i:>{width}} | {line}" for i, line in enumerate(lines[:max_lines], 1))
    more = (
        f"\n... ({len(lines) - max_lines} more lines not shown)" if len(lines) > max_lines else ""
    )
    return f"File: {path} ({len(lines)} lines)\n```{language}\n{body}\n```{more}"


def tree_listing(files: list[str], under: str = "", max_entries: int = 80) -> str:
    """The folder layout (files and folders, two levels) under `under`."""
    prefix = f"{under}/" if under else ""
    seen: list[str] = []
    for f in files:
        if not f.startswith(prefix):
            continue
        parts = f[len(prefix) :].split("/")
        entry = parts[0] + ("/" if len(parts) > 1 else "")
        if len(parts) > 2:
            entry = f"{parts[0]}/{parts[1]}/"
        elif len(parts) == 2:
            entry = f"{parts[0]}/{parts[1]}"
        if entry not in seen:
            seen.append(entry)
    shown = seen[:max_entries]
    extra = f"\n... ({len(seen) - max_entries} more)" if len(seen) > max_entries else ""
    return f"Layout of {under or 'the repository root'}:\n" + "\n".join(shown) + extra


def repo_header(repo: Repo) -> str:
    return f"Repository: {repo.name}"


def join(*parts: str) -> str:
    return "\n\n".join(p for p in parts if p)
