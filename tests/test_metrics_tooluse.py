"""Tool-use metric on hand-made generations with known scores."""

from __future__ import annotations

import json

import pytest

from wikikit.eval.metrics.tooluse import parse_tool_calls, score_tooluse

READ = {"call": True, "tools": ["read_file"]}
HARMONY = (
    "<|channel|>analysis<|message|>Need the file.<|end|><|start|>assistant"
    '<|channel|>commentary to=functions.read_file <|constrain|>json<|message|>{"path": "src/a.py"}<|call|>'
)
DECODED = (
    'analysisNeed the file.assistantcommentary to=functions.read_file json{"path": "src/a.py"}'
)
BUNDLED = 'I will read it.\n{"tool": "read_file", "args": {"path": "src/a.py"}}\n'
FENCED = '```json\n{"tool": "read_file", "args": {"path": "src/a.py"}}\n```'


@pytest.mark.parametrize("output", [HARMONY, DECODED, BUNDLED, FENCED])
def test_perfect_call_in_every_form(output: str) -> None:
    calls = parse_tool_calls(output)
    assert [(c.name, c.arguments) for c in calls] == [("read_file", {"path": "src/a.py"})]
    assert score_tooluse(output, READ).as_dict() == {
        "call_decision": 1.0,
        "tool_accuracy": 1.0,
        "args_valid": 1.0,
        "tooluse": 1.0,
    }


def test_empty_output_misses_the_call() -> None:
    s = score_tooluse("", READ)
    assert (s.call_decision, s.tool_accuracy, s.args_valid, s.tooluse) == (
        (0, 1),
        (0, 1),
        (0, 1),
        (0, 1),
    )


def test_wrong_tool() -> None:
    s = score_tooluse('{"tool": "list_directory", "args": {"path": "src"}}', READ)
    assert s.call_decision == (1, 1) and s.tool_accuracy == (0, 1)
    assert s.args_valid == (1, 1)  # the arguments suit the tool that was called
    assert s.tooluse == (0, 1)


@pytest.mark.parametrize(
    "output",
    [
        '{"tool": "read_file", "args": {}}',  # missing required path
        '{"tool": "read_file", "args": {"path": 3}}',  # wrong type
        "<|channel|>commentary to=functions.read_file <|constrain|>json<|message|>{path: src}<|call|>",
    ],
)
def test_bad_arguments(output: str) -> None:
    s = score_tooluse(output, READ)
    assert s.tool_accuracy == (1, 1) and s.args_valid == (0, 1) and s.tooluse == (0, 1)
    assert s.problems


def test_no_call_needed() -> None:
    expected = {"call": False, "tools": []}
    assert score_tooluse("References look like `path:1-5`.", expected).tooluse == (1, 1)
    wrong = score_tooluse('{"tool": "list_wiki_pages", "args": {}}', expected)
    assert wrong.call_decision == (0, 1) and wrong.tool_accuracy == (0, 0)


def test_several_calls_in_order() -> None:
    out = HARMONY + "\n" + json.dumps({"tool": "write_wiki_page", "args": {"pagePath": "a.md"}})
    assert [c.name for c in parse_tool_calls(out)] == ["read_file", "write_wiki_page"]
