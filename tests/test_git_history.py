"""git_history on click with synthetic commits: filters, messages, refs checked at each commit."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

import pytest
from code_mining_repos import make_click_repo, source_ctx
from git_fixtures import git

from wikikit.code.refs import parse_refs
from wikikit.data.sources import git_history


def _ctx(tmp_path: Path) -> SimpleNamespace:
    return source_ctx(tmp_path, "hist")


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    root = tmp_path_factory.mktemp("click") / "click"
    repo = make_click_repo(root)
    ctx = _ctx(tmp_path_factory.mktemp("cache"))
    examples = list(git_history.generate("hist", {"repos": [str(root)]}, ctx))
    return repo, examples, ctx.stats["hist"]


def _by_commit(examples):
    out = defaultdict(dict)
    for ex in examples:
        out[ex.meta["commit"]][ex.meta["task"]] = ex
    return out


def test_filters_skip_merges_bots_trivial_huge_and_binary(history):
    repo, examples, stats = history
    got = _by_commit(examples)
    c = repo.commits
    for label in ("feature", "grow", "shrink", "side"):
        assert "commit_message" in got[c[label]], label
    for label in ("merge", "bot", "trivial", "huge", "binary", "import"):
        assert c[label] not in got, label
    assert stats["skipped_bot"] == 1 and stats["skipped_trivial"] == 1
    assert stats["skipped_binary_only"] == 1
    assert stats["skipped_huge"] == 2  # the big text file and the whole click import
    assert stats["commits"] == len(c) - 1  # git itself leaves out the merge


def test_commit_message_example(history):
    repo, examples, _ = history
    ex = _by_commit(examples)[repo.commits["feature"]]["commit_message"]
    assert ex.assistant_text == "Add shout and whisper helpers\n\nBoth use echo."
    assert "+def shout(message: str) -> None:" in ex.messages[0].content
    assert ex.repo == f"click@{repo.commits['feature']}"


def test_refs_resolve_in_the_commits_own_tree(history):
    repo, examples, _ = history
    explained = [ex for ex in examples if ex.meta["task"] == "explain_change"]
    assert explained
    for ex in explained:
        sha = ex.meta["commit"]
        assert ex.refs
        assert {(m.path, m.start, m.end) for m in parse_refs(ex.assistant_text)} == {
            (r.path, r.start, r.end) for r in ex.refs
        }
        for r in ex.refs:
            lines = git(repo.root, "show", f"{sha}:{r.path}").split("\n")
            assert 1 <= r.start <= r.end <= len(lines)
    grow = _by_commit(examples)[repo.commits["grow"]]["explain_change"]
    (ref,) = grow.refs
    assert (ref.path, ref.start, ref.end) == ("notes.py", 1, 40)
    # The working tree has one line left: these refs are only right against the commit.
    assert len((repo.root / "notes.py").read_text().splitlines()) == 1


def test_refs_are_added_lines_of_a_modification(tmp_path):
    from git_fixtures import commit_all, init_repo

    root = tmp_path / "r"
    init_repo(root)
    (root / "a.py").write_text("".join(f"x{i} = {i}\n" for i in range(20)))
    commit_all(root, "Start")
    lines = (root / "a.py").read_text().splitlines()
    lines[4] = "x4 = 'four'"
    lines.insert(10, "extra = 1")
    lines.insert(11, "more = 2")
    (root / "a.py").write_text("\n".join(lines) + "\n")
    sha = commit_all(root, "Change four, add two")
    examples = list(git_history.generate("hist", {"repos": [str(root)]}, _ctx(tmp_path)))
    ex = _by_commit(examples)[sha]["explain_change"]
    assert [(r.start, r.end) for r in ex.refs] == [(5, 5), (11, 12)]
    assert "changes `a.py` (+3/-1)" in ex.assistant_text


def test_max_commits_and_non_git_directory(tmp_path, history):
    repo, _, _ = history
    ctx = _ctx(tmp_path)
    list(git_history.generate("hist", {"repos": [str(repo.root)], "max_commits": 2}, ctx))
    assert ctx.stats["hist"]["commits"] == 2
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "a.py").write_text("x = 1\n")
    ctx = _ctx(tmp_path)
    assert list(git_history.generate("hist", {"repos": [str(plain)]}, ctx)) == []
    assert ctx.stats["hist"]["not_git"] == 1


def test_diff_parser_keeps_content_lines_that_look_like_headers():
    diff = (
        "diff --git a/q.sql b/q.sql\n--- a/q.sql\n+++ b/q.sql\n@@ -1,2 +1,2 @@\n"
        "--- old comment\n+++ new comment\n select 1;\n"
    )
    (f,) = git_history.parse_diff(diff)
    assert (f.old_path, f.new_path, f.added, f.removed) == ("q.sql", "q.sql", 1, 1)
    assert f.added_runs == [(1, 1)]
