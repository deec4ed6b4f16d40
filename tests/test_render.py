"""Rendering: harmony equals openai-harmony's own rendering; chatml and messages shapes."""

from __future__ import annotations

import json

import pytest
from harmony_reference import harmony_text

from wikikit.data.render import HarmonyRenderer, make_renderer, openai_messages, openai_tools
from wikikit.example import Example, Message, ToolCall
from wikikit.semanticwiki.runtimes import DEFAULT_CURRENT_DATE, RUNTIMES


def _examples() -> list[Example]:
    plain = Example(
        "a",
        [Message("user", "Where is parse implemented?"), Message("assistant", "In `src/a.py`.")],
        "t",
        "qa",
    )
    thinking = Example(
        "b",
        [
            Message("system", "You write architectural wikis."),
            Message("user", "Document the parser."),
            Message("assistant", "## Parser\n\nIt parses.", thinking="Look at the parser first."),
        ],
        "t",
        "component",
    )
    tools = Example(
        "c",
        [
            Message("user", "Write the overview page."),
            Message(
                "assistant",
                "",
                thinking="Read the README.",
                tool_calls=[ToolCall("read_file", {"path": "README.md"})],
            ),
            Message("tool", '{"content": "# Demo"}', name="read_file"),
            Message(
                "assistant",
                "Reading more.",
                tool_calls=[ToolCall("search_codebase", {"query": "main", "maxResults": 5})],
            ),
            Message("tool", "src/main.py:1", name="search_codebase"),
            Message("assistant", "Done: the overview is written.", thinking="Enough context."),
        ],
        "t",
        "tool_use",
    )
    multi = Example(
        "d",
        [
            Message("user", "Hi"),
            Message("assistant", "Hello."),
            Message("user", "More?"),
            Message("assistant", "Yes.", thinking="sure"),
        ],
        "t",
        "multi_turn",
    )
    return [plain, thinking, tools, multi]


def test_harmony_text_equals_openai_harmony_rendering():
    for runtime in RUNTIMES:
        render = HarmonyRenderer("medium", runtime=runtime)
        for _ in range(2):  # the second pass uses the cached prefixes
            for ex in _examples():
                tools = openai_tools(ex) or None
                want = harmony_text(
                    openai_messages(ex), tools, current_date=DEFAULT_CURRENT_DATE, runtime=runtime
                )
                assert render(ex) == want, (runtime, ex.id)
    undated = HarmonyRenderer("medium", runtime="ollama", current_date=None)
    ex = _examples()[1]
    assert undated(ex) == harmony_text(openai_messages(ex)) and "Current date" not in undated(ex)


def test_harmony_text_equals_the_training_template(tmp_path):
    """The data stage's text and the template Axolotl renders agree, token for token, for every
    shape (system, thinking, tool calls, multi-turn with earlier thinking, no user) and runtime."""
    from wikikit.train.tinymodel import make_tokenizer

    tok = make_tokenizer()
    cpt = Example("e", [Message("assistant", "<path>a.py</path><file>x = 1\n</file>")], "t", "cpt")
    for runtime in RUNTIMES:
        render = HarmonyRenderer("low", runtime=runtime)
        for ex in [*_examples(), cpt]:
            tools = json.loads(openai_tools(ex)) if any(m.tool_calls for m in ex.messages) else None
            got = tok.apply_chat_template(
                openai_messages(ex),
                tools=tools,
                tokenize=False,
                reasoning_effort="low",
                runtime=runtime,
                current_date=DEFAULT_CURRENT_DATE,
            )
            want = render(ex)
            assert tok.encode(got, add_special_tokens=False) == tok.encode(
                want, add_special_tokens=False
            ), (runtime, ex.id, got, want)


def test_harmony_shape_of_thinking_and_tool_calls():
    text = HarmonyRenderer("high")(_examples()[2])
    assert "Reasoning: high" in text
    assert "<|channel|>analysis<|message|>Read the README.<|end|>" in text
    assert (
        '<|start|>assistant to=functions.read_file<|channel|>commentary <|constrain|>json<|message|>{"path": "README.md"}<|call|>'
        in text
    )
    assert (
        '<|start|>functions.read_file to=assistant<|channel|>commentary<|message|>{"content": "# Demo"}<|end|>'
        in text
    )
    assert "type search_codebase" in text  # SemanticWiki's tool is declared to the model
    assert text.endswith("<|channel|>final<|message|>Done: the overview is written.<|return|>")


def test_messages_rows_are_openai_style():
    ex = _examples()[2]
    msgs = openai_messages(ex)
    assert msgs[1]["thinking"] == "Read the README."
    assert msgs[1]["tool_calls"] == [
        {
            "type": "function",
            "function": {"name": "read_file", "arguments": '{"path": "README.md"}'},
        }
    ]
    assert msgs[2] == {"role": "tool", "content": '{"content": "# Demo"}', "name": "read_file"}
    assert json.loads(make_renderer("messages")(ex)) == msgs


def test_rows_keep_each_calls_own_arguments_when_loaded_with_datasets(tmp_path):
    """Argument objects of different shapes must not be merged into one struct (null keys)."""
    import datasets

    ex = _examples()[2]
    other = Example.from_dict(ex.to_dict())
    other.messages[1].tool_calls[0].arguments = {"query": "parser", "maxResults": 3}
    rows = [{"messages": openai_messages(e), "tools": openai_tools(e)} for e in (ex, other)]
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    loaded = datasets.load_dataset("json", data_files=str(tmp_path / "rows.jsonl"), split="train")
    args = [json.loads(r["messages"][1]["tool_calls"][0]["function"]["arguments"]) for r in loaded]
    assert args == [{"path": "README.md"}, {"query": "parser", "maxResults": 3}]


def test_chatml():
    text = make_renderer("chatml")(_examples()[1])
    assert text.startswith("<|im_start|>system\nYou write architectural wikis.<|im_end|>\n")
    assert (
        "<|im_start|>assistant\n<think>\nLook at the parser first.\n</think>\n\n## Parser" in text
    )
    tool_text = make_renderer("chatml")(_examples()[2])
    assert (
        '<tool_call>\n{"arguments": {"path": "README.md"}, "name": "read_file"}\n</tool_call>'
        in tool_text
    )


def test_a_date_range_gives_each_example_its_own_day_the_same_every_render():
    """`model.current_date: {from, to}`: many days over a dataset, each inside the range, the
    same text on a second render (a fresh renderer), and each text is openai-harmony's rendering
    with that example's day (the skeleton cache swaps the day, never anything else)."""
    import re

    span = {"from": "2026-01-01", "to": "2026-12-31"}
    shapes = _examples()
    dataset = [
        Example(f"{ex.id}-{i}", ex.messages, ex.source, ex.category, meta=ex.meta)
        for i in range(30)
        for ex in shapes
    ]
    first = HarmonyRenderer("medium", current_date=span)
    texts = [first(ex) for ex in dataset]
    again = HarmonyRenderer("medium", current_date=span)
    assert [again(ex) for ex in dataset] == texts
    days = [re.search(r"\nCurrent date: (\d{4}-\d{2}-\d{2})\n", t).group(1) for t in texts]
    assert days == [first.date_for(ex) for ex in dataset]
    assert len(set(days)) >= 20 and all("2026-01-01" <= d <= "2026-12-31" for d in days)
    for ex, text, day in list(zip(dataset, texts, days, strict=True))[::7]:
        tools = openai_tools(ex) or None
        want = harmony_text(openai_messages(ex), tools, current_date=day, runtime=first.runtime)
        assert text == want, ex.id
    fixed = HarmonyRenderer("medium", current_date="2027-03-04")
    assert {fixed.date_for(ex) for ex in dataset} == {"2027-03-04"}


def test_recording_dates_an_example_by_its_recorded_day_and_names_one_without():
    from wikikit.errors import InputError

    ex = _examples()[0]
    recorded = Example(ex.id, ex.messages, ex.source, ex.category, meta={"recorded": "2026-11-30"})
    render = HarmonyRenderer("medium", current_date="recording")
    assert "\nCurrent date: 2026-11-30\n" in render(recorded)
    with pytest.raises(InputError, match=f"model.current_date: recording: example {ex.id} has no"):
        render(ex)
