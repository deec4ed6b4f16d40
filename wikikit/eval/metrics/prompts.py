"""Prompts for the eval tasks, in the two shapes a backend needs.

- `harmony` (default): the whole gpt-oss conversation rendered by openai-harmony (system message
  with the reasoning effort, developer instructions and tools, the user turn, then
  `<|start|>assistant`). For backends that feed the prompt text to the model as is: lm-eval's
  `hf` without --apply_chat_template, a completions endpoint.
- `plain`: the developer instructions and the user turn as plain text, for chat endpoints that
  apply the model's own template (local-chat-completions, Ollama, llama.cpp's chat API); the
  reasoning effort then travels in lm-eval's system instruction (see `system_instruction`).

The style comes from the WIKIKIT_PROMPT_STYLE environment variable, because lm-eval gives a
task's doc_to_text no other way to learn which backend it feeds; wikikit's eval stage sets it.
The same way, WIKIKIT_RUNTIME (the recipe's `model.runtime`) makes a `harmony` prompt the text
that runtime feeds the deployed model (wikikit/semanticwiki/runtimes.py: node-llama-cpp's own
developer block, today's date as both runtimes write it); unset, it is openai-harmony's own.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Sequence
from typing import Any

from wikikit.code.repo import split_lines

STYLE_ENV = "WIKIKIT_PROMPT_STYLE"
RUNTIME_ENV = "WIKIKIT_RUNTIME"
STYLES = ("harmony", "plain")
REASONING_EFFORT = "low"  # documentation answers are long; spend the tokens on the answer


def prompt_style() -> str:
    style = os.environ.get(STYLE_ENV, "harmony")
    if style not in STYLES:
        raise ValueError(f"{STYLE_ENV}={style!r}: expected one of {', '.join(STYLES)}")
    return style


def system_instruction(effort: str = REASONING_EFFORT) -> str:
    """The system text for chat backends (gpt-oss reads its reasoning effort from it)."""
    return f"Reasoning: {effort}"


def render_harmony(
    instructions: str,
    user: str,
    tools: Sequence[dict[str, Any]] = (),
    effort: str = REASONING_EFFORT,
) -> str:
    """The gpt-oss prompt text up to `<|start|>assistant`, rendered by openai-harmony itself
    (wikikit.semanticwiki.runtimes.harmony_prompt) for WIKIKIT_RUNTIME's runtime, with today's
    date as a deployed runtime writes it (the Modelfile's currentDate too)."""
    from wikikit.semanticwiki.runtimes import harmony_prompt

    runtime = os.environ.get(RUNTIME_ENV) or None
    date = datetime.date.today().isoformat() if runtime else None
    return harmony_prompt(instructions, user, tools, effort, runtime=runtime, date=date)


def render_prompt(instructions: str, user: str, tools: Sequence[dict[str, Any]] = ()) -> str:
    """The task prompt in the style the current backend needs (see the module docstring)."""
    if prompt_style() == "harmony":
        return render_harmony(instructions, user, tools)
    return f"{instructions}\n\n{user}"


def number_lines(text: str) -> str:
    """Code with 1-based line numbers, the way the traceability prompts show files."""
    lines = split_lines(text)  # "\n" only: the numbers the references are checked against
    width = len(str(len(lines)))
    return "\n".join(f"{i:>{width}} | {line}" for i, line in enumerate(lines, 1))


def files_block(files: Sequence[dict[str, str]]) -> str:
    """Files as line-numbered fenced blocks, each headed by its repository path."""
    parts = []
    for f in files:
        lang = f.get("language", "")
        parts.append(f"File: {f['path']}\n```{lang}\n{number_lines(f['text'])}\n```")
    return "\n\n".join(parts)
