"""Tool calls in a model's output, and how well they match what the prompt needed.

Calls are read from harmony commentary calls, with special tokens
(`<|channel|>commentary to=functions.read_file <|constrain|>json<|message|>{...}<|call|>`) or as
lm-eval's hf backend decodes them without (`commentary to=functions.read_file json{...}`), and from
SemanticWiki's bundled mode, one `{"tool": ..., "args": {...}}` object per line or fenced.

Scores per answer: call_decision (a call made exactly when one is needed), tool_accuracy (the
first call names an acceptable tool, over answers that need a call), args_valid (its arguments
pass the tool's JSON schema), tooluse (headline: all of these right).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wikikit.eval.metrics import Ratio, share

_HARMONY_CALL = re.compile(r"to=functions\.(?P<name>[A-Za-z_][\w\-]*)")
_DECODER = json.JSONDecoder()


@dataclass
class ParsedCall:
    name: str
    arguments: Any  # a dict when the JSON parsed, else None
    form: str  # "harmony" | "bundled"
    error: str | None = None


def _json_at(text: str, start: int) -> tuple[Any, int]:
    return _DECODER.raw_decode(text, start)


def _harmony_calls(text: str) -> tuple[list[ParsedCall], list[tuple[int, int]]]:
    calls, spans = [], []
    for m in _HARMONY_CALL.finditer(text):
        # the JSON follows within the header: ` <|constrain|>json<|message|>` or ` json`
        brace = text.find("{", m.end(), m.end() + 80)
        nxt = _HARMONY_CALL.search(text, m.end())
        if brace < 0 or (nxt and brace > nxt.start()):
            calls.append(ParsedCall(m["name"], None, "harmony", "no JSON arguments"))
            continue
        try:
            args, end = _json_at(text, brace)
            calls.append(ParsedCall(m["name"], args, "harmony"))
            spans.append((brace, end))
        except json.JSONDecodeError as e:
            calls.append(ParsedCall(m["name"], None, "harmony", f"arguments are not JSON: {e.msg}"))
    return calls, spans


def _bundled_calls(text: str, skip: Sequence[tuple[int, int]]) -> list[ParsedCall]:
    calls = []
    i = text.find("{")
    while i >= 0:
        if any(a <= i < b for a, b in skip):
            i = text.find("{", i + 1)
            continue
        try:
            obj, end = _json_at(text, i)
        except json.JSONDecodeError:
            i = text.find("{", i + 1)
            continue
        if isinstance(obj, dict) and isinstance(obj.get("tool"), str):
            args = obj.get("args", obj.get("arguments", {}))
            calls.append(
                ParsedCall(obj["tool"], args if isinstance(args, dict) else None, "bundled")
            )
        i = text.find("{", end)
    return calls


def parse_tool_calls(output: str) -> list[ParsedCall]:
    """Every tool call in one generation, harmony calls first, then bundled-mode ones."""
    text = output or ""
    harmony, spans = _harmony_calls(text)
    return harmony + _bundled_calls(text, spans)


@dataclass
class ToolUseScore:
    call_decision: Ratio
    tool_accuracy: Ratio
    args_valid: Ratio
    tooluse: Ratio
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, float]:
        keys = ("call_decision", "tool_accuracy", "args_valid", "tooluse")
        return {k: share(getattr(self, k)) for k in keys}


def _validate(name: str, arguments: Any) -> str | None:
    from wikikit.semanticwiki.tools import validate_call

    return validate_call(name, arguments)


def score_tooluse(output: str, expected: Mapping[str, Any]) -> ToolUseScore:
    """Score one generation. `expected`: {"call": bool, "tools": [acceptable names]}."""
    calls = parse_tool_calls(output)
    needs = bool(expected.get("call", True))
    problems: list[str] = []
    decision = int(bool(calls) == needs)
    if not decision:
        problems.append(
            "no tool call where one was needed" if needs else "a tool call where none was needed"
        )
    if not needs:
        return ToolUseScore((decision, 1), (0, 0), (0, 0), (decision, 1), problems)
    if not calls:
        return ToolUseScore((0, 1), (0, 1), (0, 1), (0, 1), problems)
    first = calls[0]
    right_tool = int(first.name in set(expected.get("tools") or ()))
    if not right_tool:
        problems.append(f"called {first.name}, expected one of {expected.get('tools')}")
    reason = first.error or (
        "arguments are not a JSON object" if not isinstance(first.arguments, dict) else None
    )
    reason = reason or _validate(first.name, first.arguments)
    if reason:
        problems.append(f"{first.name}: {reason}")
    valid = int(reason is None)
    return ToolUseScore(
        (decision, 1),
        (right_tool, 1),
        (valid, 1),
        (int(decision and right_tool and valid), 1),
        problems,
    )
