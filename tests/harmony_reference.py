"""An independent harmony rendering of an OpenAI-style row, written from harmony's docs.

Tests compare the data stage's `text` with this, so the stage's mapping and its prefix cache
are checked against openai-harmony itself, not against their own code. `runtime="node-llama-cpp"`
swaps in that runtime's developer block, as its HarmonyChatWrapper (v3.15.0,
_getFirstDeveloperMessage) writes it for SemanticWiki's system prompt + "\n\n".
"""

from __future__ import annotations

import json

import openai_harmony as oh  # noqa: E402

import wikikit  # noqa: F401  (offline vocab)

ENC = oh.load_harmony_encoding(oh.HarmonyEncodingName.HARMONY_GPT_OSS)
EFFORT = {
    "low": oh.ReasoningEffort.LOW,
    "medium": oh.ReasoningEffort.MEDIUM,
    "high": oh.ReasoningEffort.HIGH,
}


def _arguments(arguments) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)


def harmony_text(
    messages: list[dict],
    tools: list[dict] | str | None = None,
    effort: str = "medium",
    *,
    current_date: str | None = None,
    runtime: str = "ollama",
) -> str:
    if isinstance(tools, str):  # the data stage writes the tools column as a JSON string
        tools = json.loads(tools)
    system = oh.SystemContent.new().with_reasoning_effort(EFFORT[effort])
    if current_date:
        system = system.with_conversation_start_date(current_date)
    convo = [oh.Message.from_role_and_content(oh.Role.SYSTEM, system)]
    instructions = "\n\n".join(
        m["content"] for m in messages if m["role"] in ("system", "developer") and m["content"]
    )
    if instructions or tools:
        dev = oh.DeveloperContent.new()
        if instructions:
            dev = dev.with_instructions(instructions)
        if tools:
            dev = dev.with_function_tools(
                [
                    oh.ToolDescription.new(
                        t["function"]["name"],
                        t["function"]["description"],
                        t["function"]["parameters"],
                    )
                    for t in tools
                ]
            )
        convo.append(oh.Message.from_role_and_content(oh.Role.DEVELOPER, dev))
    # The prompt: everything up to the last user message, rendered as harmony renders a prompt to
    # complete; then the turn the model writes, rendered for training.
    users = [i for i, m in enumerate(messages) if m["role"] == "user"]
    cut = len(convo)
    for i, m in enumerate(messages):
        role = m["role"]
        if role == "user":
            convo.append(oh.Message.from_role_and_content(oh.Role.USER, m["content"]))
            if i == users[-1]:
                cut = len(convo)
        elif role == "tool":
            convo.append(
                oh.Message.from_author_and_content(
                    oh.Author.new(oh.Role.TOOL, f"functions.{m['name']}"), m["content"]
                )
                .with_channel("commentary")
                .with_recipient("assistant")
            )
        elif role == "assistant":
            if m.get("thinking"):
                convo.append(
                    oh.Message.from_role_and_content(oh.Role.ASSISTANT, m["thinking"]).with_channel(
                        "analysis"
                    )
                )
            calls = m.get("tool_calls") or []
            if calls:
                if m["content"]:
                    convo.append(
                        oh.Message.from_role_and_content(
                            oh.Role.ASSISTANT, m["content"]
                        ).with_channel("commentary")
                    )
                for c in calls:
                    convo.append(
                        oh.Message.from_role_and_content(
                            oh.Role.ASSISTANT,
                            _arguments(c["function"]["arguments"]),
                        )
                        .with_channel("commentary")
                        .with_recipient(f"functions.{c['function']['name']}")
                        .with_content_type("<|constrain|>json")
                    )
            elif m["content"] or not m.get("thinking"):
                convo.append(
                    oh.Message.from_role_and_content(oh.Role.ASSISTANT, m["content"]).with_channel(
                        "final"
                    )
                )
    prompt = ENC.render_conversation_for_completion(
        oh.Conversation.from_messages(convo[:cut]), oh.Role.ASSISTANT
    )[:-2]  # without the <|start|>assistant it ends with
    turn = ENC.render_conversation_for_training(
        oh.Conversation.from_messages(convo[cut:]),
        oh.RenderConversationConfig(auto_drop_analysis=False),
    )
    text = ENC.decode_utf8(list(prompt) + list(turn))
    if runtime == "node-llama-cpp" and instructions and not tools:
        text = text.replace(
            f"<|message|># Instructions\n\n{instructions}<|end|>",
            f"<|message|># Instruction\n\n{instructions}\n\n<|end|>",
            1,
        )
    return text
