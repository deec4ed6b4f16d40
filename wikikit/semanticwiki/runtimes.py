"""The runtimes that feed the model SemanticWiki's prompts, and how each renders them.

A recipe targets one (`model.runtime`); the data stage's harmony `text` and the chat template
Axolotl trains with render what that runtime feeds the model:

- `node-llama-cpp`: SemanticWiki's bundled mode (`--full-local --model-path X.gguf`, its default).
  `dist/llm/local-llama-provider.js:277-288` (1.2.1) opens a `LlamaChatSession` whose system prompt
  is SemanticWiki's prompt + "\\n\\n" + its tool prompt, which is "" without tools (`:121-124`).
  node-llama-cpp 3.15.0 renders it with its HarmonyChatWrapper
  (src/chatWrappers/HarmonyChatWrapper.ts at v3.15.0): `_getPreamble` writes the system block
  (identity, `Knowledge cutoff: 2024-06`, `Current date: YYYY-MM-DD`, `Reasoning: medium`, the
  valid-channels line) and `_getFirstDeveloperMessage` the developer block, headed
  `# Instruction` (singular) when there are no functions and `# Instructions` when there are.
  Seen in a real run: ../shared/fixtures/semanticwiki-prompts/*/NNN-*.rendered.txt.
- `ollama`: `--use-ollama`; the `ollama` JS client sends SemanticWiki's prompt as the system
  message (dist/llm/ollama-provider.js:116-121) and the Modelfile TEMPLATE
  (wikikit/package/modelfile.py) renders openai-harmony's form, `# Instructions` (plural), with
  Ollama's `currentDate`.

Both write today's date at inference; training writes `model.current_date` (a day, or a day per
example from a range or the recording day, chosen reproducibly: wikikit/recipe/dates.py). With tools the two renderings agree (HarmonyChatWrapper uses the plural
header and "\\n\\n" before the tools, as harmony does), and SemanticWiki never passes functions
to node-llama-cpp, so tool-using examples render in openai-harmony's form for both.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from wikikit.recipe.dates import DEFAULT_CURRENT_DATE  # noqa: F401  (re-exported)

RUNTIMES = ("node-llama-cpp", "ollama")
# What `semanticwiki generate --full-local` uses unless told `--use-ollama` (../shared/semanticwiki.md).
DEFAULT_RUNTIME = "node-llama-cpp"
# The default `Current date:` of the training examples (a day, a range, the recording day: see
# wikikit/recipe/dates.py): the pinned client's release (1.2.1, 2026-02-04).

HARMONY_DEVELOPER = "<|start|>developer<|message|># Instructions\n\n{}<|end|>"
LLAMA_CPP_DEVELOPER = "<|start|>developer<|message|># Instruction\n\n{}\n\n<|end|>"


def developer_block(instructions: str, runtime: str, has_tools: bool) -> str:
    """The developer message a runtime renders for instructions alone (no tools)."""
    if has_tools:
        raise ValueError("developer_block covers the no-tools form only")
    form = LLAMA_CPP_DEVELOPER if runtime == "node-llama-cpp" else HARMONY_DEVELOPER
    return form.format(instructions)


def check_runtime(runtime: str) -> str:
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r} (one of {', '.join(RUNTIMES)})")
    return runtime


def as_runtime_feeds(text: str, instructions: str, runtime: str, has_tools: bool) -> str:
    """openai-harmony's rendering of a conversation, as `runtime` feeds it to the model.

    node-llama-cpp writes its own developer block when there are no tools (see above); everything
    else, and Ollama's TEMPLATE, is openai-harmony's form. The one rule for the data stage's
    training text and the eval tasks' prompts alike."""
    check_runtime(runtime)
    if runtime == "ollama" or not instructions or has_tools:
        return text
    harmony = developer_block(instructions, "ollama", has_tools=False)
    start = text.find("<|end|>") + len("<|end|>")  # the system block ends first
    if not text.startswith(harmony, start):
        raise ValueError("no developer block where openai-harmony puts it")
    return (
        text[:start] + developer_block(instructions, runtime, False) + text[start + len(harmony) :]
    )


@lru_cache(maxsize=1)
def _encoding() -> Any:
    from openai_harmony import HarmonyEncodingName, load_harmony_encoding

    return load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)


def harmony_prompt(
    instructions: str,
    user: str,
    tools: Sequence[dict[str, Any]] = (),
    effort: str = "medium",
    *,
    runtime: str | None = None,
    date: str | None = None,
) -> str:
    """A one-turn gpt-oss prompt (system, developer instructions and tools, the user turn) up to
    `<|start|>assistant`, rendered by openai-harmony, with `Current date: date` when given, as
    `runtime` feeds it (None: openai-harmony's own form)."""
    from openai_harmony import (
        Conversation,
        DeveloperContent,
        Message,
        ReasoningEffort,
        Role,
        SystemContent,
        ToolDescription,
    )

    system = SystemContent.new().with_reasoning_effort(ReasoningEffort(effort.capitalize()))
    if date:
        system = system.with_conversation_start_date(date)
    developer = DeveloperContent.new().with_instructions(instructions)
    if tools:
        developer = developer.with_function_tools(
            [
                ToolDescription.new(
                    f["name"], f.get("description", ""), parameters=f.get("parameters")
                )
                for f in (t.get("function", t) for t in tools)
            ]
        )
    convo = Conversation.from_messages(
        [
            Message.from_role_and_content(Role.SYSTEM, system),
            Message.from_role_and_content(Role.DEVELOPER, developer),
            Message.from_role_and_content(Role.USER, user),
        ]
    )
    enc = _encoding()
    text = enc.decode(enc.render_conversation_for_completion(convo, Role.ASSISTANT))
    return as_runtime_feeds(text, instructions, runtime, bool(tools)) if runtime else text


# The chat family of the base model (recipe `model.family`): how its runtimes render a prompt.
# harmony: gpt-oss (openai-harmony; HarmonyChatWrapper); chatml: `<|im_start|>` models such as
# SmolLM2 (wikikit/data/chatml.py; node-llama-cpp's ChatMLChatWrapper).
FAMILIES = ("harmony", "chatml")
DEFAULT_FAMILY = "harmony"


def model_family(model: dict) -> tuple[str, str]:
    """The recipe's `model` section -> (family, format); a chatml family renders as chatml.

    Raises ValueError naming the keys when they disagree."""
    family = model.get("family", DEFAULT_FAMILY)
    if family not in FAMILIES:
        raise ValueError(f"model.family: unknown family {family!r} (one of {', '.join(FAMILIES)})")
    fmt = model.get("format", "chatml" if family == "chatml" else "harmony")
    if family == "chatml" and fmt != "chatml":
        raise ValueError(
            f"model.format: {fmt}: a model.family chatml model is trained on chatml text"
        )
    return family, fmt
