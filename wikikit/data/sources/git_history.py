"""`kind: git_history`: commits → "write the commit message" and "explain this change" examples.

git runs with argument lists only (never a shell). Merges (`--no-merges`), bot authors
(dependabot, renovate, `[bot]`), diffs with fewer than `min_diff_lines` or more than
`max_diff_lines` changed lines, and commits that change only binary files are skipped and counted.
References are the runs of added lines in each hunk, in new-file line numbers, and are verified
against the file as it is in that commit (`git show COMMIT:path`), not the working tree; an
example's `repo` is `name@commit` for the same reason.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wikikit import children
from wikikit.code.refs import format_source_ref, parse_refs
from wikikit.code.repo import language_of
from wikikit.data.sources._repos import iter_source_repos
from wikikit.example import Example, Message, Ref, example_id

DEFAULT_MAX_COMMITS = 500
DEFAULT_MIN_DIFF_LINES = 2
DEFAULT_MAX_DIFF_LINES = 400
MAX_REFS = 12
BOT_RE = re.compile(r"\[bot\]|dependabot|renovate|github-actions|greenkeeper|snyk-bot", re.I)
_HUNK_RE = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
_SHA_RE = re.compile(r"^[0-9a-f]{40}$")


@dataclass
class FileDiff:
    old_path: str | None
    new_path: str | None
    added: int = 0
    removed: int = 0
    binary: bool = False
    added_runs: list[tuple[int, int]] = field(default_factory=list)  # new-file line ranges


@dataclass
class Commit:
    sha: str
    author: str
    email: str
    subject: str
    body: str


def git(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C", GIT_CONFIG_NOSYSTEM="1")
    return children.run(["git", "-C", str(root), *args], env=env, capture_output=True)


def list_commits(root: Path, max_commits: int) -> list[Commit]:
    """Newest first, merges excluded by git itself."""
    fmt = "%H%x00%an%x00%ae%x00%s%x00%b%x1e"
    proc = git(root, "log", "--no-merges", f"--max-count={max_commits}", f"--format={fmt}")
    if proc.returncode != 0:
        return []
    out = []
    for record in proc.stdout.decode("utf-8", "replace").split("\x1e"):
        fields = record.strip("\n").split("\x00")
        if len(fields) == 5 and _SHA_RE.match(fields[0]):
            out.append(Commit(*fields[:4], fields[4].strip()))
    return out


def commit_diff(root: Path, sha: str) -> str:
    """The commit's patch against its first parent (the empty tree for a root commit)."""
    proc = git(
        root,
        "show",
        "--format=",
        "--patch",
        "--unified=3",
        "--no-color",
        "--no-ext-diff",
        "--no-renames",
        "--first-parent",
        sha,
        "--",
    )
    return proc.stdout.decode("utf-8", "replace") if proc.returncode == 0 else ""


def parse_diff(diff: str) -> list[FileDiff]:
    files: list[FileDiff] = []
    cur: FileDiff | None = None
    new_line = 0
    in_hunk = False  # header lines (---/+++) only before the first hunk: "--- x" can be content
    for line in diff.split("\n"):
        if line.startswith("diff --git "):
            cur = FileDiff(None, None)
            files.append(cur)
            in_hunk = False
            continue
        if cur is None:
            continue
        if m := _HUNK_RE.match(line):
            new_line = int(m.group(1))
            in_hunk = True
        elif not in_hunk:
            if line.startswith("--- "):
                cur.old_path = None if line[4:] == "/dev/null" else _strip_prefix(line[4:])
            elif line.startswith("+++ "):
                cur.new_path = None if line[4:] == "/dev/null" else _strip_prefix(line[4:])
            elif line.startswith("Binary files "):
                cur.binary = True
        elif line.startswith("+"):
            cur.added += 1
            runs = cur.added_runs
            if runs and runs[-1][1] == new_line - 1:
                runs[-1] = (runs[-1][0], new_line)
            else:
                runs.append((new_line, new_line))
            new_line += 1
        elif line.startswith("-"):
            cur.removed += 1
        elif line.startswith(" "):
            new_line += 1
    return files


def _strip_prefix(path: str) -> str:
    path = path.rstrip("\t")
    if path.startswith('"'):
        return path  # a quoted (unusual) path; it will fail verification and be left out
    return path[2:] if path[:2] in ("a/", "b/") else path


def lines_at(root: Path, sha: str, path: str) -> list[str] | None:
    """The file's lines as of `sha` (None if it is not there)."""
    proc = git(root, "show", f"{sha}:{path}")
    if proc.returncode != 0:
        return None
    text = proc.stdout.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def generate(name: str, config: dict, ctx: Any) -> Iterator[Example]:
    max_commits = int(config.get("max_commits", DEFAULT_MAX_COMMITS))
    min_lines = int(config.get("min_diff_lines", DEFAULT_MIN_DIFF_LINES))
    max_lines = int(config.get("max_diff_lines", DEFAULT_MAX_DIFF_LINES))
    stats = ctx.stats[name]
    for repo in iter_source_repos(name, config, ctx, int(config.get("max_file_bytes", 1_000_000))):
        if git(repo.root, "rev-parse", "--verify", "--quiet", "HEAD").returncode != 0:
            stats["not_git"] += 1
            continue
        for c in list_commits(repo.root, max_commits):
            stats["commits"] += 1
            if BOT_RE.search(c.author) or BOT_RE.search(c.email):
                stats["skipped_bot"] += 1
                continue
            files = parse_diff(commit_diff(repo.root, c.sha))
            text_files = [f for f in files if not f.binary]
            changed = sum(f.added + f.removed for f in text_files)
            if not text_files:
                stats["skipped_binary_only" if files else "skipped_empty"] += 1
                continue
            if changed < min_lines:
                stats["skipped_trivial"] += 1
                continue
            if changed > max_lines:
                stats["skipped_huge"] += 1
                continue
            yield from _examples(repo.root, repo.name, c, text_files, ctx.seed, stats)


def _verified_refs(root: Path, sha: str, files: list[FileDiff], stats: Any) -> list[Ref]:
    refs: list[Ref] = []
    for f in files:
        if f.new_path is None or not f.added_runs:
            continue
        lines = lines_at(root, sha, f.new_path)
        for start, end in f.added_runs:
            if lines is None or end > len(lines) or start < 1:
                stats["ref_rejected"] += 1
                continue
            refs.append(Ref(f.new_path, start, end))
    return refs


def _examples(
    root: Path, name: str, c: Commit, files: list[FileDiff], seed: int, stats: Any
) -> Iterator[Example]:
    rng = random.Random(int.from_bytes(hashlib.sha256(f"{seed}{c.sha}".encode()).digest()[:8]))
    diff = commit_diff(root, c.sha)
    refs = _verified_refs(root, c.sha, files, stats)[:MAX_REFS]
    repo_id = f"{name}@{c.sha}"
    langs = [language_of(f.new_path or f.old_path or "") for f in files]
    language = next((x for x in langs if x), "unknown")
    message = c.subject + (f"\n\n{c.body}" if c.body else "")
    fence = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`{3,}", diff)), default=0))
    shown_diff = f"{fence}diff\n{diff.rstrip()}\n{fence}"
    meta = {"commit": c.sha, "author": c.author, "files": [f.new_path or f.old_path for f in files]}

    ask = rng.choice(
        [
            "Write the commit message for this diff.",
            "Write a concise commit message (subject line, then details if needed) for this change.",
            "What would be a good commit message for the following diff?",
        ]
    )

    def example(task: str, ask: str, answer: str, refs: list) -> Example:
        stats[f"examples_{task}"] += 1
        return Example(
            id=example_id("git_history", repo_id, task),
            messages=[Message("user", f"{ask}\n\n{shown_diff}"), Message("assistant", answer)],
            source="git_history",
            category="git_history",
            language=language,
            repo=repo_id,
            refs=refs,
            meta={**meta, "task": task},
        )

    yield example("commit_message", ask, message, [])

    if not refs:
        return
    summary = []
    for f in files:
        path = f.new_path or f.old_path
        if f.old_path is None:
            what = f"adds `{path}` ({f.added} lines)"
        elif f.new_path is None:
            what = f"deletes `{path}` ({f.removed} lines)"
        else:
            what = f"changes `{path}` (+{f.added}/-{f.removed})"
        summary.append(f"- It {what}.")
    ref_lines = [f"- {format_source_ref(r.path, r.start, r.end)}" for r in refs]
    answer = (
        f"{c.subject.rstrip('.')}.\n\n"
        + (f"{c.body}\n\n" if c.body else "")
        + "\n".join(summary)
        + "\n\nThe new and changed lines, as of this commit:\n\n"
        + "\n".join(ref_lines)
    )
    if {(m.path, m.start, m.end) for m in parse_refs(answer)} != {
        (r.path, r.start, r.end) for r in refs
    }:
        stats["ref_mismatch"] += 1
        return
    ask = rng.choice(
        [
            "Explain this change.",
            "What does this commit do? Point at the lines it adds or changes.",
            "Summarise this diff for a reviewer, with source references.",
        ]
    )
    yield example("explain_change", ask, answer, refs)
