"""`kind: jsonl`: bring-your-own examples from JSON-lines files (plain or .gz).

Record formats (`format: auto` detects one per line):

- messages: ``{"messages": [{"role", "content", "thinking"?, "tool_calls"?, "name"?}, ...]}``
- instruction: ``{"instruction", "input"?, "output", "system"?}``
- qa: ``{"question", "thinking_trace"? | "thinking"?, "answer"}`` (thinking → analysis channel)
- conversation: exported chat logs, ``{"conversation" | "conversations" | "turns": [{"from" |
  "role" | "speaker": ..., "value" | "content" | "text": ...}]}`` with user/assistant turns

A record may also carry `category`, `language`, `repo`, `refs` and `meta`. A malformed line is
reported as ``FILE:LINE: reason``, counted in `ctx.stats[name]["malformed"]` and skipped; so is
a line over wikikit.bounded's limits (16 MiB, JSON nested 100 levels), which is also counted in
`out_of_bounds` and is read through in slices, never held whole. The first
`WARNINGS_PER_FILE` problems of a file are printed, the rest counted in one line.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wikikit.bounded import MAX_LINE_BYTES, OutOfBounds, bounded_lines, json_loads
from wikikit.code.refs import parse_refs
from wikikit.console import warn
from wikikit.errors import InputError
from wikikit.example import ROLES, Example, Message, Ref, ToolCall, example_id

FORMATS = ("messages", "instruction", "qa", "conversation")
DEFAULT_CATEGORY = "custom"
WARNINGS_PER_FILE = 20
_CONVERSATION_KEYS = ("conversation", "conversations", "turns", "dialog", "dialogue")
_SPEAKER_KEYS = ("role", "from", "speaker", "author")
_TEXT_KEYS = ("content", "value", "text", "message")
_THINKING_KEYS = ("thinking", "reasoning_content", "reasoning", "thinking_trace")
_ROLE_ALIASES = {
    "user": "user",
    "human": "user",
    "prompter": "user",
    "customer": "user",
    "assistant": "assistant",
    "gpt": "assistant",
    "model": "assistant",
    "bot": "assistant",
    "ai": "assistant",
    "chatgpt": "assistant",
    "claude": "assistant",
    "system": "system",
    "developer": "developer",
    "tool": "tool",
    "function": "tool",
    "observation": "tool",
    "ipython": "tool",
}


class Malformed(ValueError):
    """One record that cannot become an Example; the message is the reason."""


def generate(name: str, config: dict, ctx: Any) -> Iterator[Example]:
    fmt = config.get("format", "auto")
    category = config.get("category", DEFAULT_CATEGORY)
    language = config.get("language", "unknown")
    max_examples = config.get("max_examples")
    stats = ctx.stats[name]
    files = [_resolve(p, i, ctx) for i, p in enumerate(config.get("paths") or [])]
    produced = 0
    for path, shown in files:
        problems = 0
        for lineno, line in _lines(path):
            if line is None:
                problems += 1
                _malformed(stats, shown, lineno, problems, OutOfBounds(_over_limit()))
                continue
            if not line.strip():
                continue
            try:
                record = json_loads(line, max_chars=MAX_LINE_BYTES, what="the line")
                ex = record_to_example(record, fmt, name=name, category=category, language=language)
            except json.JSONDecodeError as exc:
                problems += 1
                _malformed(
                    stats,
                    shown,
                    lineno,
                    problems,
                    f"invalid JSON ({exc.msg} at column {exc.colno})",
                )
                continue
            except (Malformed, OutOfBounds) as exc:
                problems += 1
                _malformed(stats, shown, lineno, problems, exc)
                continue
            ex.id = example_id("jsonl", name, path.name, lineno, ex.to_json())
            ex.meta = {**ex.meta, "file": path.name, "line": lineno}
            stats["records"] += 1
            yield ex
            produced += 1
            if max_examples and produced >= max_examples:
                return
        if problems > WARNINGS_PER_FILE:
            warn(f"{shown}: {problems - WARNINGS_PER_FILE} more malformed lines skipped")


def _over_limit() -> str:
    return f"the line is over {MAX_LINE_BYTES >> 20} MiB (skipped without reading it whole)"


def _resolve(value: str, i: int, ctx: Any) -> tuple[Path, str]:
    key_path = (*tuple(ctx.key_path), "paths", i)
    label = ".".join(str(p) for p in key_path) or f"paths.{i}"
    recipe = getattr(ctx, "recipe", None)
    path = recipe.resolve_path(value, key_path) if recipe is not None else Path(value)
    if not path.is_file():
        raise InputError(f"{label}: file not found: {value}")
    return path, str(value)


def _lines(path: Path) -> Iterator[tuple[int, str | None]]:
    """(line number, text) per line; None for a line over MAX_LINE_BYTES."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        for lineno, raw, _length in bounded_lines(fh, MAX_LINE_BYTES):
            yield lineno, None if raw is None else raw.decode("utf-8", errors="replace")


def _malformed(stats: Any, shown: str, lineno: int, nth: int, reason: Any) -> None:
    stats["malformed"] += 1
    if isinstance(reason, OutOfBounds):
        stats["out_of_bounds"] += 1
    if nth <= WARNINGS_PER_FILE:
        warn(f"{shown}:{lineno}: {reason}")


# -- record mapping --------------------------------------------------------------------------


def detect_format(record: dict) -> str:
    if "messages" in record:
        return "messages"
    if any(k in record for k in _CONVERSATION_KEYS):
        return "conversation"
    if "instruction" in record or ("output" in record and "input" in record):
        return "instruction"
    if "question" in record and "answer" in record:
        return "qa"
    raise Malformed(
        "unknown record format (expected messages, instruction/output, question/answer or a "
        "conversation)"
    )


def record_to_example(
    record: Any,
    fmt: str = "auto",
    *,
    name: str = "jsonl",
    category: str = DEFAULT_CATEGORY,
    language: str = "unknown",
) -> Example:
    """One JSON record → an Example (id is filled by the caller); raises Malformed."""
    if not isinstance(record, dict):
        raise Malformed(f"expected a JSON object, got {type(record).__name__}")
    kind = detect_format(record) if fmt == "auto" else fmt
    messages = {
        "messages": _from_messages,
        "instruction": _from_instruction,
        "qa": _from_qa,
        "conversation": _from_conversation,
    }[kind](record)
    _check_conversation(messages)
    refs = _refs(record, messages)
    meta = record.get("meta") if isinstance(record.get("meta"), dict) else {}
    return Example(
        id="",
        messages=messages,
        source="jsonl",
        category=_str_field(record, "category") or category,
        language=_str_field(record, "language") or language,
        repo=_str_field(record, "repo"),
        refs=refs,
        meta={**meta, "format": kind, "source_name": name},
    )


def _str_field(record: dict, key: str) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Malformed(f"`{key}` must be a string")
    return value


def _text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # OpenAI content parts: [{"type": "text", "text": ...}]
        parts = []
        for part in value:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif isinstance(part, str):
                parts.append(part)
            else:
                raise Malformed(f"{where}: unsupported content part")
        return "".join(parts)
    raise Malformed(f"{where}: content must be a string")


def _from_messages(record: dict) -> list[Message]:
    raw = record.get("messages")
    if not isinstance(raw, list) or not raw:
        raise Malformed("`messages` must be a non-empty list")
    out = []
    for i, m in enumerate(raw):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            raise Malformed(f"{where} must be an object")
        role = m.get("role")
        if role not in ROLES:
            raise Malformed(f"{where}: unknown role {role!r}")
        thinking = next((m[k] for k in _THINKING_KEYS if isinstance(m.get(k), str) and m[k]), None)
        out.append(
            Message(
                role=role,
                content=_text(m.get("content"), where),
                thinking=thinking,
                tool_calls=_tool_calls(m.get("tool_calls"), where),
                name=m.get("name") if role == "tool" and isinstance(m.get("name"), str) else None,
            )
        )
    return out


def _tool_calls(raw: Any, where: str) -> list[ToolCall]:
    if not raw:
        return []
    if not isinstance(raw, list):
        raise Malformed(f"{where}: tool_calls must be a list")
    calls = []
    for j, c in enumerate(raw):
        if not isinstance(c, dict):
            raise Malformed(f"{where}.tool_calls[{j}] must be an object")
        fn = c.get("function") if isinstance(c.get("function"), dict) else c  # OpenAI nesting
        name = fn.get("name")
        args = fn.get("arguments", {})
        if isinstance(args, str):  # OpenAI sends arguments as a JSON string
            try:
                args = json.loads(args) if args.strip() else {}
            except json.JSONDecodeError:
                raise Malformed(f"{where}.tool_calls[{j}]: arguments are not valid JSON") from None
        if not isinstance(name, str) or not name or not isinstance(args, dict):
            raise Malformed(f"{where}.tool_calls[{j}] needs a name and object arguments")
        calls.append(ToolCall(name, args))
    return calls


def _required_text(record: dict, key: str) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value.strip():
        raise Malformed(f"missing or empty `{key}`")
    return value


def _from_instruction(record: dict) -> list[Message]:
    instruction = _required_text(record, "instruction")
    extra = record.get("input")
    if extra is not None and not isinstance(extra, str):
        raise Malformed("`input` must be a string")
    user = f"{instruction}\n\n{extra}" if extra and extra.strip() else instruction
    out = []
    if isinstance(record.get("system"), str) and record["system"].strip():
        out.append(Message("system", record["system"]))
    out += [Message("user", user), Message("assistant", _required_text(record, "output"))]
    return out


def _from_qa(record: dict) -> list[Message]:
    thinking = next(
        (
            record[k]
            for k in ("thinking_trace", "thinking", "reasoning")
            if isinstance(record.get(k), str)
        ),
        None,
    )
    return [
        Message("user", _required_text(record, "question")),
        Message("assistant", _required_text(record, "answer"), thinking=thinking or None),
    ]


def _from_conversation(record: dict) -> list[Message]:
    key = next(k for k in _CONVERSATION_KEYS if k in record)
    turns = record[key]
    if not isinstance(turns, list) or not turns:
        raise Malformed(f"`{key}` must be a non-empty list")
    out = []
    for i, turn in enumerate(turns):
        where = f"{key}[{i}]"
        if not isinstance(turn, dict):
            raise Malformed(f"{where} must be an object")
        speaker = next((turn[k] for k in _SPEAKER_KEYS if k in turn), None)
        role = _ROLE_ALIASES.get(str(speaker).lower()) if speaker is not None else None
        if role is None:
            raise Malformed(f"{where}: unknown speaker {speaker!r}")
        text_key = next((k for k in _TEXT_KEYS if k in turn), None)
        content = _text(turn.get(text_key) if text_key else None, where)
        thinking = next(
            (turn[k] for k in _THINKING_KEYS if isinstance(turn.get(k), str) and turn[k]), None
        )
        name = turn.get("name") if role == "tool" and isinstance(turn.get("name"), str) else None
        out.append(Message(role, content, thinking=thinking, name=name))
    return out


def _check_conversation(messages: list[Message]) -> None:
    """A trainable example has a user turn and an assistant turn that says or does something."""
    if not any(m.role == "user" for m in messages):
        raise Malformed("no user turn")
    answers = [m for m in messages if m.role == "assistant"]
    if not answers:
        raise Malformed("no assistant turn")
    if not any(m.content.strip() or m.tool_calls for m in answers):
        raise Malformed("assistant turns are empty")
    if messages[-1].role not in ("assistant",):
        raise Malformed(f"last turn is {messages[-1].role}, not assistant")


def _refs(record: dict, messages: list[Message]) -> list[Ref]:
    raw = record.get("refs")
    if raw is not None:
        if not isinstance(raw, list):
            raise Malformed("`refs` must be a list")
        try:
            return [Ref.from_dict(r) for r in raw]
        except (KeyError, TypeError, ValueError):
            raise Malformed("`refs` items need path, start and end") from None
    # References written in the answers, in the one shared syntax.
    seen: list[Ref] = []
    for m in messages:
        if m.role != "assistant":
            continue
        for match in parse_refs(m.content):
            ref = Ref(match.path, match.start or 0, match.end or 0)
            if ref not in seen:
                seen.append(ref)
    return seen
