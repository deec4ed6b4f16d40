"""Repositories for the code-mining source tests: real click source in git, and hostile trees."""

from __future__ import annotations

import os
import shutil
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import click
from git_fixtures import commit_all, git, init_repo

HELPER = '''"""Small helpers added in a synthetic commit."""

from click.utils import echo


def shout(message: str) -> None:
    """Print a message in upper case.

    The text goes through click's own echo.
    """
    echo(message.upper())


def whisper(message: str) -> None:
    """Print a message in lower case."""
    echo(message.lower())
'''


@dataclass
class ClickRepo:
    root: Path
    commits: dict[str, str] = field(default_factory=dict)  # label -> sha


def make_click_repo(root: Path) -> ClickRepo:
    """click's installed source in a git repo, plus synthetic commits of every kind we filter."""
    src = Path(click.__file__).parent
    init_repo(root)
    shutil.copytree(src, root / "src" / "click", ignore=shutil.ignore_patterns("__pycache__"))
    repo = ClickRepo(root)
    repo.commits["import"] = commit_all(root, "Import click")

    (root / "src" / "click" / "helpers.py").write_text(HELPER)
    repo.commits["feature"] = commit_all(root, "Add shout and whisper helpers\n\nBoth use echo.")

    # A file that a later commit shrinks: its refs only resolve in the commit's own tree.
    (root / "notes.py").write_text("".join(f"VALUE_{i} = {i}\n" for i in range(40)))
    repo.commits["grow"] = commit_all(root, "Add forty constants")
    (root / "notes.py").write_text("VALUE_0 = 0\n")
    repo.commits["shrink"] = commit_all(root, "Keep only the first constant")

    with open(root / "src" / "click" / "helpers.py", "a") as fh:
        fh.write("\n")
    repo.commits["trivial"] = commit_all(root, "Add a blank line")

    (root / "big.txt").write_text("".join(f"line {i}\n" for i in range(1200)))
    repo.commits["huge"] = commit_all(root, "Add a big text file")

    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    repo.commits["binary"] = commit_all(root, "Add a logo")

    (root / "requirements.txt").write_text("click==8\nrich==13\n")
    git(root, "add", "-A")
    env_author = "dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>"
    git(root, "commit", "-q", "-m", "Bump deps", f"--author={env_author}")
    repo.commits["bot"] = git(root, "rev-parse", "HEAD")

    git(root, "checkout", "-q", "-b", "side")
    (root / "side.py").write_text('def side():\n    """Side branch."""\n    return 1\n')
    repo.commits["side"] = commit_all(root, "Add side function")
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-ff", "-m", "Merge branch side", "side")
    repo.commits["merge"] = git(root, "rev-parse", "HEAD")
    return repo


def make_hostile_repo(root: Path, outside: Path) -> None:
    """Non-UTF-8, binary, a symlink out of the repo, a 50 MB sparse file, and normal code."""
    root.mkdir(parents=True)
    (root / "good.py").write_text(
        'def ok(x):\n    """Return x plus one, for the test."""\n    y = x + 1\n    return y\n'
    )
    (root / "latin1.py").write_bytes(
        b'# caf\xe9\ndef cafe():\n    """Caf\xe9 helper."""\n    return "caf\xe9"\n'
    )
    (root / "blob.py").write_bytes(b"def f():\n    return 1\n\x00\x01\x02binary")
    (root / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    outside.mkdir(parents=True, exist_ok=True)
    secret = outside / "secret.py"
    secret.write_text('def secret():\n    """Outside the repository."""\n    return 42\n')
    os.symlink(secret, root / "link_out.py")
    os.symlink(outside, root / "dir_out")
    with open(root / "huge.py", "wb") as fh:  # sparse: instant, no disk blocks
        fh.truncate(50 * 1024 * 1024)


def make_many_files_repo(root: Path, n: int = 10_000) -> None:
    """n small Python files in 100 packages; classes, functions, calls across files."""
    for i in range(n):
        pkg = root / f"pkg{i % 100:03d}"
        if i < 100:
            pkg.mkdir(parents=True)
        (pkg / f"mod{i:05d}.py").write_text(
            f'"""Module {i}."""\n\n'
            f"class Base{i}:\n"
            f'    """Base number {i}."""\n\n'
            f"    def run(self, x):\n"
            f'        """Run step {i}."""\n'
            f"        return helper_{i}(x) + {i}\n\n\n"
            f"def helper_{i}(x):\n"
            f'    """Help with {i}."""\n'
            f"    if x > {i}:\n"
            f"        return x - 1\n"
            f"    return x\n"
        )


def source_ctx(tmp_path: Path, name: str, seed: int = 0) -> SimpleNamespace:
    """What a source reads of its SourceContext when no recipe is involved."""
    return SimpleNamespace(
        recipe=None,
        cache_dir=tmp_path / "cache",
        seed=seed,
        stats=defaultdict(Counter),
        artifacts={},
        key_path=("data", "sources", name),
    )
