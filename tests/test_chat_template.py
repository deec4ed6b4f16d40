"""wikikit's harmony chat template renders exactly the token ids openai-harmony renders."""

from __future__ import annotations

import json

import pytest

import wikikit  # noqa: F401  (offline vocab before openai_harmony)
from wikikit.train.tinymodel import chat_template, harmony_encoding, make_tokenizer

pytest.importorskip("transformers")

from openai_harmony import (  # noqa: E402
    Author,
    Conversation,
    DeveloperContent,
    Message,
    ReasoningEffort,
    RenderConversationConfig,
    Role,
    SystemContent,
    ToolDescription,
)

DATE = "2025-06-28"
EFFORTS = {
    "low": ReasoningEffort.LOW,
    "medium": ReasoningEffort.MEDIUM,
    "high": ReasoningEffort.HIGH,
}

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Gets the weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "City name"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "default": 3},
                "tags": {"type": "array", "items": {"type": "string"}},
                "verbose": {"type": "boolean"},
                "ratio": {"type": "number", "description": "A ratio", "default": 0.5},
                "mode": {"type": "string", "default": "fast"},
            },
            "required": ["location"],
        },
    },
}
# SemanticWiki-style tools, flat (no "function" wrapper) as some datasets store them.
READ_FILE = {
    "name": "read_file",
    "description": "Read a file from the repository",
    "parameters": {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "Path relative to the repo root"},
            "start_line": {"type": "number"},
        },
        "required": ["path"],
    },
}
LIST_DIR = {"name": "list_directory", "description": "List the repository root"}
# An empty parameter schema, as SemanticWiki's verify_wiki_completeness and list_wiki_pages have:
# harmony writes `(_: {\n}) => any` for it, not the `() => any` of a tool with no schema at all.
VERIFY_WIKI = {
    "name": "verify_wiki_completeness",
    "description": "Check for broken internal links in the wiki.",
    "parameters": {"type": "object", "properties": {}, "required": []},
}

SYS = {"role": "system", "content": "You are an architectural wiki agent. Cite file:line."}
CORPUS: dict[str, dict] = {
    "plain": {
        "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]
    },
    "system_and_thinking": {
        "messages": [
            SYS,
            {"role": "user", "content": "What does src/app.py do?"},
            {
                "role": "assistant",
                "thinking": "The user asks about app.py; it wires the router.",
                "content": "It wires the HTTP router (`src/app.py:10-42`).\n\n```mermaid\ngraph TD\n  A-->B\n```",
            },
        ]
    },
    "developer_role": {
        "messages": [
            {"role": "developer", "content": "Answer in French."},
            {"role": "user", "content": "Bonjour ?"},
            {"role": "assistant", "content": "Bonjour !"},
        ],
        "reasoning_effort": "high",
    },
    "multi_turn_drops_earlier_thinking": {
        "messages": [
            SYS,
            {"role": "user", "content": "First question"},
            {"role": "assistant", "thinking": "old reasoning", "content": "First answer"},
            {"role": "user", "content": "Second question — ünïcode ✓"},
            {"role": "assistant", "thinking": "new reasoning", "content": "Second answer"},
        ],
        "reasoning_effort": "low",
    },
    "three_turns_harmony_keeps_later_analysis": {
        # harmony drops analysis only up to the first final answer (when the last assistant
        # message is final): turn 2's analysis stays in the prompt. The template matches that.
        "messages": [
            {"role": "user", "content": "u1"},
            {"role": "assistant", "thinking": "r1", "content": "a1"},
            {"role": "user", "content": "u2"},
            {"role": "assistant", "thinking": "r2", "content": "a2"},
            {"role": "user", "content": "u3"},
            {"role": "assistant", "thinking": "r3", "content": "a3"},
        ],
    },
    "tools_call_and_result": {
        "messages": [
            SYS,
            {"role": "user", "content": "Weather in Tokyo?"},
            {
                "role": "assistant",
                "thinking": "Need the weather tool.",
                "content": "",
                "tool_calls": [
                    {"name": "get_weather", "arguments": {"location": "Tokyo", "unit": "celsius"}}
                ],
            },
            {
                "role": "tool",
                "name": "get_weather",
                "content": '{"temperature": 20, "sky": "clear"}',
            },
            {
                "role": "assistant",
                "thinking": "It is 20C.",
                "content": "It is 20°C and clear in Tokyo.",
            },
        ],
        "tools": [WEATHER],
    },
    "tools_no_system_two_calls_openai_shape": {
        "messages": [
            {"role": "user", "content": "Document the repo"},
            {
                "role": "assistant",
                "content": "Let me look around.",
                "tool_calls": [
                    {"type": "function", "function": {"name": "list_directory", "arguments": {}}},
                    {
                        "type": "function",
                        "function": {"name": "read_file", "arguments": '{"path": "README.md"}'},
                    },
                ],
            },
            {"role": "tool", "name": "list_directory", "content": "README.md\nsrc/"},
            {"role": "tool", "name": "read_file", "content": "# Demo\nA demo."},
            {"role": "assistant", "content": "## Overview\nA demo (`README.md:1-2`)."},
        ],
        "tools": [READ_FILE, LIST_DIR],
    },
    "tools_given_but_unused_multi_turn": {
        "messages": [
            SYS,
            {"role": "user", "content": "q1"},
            {
                "role": "assistant",
                "thinking": "call it",
                "content": "",
                "tool_calls": [{"name": "read_file", "arguments": {"path": "a.py"}}],
            },
            {"role": "tool", "name": "read_file", "content": "print(1)"},
            {"role": "assistant", "thinking": "done", "content": "a.py prints 1."},
            {"role": "user", "content": "q2"},
            {"role": "assistant", "content": "a2"},
        ],
        "tools": [READ_FILE],
    },
    "tool_with_an_empty_schema": {
        "messages": [
            SYS,
            {"role": "user", "content": "Is the wiki complete?"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"name": "verify_wiki_completeness", "arguments": {}}],
            },
            {"role": "tool", "name": "verify_wiki_completeness", "content": "No missing pages."},
            {"role": "assistant", "content": "The wiki is complete."},
        ],
        "tools": [LIST_DIR, VERIFY_WIKI],
    },
}


def _tool_desc(tool: dict) -> ToolDescription:
    fn = tool.get("function", tool)
    return ToolDescription.new(
        fn["name"], fn.get("description", ""), parameters=fn.get("parameters")
    )


def _args_text(arguments) -> str:
    # What the template writes: a JSON string as given, else transformers' tojson (json.dumps).
    return arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)


def to_harmony(case: dict) -> tuple[list[Message], list[list[Message]]]:
    """The conversation in openai-harmony's own types, built independently of the template:
    the header (system + developer) and, per input message, the harmony messages it becomes."""
    msgs = case["messages"]
    effort = EFFORTS[case.get("reasoning_effort", "medium")]
    system = SystemContent.new().with_reasoning_effort(effort).with_conversation_start_date(DATE)
    header = [Message.from_role_and_content(Role.SYSTEM, system)]
    start = 0
    instructions = None
    if msgs[0]["role"] in ("system", "developer"):
        instructions, start = msgs[0]["content"], 1
    tools = case.get("tools")
    if instructions or tools:
        dev = DeveloperContent.new()
        if instructions:
            dev = dev.with_instructions(instructions)
        if tools:
            dev = dev.with_function_tools([_tool_desc(t) for t in tools])
        header.append(Message.from_role_and_content(Role.DEVELOPER, dev))
    body: list[list[Message]] = [[] for _ in msgs]
    for i, m in enumerate(msgs[start:], start):
        out = body[i]
        if m["role"] == "user":
            out.append(Message.from_role_and_content(Role.USER, m["content"]))
        elif m["role"] == "assistant":
            if m.get("thinking"):
                out.append(
                    Message.from_role_and_content(Role.ASSISTANT, m["thinking"]).with_channel(
                        "analysis"
                    )
                )
            if m.get("tool_calls"):
                if m.get("content"):
                    out.append(
                        Message.from_role_and_content(Role.ASSISTANT, m["content"]).with_channel(
                            "commentary"
                        )
                    )
                for call in m["tool_calls"]:
                    fn = call.get("function", call)
                    out.append(
                        Message.from_role_and_content(Role.ASSISTANT, _args_text(fn["arguments"]))
                        .with_channel("commentary")
                        .with_recipient(f"functions.{fn['name']}")
                        .with_content_type("<|constrain|>json")
                    )
            else:
                out.append(
                    Message.from_role_and_content(Role.ASSISTANT, m["content"]).with_channel(
                        "final"
                    )
                )
        elif m["role"] == "tool":
            out.append(
                Message.from_author_and_content(
                    Author.new(Role.TOOL, f"functions.{m['name']}"), m["content"]
                )
                .with_channel("commentary")
                .with_recipient("assistant")
            )
    return header, body


def _flat(parts: list[list[Message]]) -> list[Message]:
    return [m for part in parts for m in part]


def _render(case: dict, **kw) -> list[int]:
    tok = make_tokenizer()
    extra = {k: case[k] for k in ("tools", "reasoning_effort") if k in case}
    out = tok.apply_chat_template(
        case["messages"], tokenize=True, current_date=DATE, return_dict=False, **extra, **kw
    )
    return list(out)


def harmony_training_tokens(case: dict) -> list[int]:
    """What training on the last turn means in harmony terms: the prompt exactly as harmony renders
    it for completion (its own analysis dropping), then the turn in full with <|return|>."""
    enc = harmony_encoding()
    header, body = to_harmony(case)
    last_user = max(i for i, m in enumerate(case["messages"]) if m["role"] == "user")
    prompt = list(
        enc.render_conversation_for_completion(
            Conversation.from_messages(header + _flat(body[: last_user + 1])), Role.ASSISTANT
        )
    )
    assert enc.decode_utf8(prompt[-2:]) == "<|start|>assistant"
    turn = enc.render_conversation_for_training(
        Conversation.from_messages(_flat(body[last_user + 1 :])),
        RenderConversationConfig(auto_drop_analysis=False),
    )
    return prompt[:-2] + list(turn)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CORPUS))
def test_training_render_matches_harmony(name):
    case = CORPUS[name]
    enc = harmony_encoding()
    expected = harmony_training_tokens(case)
    got = _render(case)
    assert got == expected, (
        f"{name}:\n template: {enc.decode_utf8(got)!r}\n harmony:  {enc.decode_utf8(expected)!r}"
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CORPUS))
def test_generation_prompt_matches_harmony(name):
    """Prompting for the next turn: harmony itself (default config) decides which analysis to drop."""
    case = dict(CORPUS[name])
    case["messages"] = case["messages"] + [{"role": "user", "content": "And one more thing?"}]
    enc = harmony_encoding()
    header, body = to_harmony(case)
    expected = list(
        enc.render_conversation_for_completion(
            Conversation.from_messages(header + _flat(body)), Role.ASSISTANT
        )
    )
    got = _render(case, add_generation_prompt=True)
    assert got == expected, (
        f"{name}:\n template: {enc.decode_utf8(got)!r}\n harmony:  {enc.decode_utf8(expected)!r}"
    )


@pytest.mark.slow
def test_single_turn_training_keeps_thinking_that_harmony_default_would_drop():
    """harmony's render_conversation_for_training drops the analysis by default; training on
    thinking needs it, so the template keeps it (as auto_drop_analysis=False does)."""
    case = CORPUS["system_and_thinking"]
    enc = harmony_encoding()
    header, body = to_harmony(case)
    convo = Conversation.from_messages(header + _flat(body))
    dropped = list(enc.render_conversation_for_training(convo))
    kept = list(
        enc.render_conversation_for_training(
            convo, RenderConversationConfig(auto_drop_analysis=False)
        )
    )
    got = _render(case)
    assert got == kept != dropped
    assert "<|channel|>analysis<|message|>The user asks" in enc.decode_utf8(got)


@pytest.mark.slow
def test_mid_tool_chain_generation_prompt_keeps_current_analysis():
    """Between a tool result and the answer, harmony keeps the current turn's analysis."""
    case = {"messages": CORPUS["tools_call_and_result"]["messages"][:4], "tools": [WEATHER]}
    enc = harmony_encoding()
    header, body = to_harmony(case)
    expected = enc.render_conversation_for_completion(
        Conversation.from_messages(header + _flat(body)), Role.ASSISTANT
    )
    got = _render(case, add_generation_prompt=True)
    assert "<|channel|>analysis<|message|>Need the weather tool." in enc.decode_utf8(got)
    assert got == list(expected)


@pytest.mark.slow
def test_special_token_ids_equal_harmony():
    tok = make_tokenizer()
    enc = harmony_encoding()
    for t in (
        "<|start|>",
        "<|end|>",
        "<|message|>",
        "<|channel|>",
        "<|return|>",
        "<|call|>",
        "<|constrain|>",
        "<|endoftext|>",
    ):
        assert tok.convert_tokens_to_ids(t) == enc.encode(t, allowed_special="all")[0]
    text = (
        "def f(x):\n    return x  # ünïcode ✓ 12345 — `src/a.py:1-3`\n\n```mermaid\ngraph TD\n```"
    )
    assert tok.encode(text, add_special_tokens=False) == enc.encode(text, allowed_special=set())


def test_template_exposes_message_fields_axolotl_keeps():
    """Axolotl passes only message keys the template reads; thinking, tool_calls and name must be."""
    from axolotl.prompt_strategies.jinja_template_analyzer import JinjaTemplateAnalyzer

    found = JinjaTemplateAnalyzer(chat_template()).get_message_vars("messages")
    assert {"role", "content", "thinking", "tool_calls", "name"} <= set(found)


def test_tool_message_without_name_is_an_error():
    from jinja2.exceptions import TemplateError

    bad = [{"role": "user", "content": "x"}, {"role": "tool", "content": "y"}]
    with pytest.raises(TemplateError, match="needs `name`"):
        make_tokenizer().apply_chat_template(bad, tokenize=False, current_date=DATE)
