"""fim on real click source: spans at syntax nodes that reassemble to the exact file text."""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest
from code_mining_repos import make_click_repo, make_hostile_repo, source_ctx

from wikikit.data.sources import fim


def _ctx(tmp_path: Path) -> SimpleNamespace:
    return source_ctx(tmp_path, "fim", seed=3)


@pytest.fixture(scope="module")
def click_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("click") / "click"
    make_click_repo(root)
    return root


def _run(root: Path, tmp_path: Path, **cfg):
    ctx = _ctx(tmp_path)
    examples = list(fim.generate("fim", {"repos": [str(root)], **cfg}, ctx))
    return examples, ctx.stats["fim"]


def test_spans_reassemble_exactly(click_root, tmp_path):
    examples, stats = _run(click_root, tmp_path, per_file=3, max_chars=200_000)
    assert len(examples) >= 3 * 15
    for ex in examples:
        m = ex.meta
        original = (click_root / m["path"]).read_bytes().decode("utf-8")
        assert m["whole_file"] is True
        assert m["prefix"] + m["middle"] + m["suffix"] == original
        assert ex.messages[1].content == m["middle"]
        user = ex.messages[0].content
        assert f"<fim_prefix>{m['prefix']}</fim_prefix>" in user
        assert f"<fim_suffix>{m['suffix']}</fim_suffix>" in user
        (ref,) = ex.refs
        lines = original.splitlines()
        assert 1 <= ref.start <= ref.end <= len(lines)
        # The middle's text lies on exactly those lines.
        assert m["middle"].splitlines()[0] in lines[ref.start - 1]
    assert stats["examples"] == len(examples)


def test_middles_are_syntactic_units(click_root, tmp_path):
    """Every middle of a Python file is a statement or a block: it parses on its own."""
    examples, _ = _run(click_root, tmp_path, per_file=4, max_chars=200_000)
    python = [ex for ex in examples if ex.meta["path"].endswith(".py")]
    assert python
    for ex in python:
        middle = ex.meta["middle"]
        # A block's continuation lines keep the block's indentation: re-indent the first line.
        indent = len(ex.meta["prefix"]) - len(ex.meta["prefix"].rstrip(" "))
        ast.parse(_dedent(" " * indent + middle))


def _dedent(text: str) -> str:
    import textwrap

    return textwrap.dedent(text)


def test_max_chars_windows_long_files(click_root, tmp_path):
    examples, _ = _run(click_root, tmp_path, per_file=2, max_chars=2000)
    windowed = [ex for ex in examples if not ex.meta["whole_file"]]
    assert windowed
    for ex in examples:
        m = ex.meta
        original = (click_root / m["path"]).read_bytes().decode("utf-8")
        ws, we = m["window"]
        assert m["prefix"] + m["middle"] + m["suffix"] == original[ws:we]
        assert len(m["prefix"] + m["middle"] + m["suffix"]) <= 2000
        assert ws == 0 or original[ws - 1] == "\n"  # windows start at a line start


def test_crlf_file_is_exact_and_multilanguage(tmp_path):
    root = tmp_path / "r"
    root.mkdir()
    (root / "a.py").write_bytes(b"def f(x):\r\n    y = x * 2\r\n    return y\r\n")
    (root / "b.go").write_text("package b\n\nfunc G(x int) int {\n\ty := x + 1\n\treturn y\n}\n")
    (root / "c.ts").write_text(
        "export function h(a: number): number {\n  const b = a + 1;\n  return b;\n}\n"
    )
    examples, _ = _run(root, tmp_path, per_file=5)
    assert {ex.language for ex in examples} == {"python", "go", "typescript"}
    for ex in examples:
        m = ex.meta
        assert m["prefix"] + m["middle"] + m["suffix"] == (root / m["path"]).read_bytes().decode()


def test_hostile_repo_is_skipped_and_counted(tmp_path):
    root = tmp_path / "hostile"
    make_hostile_repo(root, tmp_path / "outside")
    examples, stats = _run(root, tmp_path)
    assert stats["not_utf8"] == 1  # latin1.py: its exact text cannot be reproduced
    assert stats["too_large"] == 1 and stats["symlink_outside"] == 2 and stats["binary"] >= 2
    assert {ex.meta["path"] for ex in examples} == {"good.py"}


def test_deterministic(click_root, tmp_path):
    a, _ = _run(click_root, tmp_path)
    b, _ = _run(click_root, tmp_path)
    assert [x.to_json() for x in a] == [y.to_json() for y in b]
