"""Data a stranger controls is bounded, counted and reported, never a hang or a traceback (issue
20): JSONL lines of 1 GiB and of 100,000 nested brackets, text the tokenizer cannot take,
hostile teacher and judge replies, repositories outside the recipe's roots.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from teacher_fakes import FakeTeacherServer

from wikikit import console
from wikikit.bounded import (
    MAX_LINE_BYTES,
    MAX_REPLY_CHARS,
    OutOfBounds,
    bounded_lines,
    json_loads,
    json_object_in,
)
from wikikit.data.filters.length import OversizedPieceFilter
from wikikit.data.sources import SourceContext
from wikikit.data.sources._repos import open_source_repo
from wikikit.data.sources.jsonl import generate
from wikikit.errors import InputError
from wikikit.eval.codewikibench.docs import Docs
from wikikit.eval.codewikibench.judge import JudgeSettings, judge_docs
from wikikit.example import Example, Message
from wikikit.paths import REPO_ROOT
from wikikit.recipe.load import load_recipe
from wikikit.teachers import Fatal, TeacherRequest, make_teacher
from wikikit.tokens import MAX_PIECE_CHARS, has_oversized_piece

GIB = 1 << 30


def _record(i: int, answer: str | None = None) -> str:
    answer = answer or f"The module {i} parses the input and hands it to the scheduler."
    return json.dumps({"messages": [{"role": "user", "content": f"What does module {i} do?"},
                                    {"role": "assistant", "content": answer}]})  # fmt: skip


def _hostile_jsonl(path: Path, long_line: int = GIB) -> None:
    """Good lines around a 1 GiB line (sparse: costs no disk) and a 100,000-deep one."""
    with open(path, "wb") as fh:
        fh.write((_record(1) + "\n").encode())
        fh.seek(long_line, os.SEEK_CUR)  # a hole: reads back as NUL bytes, no newline
        fh.write(b"\n")
        fh.write(("[" * 100_000 + "]" * 100_000 + "\n").encode())
        fh.write((_record(2) + "\n").encode())


class _Recipe:
    def __init__(self, folder: Path):
        self.folder = folder

    def resolve_path(self, value: str, key_path: tuple) -> Path:
        return (self.folder / value).resolve()


def test_jsonl_skips_and_counts_a_1_gib_line_and_deep_json_in_bounded_memory(tmp_path, capsys):
    _hostile_jsonl(tmp_path / "data.jsonl")
    ctx = SourceContext(
        recipe=_Recipe(tmp_path), cache_dir=tmp_path / "c", key_path=("data", "sources", "s")
    )  # type: ignore[arg-type]
    tracemalloc.start()
    try:
        examples = list(generate("s", {"kind": "jsonl", "paths": ["data.jsonl"]}, ctx))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [e.meta["line"] for e in examples] == [1, 4]
    stats = ctx.stats["s"]
    assert stats["records"] == 2 and stats["malformed"] == 2 and stats["out_of_bounds"] == 2
    assert peak < 3 * MAX_LINE_BYTES, f"{peak / 2**20:.0f} MiB"  # never the whole 1 GiB line
    err = capsys.readouterr().err
    assert "data.jsonl:2: the line is over 16 MiB (skipped without reading it whole)" in err
    assert "data.jsonl:3: the line is nested deeper than 100 levels" in err


def test_bounded_lines_reads_through_an_endless_line(tmp_path):
    p = tmp_path / "x"
    p.write_bytes(b"short\n" + b"y" * 5000 + b"\nlast")
    with open(p, "rb") as fh:
        got = list(bounded_lines(fh, max_bytes=1000))
    assert got == [(1, b"short\n", 6), (2, None, 5001), (3, b"last", 4)]


def test_json_bounds():
    assert json_loads('{"a": [1, {"b": 2}]}', max_chars=100) == {"a": [1, {"b": 2}]}
    with pytest.raises(OutOfBounds, match="over the 10 bytes limit"):
        json_loads('{"a": "0123456789"}', max_chars=10)
    with pytest.raises(OutOfBounds, match="nested deeper than 5"):
        json_loads("[[[[[[1]]]]]]", max_chars=100, max_depth=5)
    with pytest.raises(OutOfBounds, match="nested deeper"):  # past the C decoder's recursion
        json_loads("[" * 100_000 + "]" * 100_000, max_chars=1 << 20)
    with pytest.raises(json.JSONDecodeError):
        json_loads("{nope", max_chars=100)


def test_the_reply_object_search_is_linear_on_a_hostile_reply():
    # re.search(r"\{.*\}", text, re.S) rescans from every "{": quadratic here (hours).
    hostile = "{" * 200_000
    start = time.process_time()
    assert json_object_in(hostile) is None
    assert json_object_in("Verdict: " + '{"score": 1, "reasoning": "ok"}' + " done") == {
        "score": 1,
        "reasoning": "ok",
    }
    assert time.process_time() - start < 1.0
    with pytest.raises(OutOfBounds):
        json_object_in("{" + "x" * MAX_REPLY_CHARS + "}")


def test_the_judge_counts_hostile_replies_as_failures_never_passes():
    rubrics = [{"requirements": r, "weight": 1} for r in ("a", "b", "c", "d")]
    replies = iter(
        [
            "{" * 200_000,  # no object, and a quadratic trap for a regex
            "[" * 50_000 + "{" + '"score": 1' + "}",  # the object is fine, nothing else matters
            '{"score": ' + "[" * 100_000 + "1" + "]" * 100_000 + "}",  # too deep
            "x" * (MAX_REPLY_CHARS + 1),  # too large
        ]
    )
    docs = Docs("d", {"title": "Docs"}, {"title": "Docs", "content": {"Intro": "text"}})
    start = time.process_time()
    run = judge_docs(
        rubrics,
        docs,
        lambda convos: [next(replies) for _ in convos],
        JudgeSettings(mode="whole", attempts=1),
    )
    assert time.process_time() - start < 5.0
    assert run.judged == 1 and len(run.errors) == 3
    assert {e["requirement"] for e in run.errors} == {"a", "c", "d"}
    assert run.score == 1.0  # only the judged leaf counts; failures are excluded


@pytest.mark.parametrize("provider", ["anthropic", "openai", "ollama"])
def test_an_oversized_teacher_reply_is_a_counted_failure_and_never_cached(provider, tmp_path):
    big = "word " * (MAX_REPLY_CHARS // 5 + 10)
    with FakeTeacherServer(lambda api, body: big if "huge" in json.dumps(body) else "ok") as srv:
        teacher = make_teacher(
            {
                "provider": provider,
                "model": "claude-sonnet-5-5" if provider == "anthropic" else "gpt-4o",
                "base_url": srv.base_url(provider),
                "max_attempts": 2,
                "backoff_base_s": 0.01,
            },
            api_key="sk-test",
            cache_path=tmp_path / "t.sqlite",
        )
        out = teacher.complete_many(
            [TeacherRequest.of([("user", "huge please")]), TeacherRequest.of([("user", "hi")])]
        )
    assert isinstance(out[0], Fatal) and "over the" in str(out[0])
    assert out[1].text == "ok"
    assert teacher.usage.failures["oversized"] == 1
    assert len(teacher.cache) == 1  # only the normal reply


def test_the_tokenizer_guard_finds_long_pieces_in_linear_time():
    assert not has_oversized_piece("a" * MAX_PIECE_CHARS + " " + "b" * MAX_PIECE_CHARS)
    assert has_oversized_piece("x " + "a" * (MAX_PIECE_CHARS + 1))
    assert has_oversized_piece("!" * (MAX_PIECE_CHARS + 1)) and has_oversized_piece(" " * 20_000)
    text = ("a" * (MAX_PIECE_CHARS - 1) + " ") * 500  # many runs just under: still linear
    start = time.process_time()
    assert not has_oversized_piece(text)
    assert time.process_time() - start < 2.0
    ex = Example(
        id="x",
        messages=[Message("user", "q"), Message("assistant", "z" * 2_000_000)],
        source="jsonl",
        category="custom",
    )
    assert OversizedPieceFilter().check(ex).startswith("oversized_piece")


def test_repositories_outside_the_roots_are_refused_file_urls_too(tmp_path, monkeypatch):
    team, private = tmp_path / "team", tmp_path / "private"
    team.mkdir()
    subprocess.run(["git", "init", "-q", str(private)], check=True)
    (team / "r.yaml").write_text("wikikit: 1\nname: r\nmodel: {base: m}\n")
    monkeypatch.chdir(team)
    recipe = load_recipe(team / "r.yaml")
    ctx = SourceContext(
        recipe=recipe, cache_dir=tmp_path / "cache", key_path=("data", "sources", "s")
    )
    for spec in (str(private), f"file://{private}", {"url": f"file://{private}"}, "../private"):
        with pytest.raises(InputError, match="is outside the recipe's folder"):
            open_source_repo(spec, 0, ctx, 1000)
    assert not (tmp_path / "cache").exists()  # nothing was cloned


@pytest.mark.slow
def test_the_data_stage_survives_a_hostile_jsonl_source_end_to_end(tmp_path):
    """`wikikit run` (data only) on good records plus a 64 MiB line, 100,000 nested brackets and
    a 2,000,000-letter answer (openai-harmony panics on it): exit 0, each skipped and counted."""
    lines = [
        _record(i, f"Module {i} " + "parses input and schedules work. " * 12) for i in range(8)
    ]
    (tmp_path / "good.jsonl").write_text("\n".join(lines) + "\n")
    _hostile_jsonl(tmp_path / "hostile.jsonl", long_line=64 << 20)  # 1 GiB: the test above
    with open(tmp_path / "hostile.jsonl", "a") as fh:
        fh.write(_record(99, "z" * 2_000_000) + "\n")
    (tmp_path / "r.yaml").write_text(
        "wikikit: 1\nname: hostile\nseed: 1\nstages: [data]\n"
        "model: {base: tiny-gpt-oss, format: harmony}\n"
        "data:\n  size: 8\n  mix: {all: {weight: 1, sources: [mine]}}\n"
        "  sources: {mine: {kind: jsonl, paths: [good.jsonl, hostile.jsonl]}}\n"
        "  quality: {min_chars: 10, require_refs: false, verify_refs: false, mermaid: ignore}\n"
        "  split: {train: 0.75, validation: 0.125, test: 0.125}\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "wikikit.cli", "run", "r.yaml", "--run-dir", "run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "PanicException" not in proc.stderr
    quality = json.loads((tmp_path / "run" / "data" / "quality.json").read_text())
    text = json.dumps(quality)
    assert re.search(r'"malformed": 2\b', text) and re.search(r'"out_of_bounds": 2\b', text), text
    assert re.search(r'"oversized_piece": 1\b', text), text


def test_control_characters_from_a_recipe_cannot_drive_the_terminal(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.yaml").write_text(
        'wikikit: 1\nname: x\nmodel: {base: m}\nseed: "\\e[2J\\e]0;pwned\\a\\u2028error: forged"\n'
    )
    from click.testing import CliRunner

    from wikikit.cli import cli

    result = CliRunner().invoke(cli, ["validate", "r.yaml"])
    assert result.exit_code == 2
    assert "\x1b" not in result.stderr and "\u2028" not in result.stderr
    assert len(result.stderr.splitlines()) == 1 and "\\x1b[2J" in result.stderr
    assert console.printable("tab\there") == "tab\\there"


def test_a_malformed_or_oversized_cached_response_is_a_miss_not_a_crash(tmp_path):
    """A colleague's shared teacher cache is a stranger's input too."""
    import sqlite3

    from wikikit.teachers.cache import CACHED_ROW_CHARS, ResponseCache

    path = tmp_path / "cache.sqlite"
    cache = ResponseCache(path)
    cache.put("good", "anthropic", "m", {"text": "fine"})
    cache.put("deep", "anthropic", "m", {"text": "x"})
    cache.put("huge", "anthropic", "m", {"text": "x"})
    cache.put("broken", "anthropic", "m", {"text": "x"})
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE responses SET response = ? WHERE key = 'deep'", ("[" * 100_000,))
        conn.execute(
            "UPDATE responses SET response = ? WHERE key = 'huge'",
            ('{"text": "' + "a" * CACHED_ROW_CHARS + '"}',),
        )
        conn.execute("UPDATE responses SET response = '{\"text\": ' WHERE key = 'broken'")
    assert cache.get("good") == {"text": "fine"}
    assert [cache.get(k) for k in ("deep", "huge", "broken")] == [None, None, None]
    assert cache.bad_rows == 3
