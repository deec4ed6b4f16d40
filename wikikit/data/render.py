"""Render Examples as training text: `harmony` (gpt-oss), `chatml`, or `messages`.

Every row also carries the OpenAI-style `messages` list (see `openai_messages`), which is what
Axolotl's `chat_template` dataset type reads (`field_thinking: thinking`).

Harmony mapping (openai-harmony does the rendering):
- system: SystemContent with the recipe's reasoning effort and the example's `Current date:`
  (`model.current_date`: every runtime writes one; a day, or a day per example from a range or
  its recording day, chosen from its id so a rerun renders the same: wikikit/recipe/dates.py);
- developer: the Example's system and developer turns as instructions, plus the function tools
  its assistant calls (described by `meta["tools"]`, else wikikit.semanticwiki.tools, else
  inferred from the arguments); for `model.runtime: node-llama-cpp` an example without tools
  gets that runtime's developer block instead (wikikit/semanticwiki/runtimes.py);
- assistant: `thinking` -> analysis channel; content -> final channel, or a commentary
  preamble when the turn makes tool calls; each tool call -> commentary message
  `to=functions.NAME` with `<|constrain|>json`; tool results -> `functions.NAME to=assistant`.
- the conversation before the last user message is rendered as harmony renders a prompt for the
  runtime (`render_conversation_for_completion`: earlier analysis dropped, as every runtime
  does); the turn after it with `render_conversation_for_training(auto_drop_analysis=False)`, so
  the thinking the model writes is kept.

Speed: the system + developer prefix is the same for most examples, so its tokens are rendered
once and cached; the rest of the conversation is rendered on its own and appended. The first
example of each prefix is also rendered whole and compared, so the shortcut can never drift
from harmony's own output unnoticed.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import wikikit  # noqa: F401  (offline o200k vocab before openai_harmony loads)
from wikikit.errors import WikikitError
from wikikit.example import Example, Message
from wikikit.recipe.dates import date_function
from wikikit.semanticwiki.runtimes import (
    DEFAULT_CURRENT_DATE,
    DEFAULT_RUNTIME,
    as_runtime_feeds,
    check_runtime,
)

FORMATS = ("harmony", "chatml", "messages")


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "string"


@lru_cache(maxsize=1)
def _semanticwiki_tools() -> dict[str, dict[str, Any]]:
    from wikikit.semanticwiki.tools import TOOLS

    return {t["function"]["name"]: t["function"] for t in TOOLS}


def tool_specs(example: Example) -> list[dict[str, Any]]:
    """OpenAI-style function tool specs for every tool the example's assistant calls."""
    declared = {
        t["name"]: t for t in example.meta.get("tools") or [] if isinstance(t, dict) and "name" in t
    }
    names: dict[str, dict[str, Any]] = {}
    for m in example.messages:
        for c in m.tool_calls:
            names.setdefault(c.name, c.arguments)
    known = _semanticwiki_tools()
    specs = []
    for name in sorted(names):
        if name in declared:
            t = declared[name]
            spec = {
                "name": name,
                "description": t.get("description", ""),
                "parameters": t.get("parameters") or {"type": "object", "properties": {}},
            }
        elif name in known:
            spec = known[name]
        else:
            args = names[name]
            spec = {
                "name": name,
                "description": "",
                "parameters": {
                    "type": "object",
                    "properties": {k: {"type": _json_type(v)} for k, v in sorted(args.items())},
                },
            }
        specs.append(spec)
    return specs


def openai_messages(example: Example) -> list[dict[str, Any]]:
    """The OpenAI-style list Axolotl's chat_template reads (thinking in `thinking`).

    Tool-call arguments are JSON strings (Axolotl's template and harmony accept them)."""
    out = []
    for m in example.messages:
        d: dict[str, Any] = {"role": m.role, "content": m.content}
        if m.thinking:
            d["thinking"] = m.thinking
        if m.tool_calls:
            d["tool_calls"] = [
                # A JSON string, as in OpenAI's wire format: `datasets` would otherwise merge
                # every row's argument objects into one struct and add null keys to each call.
                {
                    "type": "function",
                    "function": {"name": c.name, "arguments": _arguments_text(c.arguments)},
                }
                for c in m.tool_calls
            ]
        if m.role == "tool" and m.name:
            d["name"] = m.name
        out.append(d)
    return out


def openai_tools(example: Example) -> str:
    """The `tools` column as a JSON string, which Axolotl parses (field_tools defaults to tools);
    a string keeps `datasets` from merging every row's parameter schemas into one."""
    specs = [{"type": "function", "function": spec} for spec in tool_specs(example)]
    return json.dumps(specs, ensure_ascii=False)  # key order is the rendered order


# ------------------------------------------------------------------------------------ harmony


@lru_cache(maxsize=1)
def harmony_encoding():
    import openai_harmony as oh

    return oh.load_harmony_encoding(oh.HarmonyEncodingName.HARMONY_GPT_OSS)


def _instructions(example: Example) -> str:
    return "\n\n".join(
        m.content for m in example.messages if m.role in ("system", "developer") and m.content
    )


def _harmony_prefix(
    example: Example, reasoning_effort: str, current_date: str | None = None
) -> list[Any]:
    import openai_harmony as oh

    effort = {
        "low": oh.ReasoningEffort.LOW,
        "medium": oh.ReasoningEffort.MEDIUM,
        "high": oh.ReasoningEffort.HIGH,
    }[reasoning_effort]
    system = oh.SystemContent.new().with_reasoning_effort(effort)
    if current_date:
        system = system.with_conversation_start_date(current_date)
    msgs = [oh.Message.from_role_and_content(oh.Role.SYSTEM, system)]
    instructions = _instructions(example)
    tools = [
        oh.ToolDescription.new(s["name"], s["description"], s["parameters"])
        for s in tool_specs(example)
    ]
    if instructions or tools:
        dev = oh.DeveloperContent.new()
        if instructions:
            dev = dev.with_instructions(instructions)
        if tools:
            dev = dev.with_function_tools(tools)
        msgs.append(oh.Message.from_role_and_content(oh.Role.DEVELOPER, dev))
    return msgs


def _harmony_turns(messages: list[Message]) -> list[Any]:
    import openai_harmony as oh

    out = []
    for m in messages:
        if m.role in ("system", "developer"):
            continue
        if m.role == "user":
            out.append(oh.Message.from_role_and_content(oh.Role.USER, m.content))
        elif m.role == "tool":
            author = oh.Author.new(oh.Role.TOOL, f"functions.{m.name or 'tool'}")
            out.append(
                oh.Message.from_author_and_content(author, m.content)
                .with_channel("commentary")
                .with_recipient("assistant")
            )
        elif m.role == "assistant":
            if m.thinking:
                out.append(
                    oh.Message.from_role_and_content(oh.Role.ASSISTANT, m.thinking).with_channel(
                        "analysis"
                    )
                )
            if m.tool_calls:
                if m.content:
                    out.append(
                        oh.Message.from_role_and_content(oh.Role.ASSISTANT, m.content).with_channel(
                            "commentary"
                        )
                    )
                for c in m.tool_calls:
                    out.append(
                        oh.Message.from_role_and_content(
                            oh.Role.ASSISTANT, _arguments_text(c.arguments)
                        )
                        .with_channel("commentary")
                        .with_recipient(f"functions.{c.name}")
                        .with_content_type("<|constrain|>json")
                    )
            elif m.content or not m.thinking:
                out.append(
                    oh.Message.from_role_and_content(oh.Role.ASSISTANT, m.content).with_channel(
                        "final"
                    )
                )
        else:
            raise WikikitError(f"example has an unknown role {m.role!r}")
    return out


def _arguments_text(arguments: dict[str, Any]) -> str:
    if set(arguments) == {"\x00slot"}:  # a skeleton's slot (see HarmonyRenderer)
        return arguments["\x00slot"]
    return json.dumps(arguments, ensure_ascii=False)


def harmony_conversation(
    example: Example, reasoning_effort: str = "medium", current_date: str | None = None
) -> Any:
    """The openai-harmony Conversation for an example (the reference rendering's input)."""
    import openai_harmony as oh

    return oh.Conversation.from_messages(
        _harmony_prefix(example, reasoning_effort, current_date) + _harmony_turns(example.messages)
    )


def for_runtime(text: str, example: Example, runtime: str) -> str:
    """openai-harmony's text as `runtime` feeds it (wikikit/semanticwiki/runtimes.py)."""
    try:
        return as_runtime_feeds(text, _instructions(example), runtime, bool(tool_specs(example)))
    except ValueError as exc:
        raise WikikitError(f"example {example.id}: {exc}") from None


_SLOT = "\ue000{}\ue001"  # private-use characters: never produced by harmony's own headers
_SLOT_RE = None


def _slot_re():
    global _SLOT_RE
    if _SLOT_RE is None:
        import re

        _SLOT_RE = re.compile("\ue000(\\d+)\ue001")
    return _SLOT_RE


class HarmonyRenderer:
    """Harmony rendering with a cache of conversation skeletons.

    Harmony renders a message as header tokens, the content's tokens and an end token, and the
    content decodes back to itself. So the rendered text of a conversation is its skeleton
    (system + developer prefix, and each message's header with a numbered slot as content),
    rendered once by openai-harmony, with the contents put into the slots. A skeleton is keyed
    by everything but the contents; the first conversation of each skeleton, every
    `check_every`-th one, and any whose text contains a slot marker or `<|` are rendered whole
    by harmony instead (and the first ones compared), so the shortcut cannot drift unnoticed.
    """

    def __init__(
        self,
        reasoning_effort: str = "medium",
        check_every: int = 257,
        *,
        runtime: str = DEFAULT_RUNTIME,
        current_date: Any = DEFAULT_CURRENT_DATE,
    ):
        import openai_harmony as oh

        self.effort = reasoning_effort
        self.runtime = check_runtime(runtime)
        self._date_of = date_function(current_date)  # a day, a range, `recording`, None: none
        self.enc = harmony_encoding()
        self.config = oh.RenderConversationConfig(auto_drop_analysis=False)
        self.check_every = check_every
        self._skeletons: dict[str, list[str]] = {}
        self._n = 0

    def date_for(self, example: Example) -> str | None:
        """The `Current date:` of this example's system block (None: no such line)."""
        return self._date_of(example.id, example.meta) if self._date_of else None

    def full(self, example: Example, date: str | None = None) -> str:
        """Harmony's rendering of the whole example (the reference the skeletons are checked
        against): the conversation up to the last user message as harmony renders a prompt for
        the runtime to complete (earlier analysis dropped by harmony's own rule), then the turn
        the model writes, rendered for training (its analysis kept, ending in <|return|>).
        `date`: the system block's date, else the example's own (`date_for`)."""
        import openai_harmony as oh

        msgs = example.messages
        users = [i for i, m in enumerate(msgs) if m.role == "user"]
        cut = users[-1] + 1 if users else 0
        date = date or self.date_for(example)
        prefix = _harmony_prefix(example, self.effort, date) + _harmony_turns(msgs[:cut])
        prompt = self.enc.render_conversation_for_completion(
            oh.Conversation.from_messages(prefix), oh.Role.ASSISTANT
        )
        if self.enc.decode_utf8(prompt[-2:]) != "<|start|>assistant":  # harmony's own suffix
            raise WikikitError("openai-harmony's completion prompt has an unexpected ending")
        tokens = list(prompt[:-2])
        turn = _harmony_turns(msgs[cut:])
        if turn:
            tokens += self.enc.render_conversation_for_training(
                oh.Conversation.from_messages(turn), self.config
            )
        return for_runtime(self.enc.decode_utf8(tokens), example, self.runtime)

    @staticmethod
    def _contents(example: Example) -> tuple[list[str], list[tuple]]:
        """The message contents in harmony order, and the skeleton key of each harmony message."""
        contents: list[str] = []
        shape: list[tuple] = []
        for m in example.messages:
            if m.role in ("system", "developer"):
                continue
            if m.role == "assistant":
                if m.thinking:
                    contents.append(m.thinking)
                    shape.append(("assistant", "analysis"))
                if m.tool_calls:
                    if m.content:
                        contents.append(m.content)
                        shape.append(("assistant", "commentary"))
                    for c in m.tool_calls:
                        contents.append(json.dumps(c.arguments, ensure_ascii=False))
                        shape.append(("call", c.name))
                elif m.content or not m.thinking:
                    contents.append(m.content)
                    shape.append(("assistant", "final"))
            else:
                contents.append(m.content)
                shape.append((m.role, m.name if m.role == "tool" else None))
        return contents, shape

    def __call__(self, example: Example) -> str:
        self._n += 1
        contents, shape = self._contents(example)
        date = self.date_for(example)
        if self._n % self.check_every == 0 or any("<|" in c or "\ue000" in c for c in contents):
            return self.full(example, date)
        instructions = [m.content for m in example.messages if m.role in ("system", "developer")]
        key = json.dumps([instructions, tool_specs(example), shape], sort_keys=True)
        known = self._skeletons.get(key)
        if known is None:
            slotted = _slotted(example, [_SLOT.format(i) for i in range(len(contents))])
            skeleton = self.full(slotted, date)
            parts = _slot_re().split(skeleton)[0::2]  # text between slots
            if len(parts) != len(contents) + 1:
                return self.full(example, date)
            self._skeletons[key] = (parts, date)
            text = _fill(parts, contents)
            if text != self.full(example, date):  # never let the shortcut drift from harmony
                raise WikikitError("harmony skeleton rendering disagrees with openai-harmony")
            return text
        parts, rendered_with = known
        if date != rendered_with:  # the date is the system block's only per-example text
            was, now = f"\nCurrent date: {rendered_with}\n", f"\nCurrent date: {date}\n"
            if was not in parts[0]:
                return self.full(example, date)
            parts = [parts[0].replace(was, now, 1), *parts[1:]]
        return _fill(parts, contents)


def _fill(parts: list[str], contents: list[str]) -> str:
    out = [parts[0]]
    for content, part in zip(contents, parts[1:], strict=True):
        out.append(content)
        out.append(part)
    return "".join(out)


def _slotted(example: Example, slots: list[str]) -> Example:
    """A copy of the example whose contents are `slots`, in harmony order."""
    from wikikit.example import ToolCall

    it = iter(slots)
    msgs: list[Message] = []
    for m in example.messages:
        if m.role in ("system", "developer"):
            msgs.append(m)
        elif m.role == "assistant":
            thinking = next(it) if m.thinking else None
            if m.tool_calls:
                content = next(it) if m.content else ""
                # A slot standing for the whole JSON arguments: rendered via a raw string below.
                calls = [ToolCall(c.name, {"\x00slot": next(it)}) for c in m.tool_calls]
            else:
                content = next(it) if (m.content or not m.thinking) else ""
                calls = []
            msgs.append(Message("assistant", content, thinking=thinking, tool_calls=calls))
        else:
            msgs.append(Message(m.role, next(it), name=m.name))
    copy = Example(example.id, msgs, example.source, example.category, meta=example.meta)
    # Tool specs must come from the original calls' arguments (inferred schemas), not the slots.
    copy.meta = {**example.meta, "tools": tool_specs(example)}
    return copy


# -------------------------------------------------------------------------------------- chatml


def render_chatml(example: Example) -> str:
    parts = []
    for m in example.messages:
        body = m.content
        if m.role == "assistant":
            if m.thinking:
                body = f"<think>\n{m.thinking}\n</think>\n\n{body}"
            for c in m.tool_calls:
                call = json.dumps(
                    {"name": c.name, "arguments": c.arguments}, ensure_ascii=False, sort_keys=True
                )
                body += f"\n<tool_call>\n{call}\n</tool_call>"
        elif m.role == "tool":
            body = f"<tool_response>\n{m.content}\n</tool_response>"
        parts.append(f"<|im_start|>{m.role}\n{body}<|im_end|>\n")
    return "".join(parts)


def make_renderer(
    fmt: str,
    reasoning_effort: str = "medium",
    *,
    runtime: str = DEFAULT_RUNTIME,
    current_date: Any = DEFAULT_CURRENT_DATE,
    family: str = "harmony",
):
    """A function Example -> training text for the given format (harmony: as `runtime` feeds
    the model, with the example's day of `current_date` in the system block, `date_for`;
    chatml for `family` chatml: as the runtime renders the model's own template,
    wikikit/data/chatml.py)."""
    if family == "chatml":
        from wikikit.data.chatml import ChatMLRenderer

        return ChatMLRenderer(runtime)
    if fmt == "harmony":
        return HarmonyRenderer(reasoning_effort, runtime=runtime, current_date=current_date)
    if fmt == "chatml":
        return render_chatml
    if fmt == "messages":
        return lambda ex: json.dumps(openai_messages(ex), ensure_ascii=False, sort_keys=True)
    raise WikikitError(f"model.format: unknown format {fmt!r} (one of {', '.join(FORMATS)})")
