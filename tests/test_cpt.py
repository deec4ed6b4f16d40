"""cpt on real click source: path-wrapped files packed to token targets, with a size report."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

import pytest
from code_mining_repos import make_click_repo, make_hostile_repo, source_ctx

from wikikit.data.sources import cpt
from wikikit.tokens import count_tokens

_PIECE_RE = re.compile(r"<path>([^<:]+)(?::(\d+)-(\d+))?</path><file>(.*?)</file>", re.S)


def _ctx(tmp_path: Path) -> SimpleNamespace:
    return source_ctx(tmp_path, "code")


@pytest.fixture(scope="module")
def click_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("click") / "click"
    make_click_repo(root)
    return root


def _run(root: Path, tmp_path: Path, **cfg):
    ctx = _ctx(tmp_path)
    examples = list(cpt.generate("code", {"repos": [str(root)], **cfg}, ctx))
    return examples, ctx


def test_packed_documents_rebuild_every_file(click_root, tmp_path):
    examples, ctx = _run(click_root, tmp_path, target_tokens=[2048, 8192])
    assert examples and all(ex.category == "cpt" for ex in examples)
    rebuilt: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for ex in examples:
        (msg,) = ex.messages
        assert msg.role == "assistant"
        n = count_tokens(msg.content)
        assert n <= 8192 and ex.meta["tokens"] == n
        pieces = _PIECE_RE.findall(msg.content)
        assert len(pieces) == len(ex.refs)
        for (path, start, _end, body), ref in zip(pieces, ex.refs, strict=True):
            assert ref.path == path
            rebuilt[path].append((int(start or 1), body))
            lines = (click_root / path).read_text(encoding="utf-8").splitlines()
            assert 1 <= ref.start <= ref.end <= len(lines)  # every reference resolves
            assert body == "\n".join(lines[ref.start - 1 : ref.end]) + "\n"
    # Every text file of the repo is in the corpus once, whole or in consecutive parts.
    for path, parts in rebuilt.items():
        text = "".join(body for _, body in sorted(parts))
        assert text == (click_root / path).read_text(encoding="utf-8")
    assert "src/click/core.py" in rebuilt and len(rebuilt["src/click/core.py"]) > 1  # split
    assert ctx.stats["code"]["files_split"] >= 1


def test_size_report_matches_documents(click_root, tmp_path):
    examples, ctx = _run(click_root, tmp_path, target_tokens=[2048, 8192])
    report = ctx.artifacts["cpt/code/sizes.json"]
    sizes = [count_tokens(ex.messages[0].content) for ex in examples]
    assert report["documents"] == len(examples) and report["tokens"] == sum(sizes)
    assert report["max"] == max(sizes) and report["over_max"] == 0
    assert sum(report["histogram"].values()) == len(examples)
    # Greedy packing: all but the last document of a run are at least the lower target.
    assert sum(1 for n in sizes if n < 2048) <= 2


def test_small_files_are_packed_by_directory(tmp_path):
    root = tmp_path / "r"
    for d in ("alpha", "beta"):
        for i in range(30):
            p = root / d / f"f{i:02d}.py"
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(f"def {d}_{i}():\n    return {i}\n" * 5)
    examples, _ = _run(root, tmp_path, target_tokens=[300, 600])
    assert len(examples) > 2
    order = [path for ex in examples for path in ex.meta["files"]]
    # All of alpha/ comes before any of beta/: a module's files stay together.
    assert max(i for i, p in enumerate(order) if p.startswith("alpha/")) < min(
        i for i, p in enumerate(order) if p.startswith("beta/")
    )
    assert all(count_tokens(ex.messages[0].content) <= 600 for ex in examples)


def test_min_and_max_file_bytes(tmp_path):
    root = tmp_path / "r"
    root.mkdir()
    (root / "tiny.py").write_text("x = 1\n")
    (root / "mid.py").write_text("y = 2\n" * 50)
    (root / "big.py").write_text("z = 3\n" * 5000)
    examples, ctx = _run(root, tmp_path, min_file_bytes=100, max_file_bytes=10_000)
    files = {p for ex in examples for p in ex.meta["files"]}
    assert files == {"mid.py"}
    assert ctx.stats["code"]["too_small"] == 1 and ctx.stats["code"]["too_large"] == 1


def test_hostile_repo_is_skipped_and_counted(tmp_path):
    root = tmp_path / "hostile"
    make_hostile_repo(root, tmp_path / "outside")
    examples, ctx = _run(root, tmp_path)
    stats = ctx.stats["code"]
    assert stats["too_large"] == 1 and stats["symlink_outside"] == 2 and stats["binary"] >= 2
    files = {p for ex in examples for p in ex.meta["files"]}
    assert files == {"good.py", "latin1.py"}
    text = "".join(ex.messages[0].content for ex in examples)
    assert "Outside the repository" not in text and "\x00" not in text
