"""Bring-your-own JSONL: every record format, malformed lines reported and skipped."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from wikikit import console
from wikikit.data.sources import SourceContext
from wikikit.data.sources.jsonl import generate, record_to_example
from wikikit.errors import InputError


class StandInRecipe:
    def __init__(self, folder: Path):
        self.folder = folder

    def resolve_path(self, value: str, key_path: tuple) -> Path:
        return (self.folder / value).resolve()


def _ctx(tmp_path: Path) -> SourceContext:
    return SourceContext(
        recipe=StandInRecipe(tmp_path),  # type: ignore[arg-type]
        cache_dir=tmp_path / "cache",
        key_path=("data", "sources", "mine"),
    )


GOOD = [
    {
        "messages": [
            {"role": "system", "content": "You write wikis."},
            {"role": "user", "content": "Where is auth?"},
            {
                "role": "assistant",
                "content": "In the provider.\n\n**Source:** [`src/auth.ts:3-9`](src/auth.ts#L3-L9)",
                "thinking": "Look at src.",
            },
        ],
        "category": "qa",
        "language": "typescript",
        "repo": "app@abc",
    },
    {"instruction": "Summarize the module.", "input": "def f(): pass", "output": "It defines f."},
    {"question": "What does f do?", "thinking_trace": "f returns None.", "answer": "Nothing."},
    {
        "conversation": [
            {"from": "human", "value": "Hi, document `db.py`."},
            {"from": "gpt", "value": "Sure: see `db.py:1-4`."},
            {"from": "human", "value": "Thanks, and the pool?"},
            {"from": "gpt", "value": "Pooling lives in `pool.py:10`."},
        ]
    },
    {
        "conversations": [
            {"role": "user", "content": "List files"},
            {"role": "assistant", "content": "", "tool_calls": []},
            {"role": "assistant", "content": "Done."},
        ]
    },
    {
        "messages": [
            {"role": "user", "content": "Read it"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "type": "function",
                        "function": {"name": "read_file", "arguments": '{"path": "a.py"}'},
                    }
                ],
            },
            {"role": "tool", "name": "read_file", "content": "x = 1"},
            {"role": "assistant", "content": [{"type": "text", "text": "It sets x."}]},
        ]
    },
]


def _write_jsonl(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n")


def test_all_formats_map_to_examples(tmp_path: Path) -> None:
    _write_jsonl(tmp_path / "mine.jsonl", [json.dumps(r) for r in GOOD])
    ctx = _ctx(tmp_path)
    examples = list(
        generate("mine", {"kind": "jsonl", "paths": ["mine.jsonl"], "category": "custom"}, ctx)
    )
    assert len(examples) == len(GOOD)
    msgs, instr, qa, conv, conv2, tools = examples

    assert [m.role for m in msgs.messages] == ["system", "user", "assistant"]
    assert msgs.messages[-1].thinking == "Look at src."
    assert (msgs.category, msgs.language, msgs.repo) == ("qa", "typescript", "app@abc")
    assert [r.to_dict() for r in msgs.refs] == [{"path": "src/auth.ts", "start": 3, "end": 9}]

    assert instr.messages[0].content == "Summarize the module.\n\ndef f(): pass"
    assert instr.messages[1].content == "It defines f." and instr.category == "custom"

    assert qa.messages[1].thinking == "f returns None." and qa.messages[1].content == "Nothing."

    assert [m.role for m in conv.messages] == ["user", "assistant", "user", "assistant"]
    assert [(r.path, r.start, r.end) for r in conv.refs] == [("db.py", 1, 4), ("pool.py", 10, 10)]
    assert [m.role for m in conv2.messages] == ["user", "assistant", "assistant"]

    call = tools.messages[1].tool_calls[0]
    assert (call.name, call.arguments) == ("read_file", {"path": "a.py"})
    assert tools.messages[2].name == "read_file" and tools.messages[3].content == "It sets x."

    for ex in examples:
        assert ex.source == "jsonl" and ex.meta["file"] == "mine.jsonl"
    assert [ex.meta["line"] for ex in examples] == [1, 2, 3, 4, 5, 6]
    assert len({ex.id for ex in examples}) == len(examples)
    assert ctx.stats["mine"]["records"] == 6 and ctx.stats["mine"]["malformed"] == 0
    # Same input → same ids.
    assert [e.id for e in generate("mine", {"paths": ["mine.jsonl"]}, _ctx(tmp_path))] == [
        e.id for e in examples
    ]


def test_malformed_lines_are_reported_with_line_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    console.set_mode("normal")
    lines = [
        json.dumps(GOOD[1]),
        "{not json",
        "",
        json.dumps([1, 2]),
        json.dumps({"foo": "bar"}),
        json.dumps({"messages": [{"role": "wizard", "content": "x"}]}),
        json.dumps({"messages": [{"role": "user", "content": "only a question"}]}),
        json.dumps({"instruction": "Do it", "output": ""}),
        json.dumps({"conversation": [{"from": "alien", "value": "hi"}]}),
        json.dumps({"question": "q?", "answer": "a", "category": 5}),
        json.dumps(
            {
                "messages": [
                    {"role": "user", "content": "q"},
                    {"role": "assistant", "content": "a"},
                    {"role": "user", "content": "more?"},
                ]
            }
        ),
        json.dumps(GOOD[2]),
    ]
    _write_jsonl(tmp_path / "bad.jsonl", lines)
    ctx = _ctx(tmp_path)
    examples = list(generate("mine", {"paths": ["bad.jsonl"]}, ctx))
    assert [e.meta["line"] for e in examples] == [1, 12]
    assert ctx.stats["mine"]["malformed"] == 9
    err = capsys.readouterr().err.splitlines()
    warnings = [line for line in err if line.startswith("warning: bad.jsonl:")]
    assert [w.split(":")[2] for w in warnings] == ["2", "4", "5", "6", "7", "8", "9", "10", "11"]
    joined = "\n".join(warnings)
    assert "bad.jsonl:2: invalid JSON" in joined
    assert "bad.jsonl:4: expected a JSON object, got list" in joined
    assert "bad.jsonl:5: unknown record format" in joined
    assert "bad.jsonl:6: messages[0]: unknown role 'wizard'" in joined
    assert "bad.jsonl:7: no assistant turn" in joined
    assert "bad.jsonl:8: missing or empty `output`" in joined
    assert "bad.jsonl:9: conversation[0]: unknown speaker 'alien'" in joined
    assert "bad.jsonl:10: `category` must be a string" in joined
    assert "bad.jsonl:11: last turn is user, not assistant" in joined


def test_forced_format_and_gzip_and_max_examples(tmp_path: Path) -> None:
    with gzip.open(tmp_path / "qa.jsonl.gz", "wt") as fh:
        for i in range(5):
            fh.write(json.dumps({"question": f"q{i}?", "answer": f"a{i}"}) + "\n")
    ctx = _ctx(tmp_path)
    out = list(
        generate(
            "mine",
            {"paths": ["qa.jsonl.gz"], "format": "qa", "max_examples": 3, "language": "go"},
            ctx,
        )
    )
    assert [e.messages[0].content for e in out] == ["q0?", "q1?", "q2?"]
    assert all(e.language == "go" for e in out)
    # Forcing a format that does not fit is a per-line error, not a crash.
    ctx2 = _ctx(tmp_path)
    assert list(generate("mine", {"paths": ["qa.jsonl.gz"], "format": "instruction"}, ctx2)) == []
    assert ctx2.stats["mine"]["malformed"] == 5


def test_missing_file_names_the_recipe_key(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text("")
    with pytest.raises(
        InputError, match=r"^data\.sources\.mine\.paths\.1: file not found: nope\.jsonl$"
    ):
        list(generate("mine", {"paths": ["a.jsonl", "nope.jsonl"]}, _ctx(tmp_path)))


def test_record_to_example_explicit_refs() -> None:
    ex = record_to_example(
        {"question": "Where?", "answer": "Here.", "refs": [{"path": "a.py", "start": 1, "end": 3}]}
    )
    assert [r.to_dict() for r in ex.refs] == [{"path": "a.py", "start": 1, "end": 3}]
