"""The Modelfile: its harmony TEMPLATE renders, in Go's text/template the way Ollama runs it,
the same text openai-harmony renders for the same conversation; and the file round-trips."""

from __future__ import annotations

import json
from pathlib import Path

import go_template
import pytest
from go_template import TODAY, go_render

import wikikit  # noqa: F401  (offline o200k vocab for openai-harmony)
from wikikit.package.modelfile import (
    LICENSE_TEXT,
    STOP_TOKENS,
    WIKI_AGENT_SYSTEM,
    build_spec,
    documented_modelfile,
    harmony_template,
    ollama_parameters,
    parse_modelfile,
    render_modelfile,
)

REPO = Path(__file__).resolve().parent.parent
go_renderer = go_template.go_renderer


def _prop(type_, description=None, **kw):
    p = {"type": type_, **kw}
    if description:
        p["description"] = description
    return p


def _tool(name, description, properties, required=()):
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": list(required)},
        },
    }


# SemanticWiki's tools (../shared/semanticwiki.md), as its Ollama client sends them.
SEMANTICWIKI_TOOLS = [
    _tool(
        "read_file",
        "Read a file.",
        {"path": _prop("string", "Relative to the repo root")},
        ["path"],
    ),
    _tool("list_directory", "List a directory.", {"path": _prop("string")}, ["path"]),
    _tool(
        "directory_tree",
        "Show the directory tree.",
        {"path": _prop("string"), "depth": _prop("number", "How deep")},
        ["path"],
    ),
    _tool(
        "search_codebase",
        "Search the code.",
        {"query": _prop("string"), "maxResults": _prop("integer")},
        ["query"],
    ),
    _tool(
        "write_wiki_page",
        "Write one wiki page.",
        {
            "pagePath": _prop("string", 'e.g. "architecture/overview.md"'),
            "title": _prop("string"),
            "content": _prop("string", "Markdown without the H1 title"),
            "description": _prop("string"),
            "sources": _prop("array", items={"type": "string"}),
        },
        ["pagePath", "title", "content"],
    ),
    _tool("analyze_code_structure", "Outline a file.", {"filePath": _prop("string")}, ["filePath"]),
    _tool("verify_wiki_completeness", "Find broken internal links.", {}),
    _tool("list_wiki_pages", "List the pages written so far.", {}),
]
EXTRA_TOOLS = [
    _tool(
        "set_mode",
        "Exercise the other schema shapes.",
        {
            "mode": _prop("string", "Which mode", enum=["fast", "slow"]),
            "flag": _prop("boolean"),
            "weights": _prop("array", items={"type": "number"}),
            "anything": _prop("array"),
            "either": {"type": ["string", "integer"]},
        },
        ["mode"],
    ),
]

PAGE = '# ignored\n## Overview\n**Source:** [`src/a.py:1-9`](../src/a.py#L1-L9)\n\n```mermaid\ngraph TD; A-->B & C\n```\nQuote " and <tag> and ü'
CONVERSATIONS = {
    "plain-user": dict(messages=[{"role": "user", "content": "Hello"}]),
    "no-system": dict(system="", messages=[{"role": "user", "content": "Hi\nthere"}]),
    "system-message-in-request": dict(
        messages=[
            {"role": "system", "content": "Only document src/."},
            {"role": "user", "content": "Go."},
        ]
    ),
    "tool-call-ongoing": dict(
        tools=SEMANTICWIKI_TOOLS,
        messages=[
            {"role": "user", "content": "Document the auth module."},
            {
                "role": "assistant",
                "thinking": "Start with the tree.",
                "tool_calls": [
                    {"function": {"name": "directory_tree", "arguments": {"path": ".", "depth": 2}}}
                ],
            },
            {"role": "tool", "tool_name": "directory_tree", "content": "src/\n  auth/\n    jwt.ts"},
        ],
    ),
    "finished-turn-then-tools": dict(
        tools=SEMANTICWIKI_TOOLS,
        think_level="high",
        messages=[
            {"role": "user", "content": "What is here?"},
            {"role": "assistant", "thinking": "Look first.", "content": "A web service."},
            {"role": "user", "content": "Write the overview page."},
            {
                "role": "assistant",
                "thinking": "Write it.",
                "content": "Writing the page now.",
                "tool_calls": [
                    {
                        "function": {
                            "name": "write_wiki_page",
                            "arguments": {
                                "pagePath": "architecture/overview.md",
                                "title": "Overview",
                                "content": PAGE,
                                "sources": ["src/a.py"],
                            },
                        }
                    }
                ],
            },
            {"role": "tool", "tool_name": "write_wiki_page", "content": '{"ok": true}'},
        ],
    ),
    "two-calls-no-tool-name": dict(
        tools=SEMANTICWIKI_TOOLS + EXTRA_TOOLS,
        think_level="low",
        messages=[
            {"role": "user", "content": "Check."},
            {
                "role": "assistant",
                "tool_calls": [
                    {"function": {"name": "list_wiki_pages", "arguments": {}}},
                    {"function": {"name": "verify_wiki_completeness", "arguments": {}}},
                ],
            },
            {"role": "tool", "tool_name": "list_wiki_pages", "content": "[]"},
            {"role": "tool", "content": "no broken links"},
        ],
    ),
    "ends-with-final": dict(
        messages=[
            {"role": "user", "content": "Q1"},
            {"role": "assistant", "thinking": "t1", "content": "A1"},
            {"role": "user", "content": "Q2"},
            {"role": "assistant", "thinking": "t2", "content": "A2"},
        ]
    ),
}


def go_json(value) -> str:
    """A tool call's arguments as Ollama prints them: Go's json.Marshal (sorted keys, compact,
    HTML characters escaped)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def harmony_render(system: str, messages: list[dict], tools: list[dict], level: str) -> str:
    """openai-harmony's rendering of the conversation Ollama would hand the template."""
    from openai_harmony import (
        Author,
        Conversation,
        DeveloperContent,
        HarmonyEncodingName,
        Message,
        ReasoningEffort,
        Role,
        SystemContent,
        ToolDescription,
        load_harmony_encoding,
    )

    enc = load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)
    effort = {
        "low": ReasoningEffort.LOW,
        "medium": ReasoningEffort.MEDIUM,
        "high": ReasoningEffort.HIGH,
    }
    sysc = (
        SystemContent.new().with_reasoning_effort(effort[level]).with_conversation_start_date(TODAY)
    )
    out = [Message.from_role_and_content(Role.SYSTEM, sysc)]
    instructions = "\n\n".join(m["content"] for m in messages if m["role"] == "system") or system
    if instructions or tools:
        dev = DeveloperContent.new()
        if instructions:
            dev = dev.with_instructions(instructions)
        if tools:
            descs = []
            for t in tools:
                f = t["function"]
                params = dict(f["parameters"])
                # Ollama keeps properties in a Go map: a template sees them in sorted order.
                params["properties"] = dict(sorted(params["properties"].items()))
                descs.append(ToolDescription.new(f["name"], f["description"], parameters=params))
            dev = dev.with_function_tools(descs)
        out.append(Message.from_role_and_content(Role.DEVELOPER, dev))
    last_call = None
    for m in messages:
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
                    last_call = call["function"]["name"]
                    out.append(
                        Message.from_role_and_content(
                            Role.ASSISTANT, go_json(call["function"]["arguments"])
                        )
                        .with_channel("commentary")
                        .with_recipient(f"functions.{last_call}")
                        .with_content_type("<|constrain|>json")
                    )
            elif m.get("content"):
                out.append(
                    Message.from_role_and_content(Role.ASSISTANT, m["content"]).with_channel(
                        "final"
                    )
                )
        elif m["role"] == "tool":
            name = m.get("tool_name") or last_call
            out.append(
                Message.from_author_and_content(
                    Author.new(Role.TOOL, f"functions.{name}"), m["content"]
                )
                .with_channel("commentary")
                .with_recipient("assistant")
            )
    tokens = enc.render_conversation_for_completion(Conversation.from_messages(out), Role.ASSISTANT)
    return enc.decode(tokens)


@pytest.mark.parametrize("name", sorted(CONVERSATIONS))
def test_template_renders_what_harmony_renders(go_renderer, tmp_path, name):
    conv = CONVERSATIONS[name]
    system = conv.get("system", WIKI_AGENT_SYSTEM)
    tools = conv.get("tools", [])
    request = {
        "system": system,
        "messages": conv["messages"],
        "tools": tools,
        "think_level": conv.get("think_level", ""),
    }
    got = go_render(go_renderer, harmony_template("medium"), tmp_path, request)
    want = harmony_render(system, conv["messages"], tools, conv.get("think_level") or "medium")
    assert got == want


def test_recipe_reasoning_level_is_the_default(go_renderer, tmp_path):
    request = {"system": "", "messages": [{"role": "user", "content": "x"}]}
    assert "Reasoning: high\n" in go_render(
        go_renderer, harmony_template("high"), tmp_path, request
    )
    request["think_level"] = "low"  # a request's own level wins
    assert "Reasoning: low\n" in go_render(go_renderer, harmony_template("high"), tmp_path, request)


def test_template_turns_on_ollamas_harmony_parser():
    template = harmony_template()
    assert "<|start|>" in template and "<|end|>" in template
    with pytest.raises(ValueError):
        harmony_template("extreme")


def test_modelfile_round_trips_and_carries_the_settings():
    spec = build_spec("./model.gguf", {"temperature": 0.2, "num_ctx": 8192, "reasoning": "low"})
    text = render_modelfile(spec, header=["hello"])
    assert text.startswith("# hello\nFROM ./model.gguf\n")
    back = parse_modelfile(text)
    assert "\nPARSER harmony\n" in text and back.parser == "harmony"
    assert back.template == spec.template and "Reasoning: {{ if .ThinkLevel }}" in back.template
    assert back.system == WIKI_AGENT_SYSTEM
    assert back.license == LICENSE_TEXT and "Apache" in back.license
    assert ollama_parameters(back) == {
        "temperature": 0.2,
        "num_ctx": 8192,
        "stop": list(STOP_TOKENS),
    }
    assert "<|end|>" not in STOP_TOKENS  # it closes the thinking message, not the turn


def test_system_prompt_states_semanticwiki_conventions():
    for needle in ("**Source:**", "mermaid", "write_wiki_page", "verify_wiki_completeness"):
        assert needle in WIKI_AGENT_SYSTEM


def test_documented_modelfile_is_current():
    assert (REPO / "Modelfile").read_text(encoding="utf-8") == documented_modelfile()
    assert parse_modelfile(documented_modelfile()).parameters["num_ctx"] == [32768]


def test_triple_quotes_in_a_field_are_refused():
    spec = build_spec("./m.gguf", {"system": 'say """hi"""'})
    with pytest.raises(ValueError, match="SYSTEM"):
        render_modelfile(spec)
