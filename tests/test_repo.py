"""Repository access: confinement, skips, decoding, cloning with a pinned commit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from git_fixtures import commit_all, git, init_repo

from wikikit.code.repo import Repo, is_git_url, open_repo
from wikikit.errors import InputError


def _write(root: Path, rel: str, data: str | bytes) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        p.write_bytes(data)
    else:
        p.write_text(data)
    return p


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    _write(root, "src/app.py", "def main():\n    return 1\n")
    _write(root, "src/util.ts", "export const x = 1;\n")
    _write(root, "README.md", "# proj\n")
    _write(root, "node_modules/left-pad/index.js", "module.exports = 1;\n")
    _write(root, "dist/bundle.js", "var a=1;\n")
    _write(root, "pkg/__pycache__/app.cpython-311.pyc", b"\x00\x01")
    _write(root, "package-lock.json", "{}\n")
    _write(root, "poetry.lock", "x\n")
    _write(root, "assets/logo.bin", b"PK\x00\x00binary")
    _write(root, "data/blob.txt", b"text\x00with nul")
    _write(root, "big.py", "x = 1\n" * 400)
    _write(root, "latin1.py", "# caf\xe9\n".encode("latin-1") + b"x = 1\n")
    _write(root, "crlf.py", b"a = 1\r\nb = 2\r\n")
    outside = tmp_path / "secret.txt"
    outside.write_text("top secret\n")
    os.symlink(outside, root / "leak.txt")
    os.symlink(tmp_path, root / "escape_dir")
    os.symlink(root / "src" / "app.py", root / "alias.py")  # inside the root
    return root


def test_iter_files_skips_and_counts(tree: Path) -> None:
    repo = Repo(tree, "proj", max_file_bytes=1000)
    files = list(repo.iter_files())
    assert files == ["README.md", "crlf.py", "latin1.py", "src/app.py", "src/util.ts"]
    assert files == sorted(files)
    s = repo.stats
    assert s["vendored"] == 3  # node_modules, dist, __pycache__
    assert s["lockfile"] == 2
    assert s["binary"] == 2  # by extension and by NUL byte
    assert s["too_large"] == 1
    assert s["symlink_outside"] == 2  # a file and a directory leaving the root
    assert s["symlink"] == 1
    # Listing twice neither changes the result nor double-counts.
    assert list(repo.iter_files()) == files
    assert repo.stats["lockfile"] == 2


def test_read_text_is_confined(tree: Path) -> None:
    repo = Repo(tree, "proj")
    assert repo.read_text("src/app.py").startswith("def main")
    assert repo.read_text("./src/app.py").startswith("def main")
    assert repo.read_text("alias.py").startswith("def main")  # a link that stays inside
    for bad in (
        "leak.txt",
        "escape_dir/secret.txt",
        "../secret.txt",
        "src/../../secret.txt",
        "/etc/passwd",
    ):
        with pytest.raises(InputError):
            repo.read_text(bad)
        assert not repo.exists(bad)
    with pytest.raises(InputError, match="no such file"):
        repo.read_text("src/missing.py")


def test_decoding_and_lines(tree: Path) -> None:
    repo = Repo(tree, "proj")
    text = repo.read_text("latin1.py")
    assert "\ufffd" in text and text.endswith("x = 1\n")
    assert repo.stats["decode_replaced"] == 1
    repo.read_text("latin1.py")
    assert repo.stats["decode_replaced"] == 1  # counted once per file
    assert repo.lines("crlf.py") == ["a = 1", "b = 2"]
    assert repo.lines("src/app.py") == ["def main():", "    return 1"]


def test_language_of() -> None:
    repo = Repo(Path("."), "x")
    assert repo.language_of("a/b.py") == "python"
    assert repo.language_of("a/b.tsx") == "typescript"
    assert repo.language_of("main.go") == "go"
    assert repo.language_of("lib.rs") == "rust"
    assert repo.language_of("A.java") == "java"
    assert repo.language_of("x.hpp") == "cpp"
    assert repo.language_of("x.cs") == "csharp"
    assert repo.language_of("LICENSE") is None


def test_is_git_url() -> None:
    assert is_git_url("https://github.com/a/b.git")
    assert is_git_url("file:///tmp/x")
    assert is_git_url("git@github.com:a/b.git")
    assert is_git_url("ssh://git@host/a/b")
    assert not is_git_url("repos/mine")
    assert not is_git_url("/abs/path")


def test_open_local_path_records_head(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    init_repo(root)
    _write(root, "a.py", "x = 1\n")
    sha = commit_all(root)
    repo = open_repo("lib", tmp_path, tmp_path / "cache")
    assert repo.root == root.resolve()
    assert repo.commit == sha
    assert repo.id == f"lib@{sha}"
    plain = tmp_path / "plain"
    plain.mkdir()
    r2 = open_repo({"path": str(plain), "name": "nick"}, tmp_path, tmp_path / "cache")
    assert r2.commit is None and r2.id == "nick"


def test_missing_path_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(
        InputError, match=r"data.sources.t.repos.0: repository path not found: nope"
    ):
        open_repo("nope", tmp_path, tmp_path / "c", label="data.sources.t.repos.0")


def test_clone_file_url_with_pinned_commit(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    init_repo(origin)
    _write(origin, "mod.py", "VERSION = 1\n")
    first = commit_all(origin, "v1")
    _write(origin, "mod.py", "VERSION = 2\n")
    _write(origin, "new.py", "y = 2\n")
    second = commit_all(origin, "v2")
    cache = tmp_path / "cache"

    pinned = open_repo({"url": origin.as_uri(), "commit": first}, tmp_path, cache)
    assert pinned.commit == first
    assert pinned.read_text("mod.py") == "VERSION = 1\n"
    assert list(pinned.iter_files()) == ["mod.py"]
    assert cache in pinned.root.parents and pinned.name == "origin"

    head = open_repo(origin.as_uri(), tmp_path, cache)
    assert head.commit == second
    assert head.read_text("mod.py") == "VERSION = 2\n"
    assert head.root != pinned.root

    # Re-use: a second open finds the finished clone (a marker file we drop survives).
    (pinned.root / "marker").write_text("kept")
    again = open_repo({"url": origin.as_uri(), "commit": first}, tmp_path, cache)
    assert again.root == pinned.root and (again.root / "marker").exists()
    # No half-finished temporary clones are left behind.
    assert sorted(p.name for p in (cache / "repos").iterdir() if p.name.startswith(".")) == []


def test_clone_plain_path_url_and_local_commit(tmp_path: Path) -> None:
    origin = tmp_path / "up"
    init_repo(origin)
    _write(origin, "a.txt", "one\n")
    first = commit_all(origin)
    _write(origin, "a.txt", "two\n")
    commit_all(origin)
    git(origin, "tag", "v1", first)
    by_path = open_repo({"url": "up", "commit": "v1", "name": "upstream"}, tmp_path, tmp_path / "c")
    assert by_path.commit == first and by_path.id == f"upstream@{first}"
    assert by_path.read_text("a.txt") == "one\n"
    # A local path with a commit reads that commit, not the working tree.
    _write(origin, "a.txt", "dirty\n")
    local = open_repo({"path": "up", "commit": first}, tmp_path, tmp_path / "c")
    assert local.read_text("a.txt") == "one\n"


def test_failed_clone_is_one_line_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        open_repo({"url": (tmp_path / "none").as_uri()}, tmp_path, tmp_path / "c", label="k")
    assert str(info.value).startswith("k: cannot clone ")
    assert "\n" not in str(info.value)
    origin = tmp_path / "o"
    init_repo(origin)
    _write(origin, "a", "a\n")
    commit_all(origin)
    with pytest.raises(InputError, match="cannot check out deadbeef"):
        open_repo({"url": origin.as_uri(), "commit": "deadbeef"}, tmp_path, tmp_path / "c")
    assert not any((tmp_path / "c" / "repos").iterdir())


def test_split_lines_breaks_at_newlines_only():
    from wikikit.code.repo import split_lines
    from wikikit.mermaid.blocks import extract_mermaid_blocks

    assert split_lines("a\x0cb\r\nc\u2028d\x85e\n") == ["a\x0cb", "c\u2028d\x85e"]
    md = "# T\n\n```mermaid\nflowchart TD\n  A[x\u2028y] --> B\n```\nafter\n"
    (block,) = extract_mermaid_blocks(md)
    assert block.text.count("\n") <= 2 and "A[x\u2028y]" in block.text and block.end_line == 6
