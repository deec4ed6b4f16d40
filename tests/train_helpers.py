"""Shared by the train-stage tests: a data-stage output (train/validation JSONL) for a tiny run."""

from __future__ import annotations

import json
from pathlib import Path

from wikikit.data.render import HarmonyRenderer, openai_messages, openai_tools
from wikikit.example import Example, Message, ToolCall

ANSWER = "Module `m{k}.py` parses config files (`m{k}.py:1-{n}`) and returns a dict."

# What the HF libraries need to stay offline in a test process and in the processes it starts.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "WANDB_MODE": "disabled",
}


def example(k: int) -> Example:
    if k % 3 == 0:
        msgs = [
            Message("user", f"Read m{k}.py"),
            Message(
                "assistant",
                "",
                thinking="Read it first.",
                tool_calls=[ToolCall("read_file", {"path": f"m{k}.py"})],
            ),
            Message("tool", "def f(): pass", name="read_file"),
            Message("assistant", f"`m{k}.py` defines f (`m{k}.py:1`)."),
        ]
    elif k % 5 == 0:
        msgs = [
            Message("system", "You document code. Cite file:line."),
            Message("user", f"Is m{k}.py tested?"),
            Message("assistant", "No.", thinking="No test imports it."),
            Message("user", "Where would a test go?"),
            Message("assistant", f"In `tests/test_m{k}.py` (`m{k}.py:1`).", thinking="Mirror it."),
        ]
    elif k % 7 == 0:
        msgs = [Message("assistant", f"<path>m{k}.py</path><file>def f():\n    pass\n</file>")]
    else:
        msgs = [
            Message("system", "You document code. Cite file:line."),
            Message("user", f"What does module m{k}.py do?"),
            Message("assistant", ANSWER.format(k=k, n=k + 5), thinking=f"Look at m{k}.py."),
        ]
    return Example(id=f"e{k}", messages=msgs, source="fixture", category=category_of(k))


def category_of(k: int) -> str:
    if k % 3 == 0:
        return "tool_use"
    return "multi_turn" if k % 5 == 0 else "cpt" if k % 7 == 0 else "qa"


def write_data_stage_output(data_dir: Path) -> None:
    """train/validation.jsonl in the data stage's row format (wikikit.data.stage): OpenAI-style
    messages, the harmony text, source, category (`tool_use` for the rows with a tool call)."""
    data_dir.mkdir(parents=True)
    render = HarmonyRenderer()  # the data stage's rendering with the recipe defaults
    for name, ks in (("train", range(1, 17)), ("validation", range(100, 103))):
        with open(data_dir / f"{name}.jsonl", "w", encoding="utf-8") as f:
            for k in ks:
                ex = example(k)
                row = {
                    "id": ex.id,
                    "messages": openai_messages(ex),
                    "text": render(ex),
                    "source": ex.source,
                    "category": ex.category,
                }
                if any(m.tool_calls for m in ex.messages):
                    row["tools"] = openai_tools(ex)
                f.write(json.dumps(row) + "\n")
