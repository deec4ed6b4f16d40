"""The Axolotl prompt strategy wikikit trains with: Axolotl's `chat_template` strategy, with the
trained span of an assistant turn being exactly what the model generates.

Axolotl's own strategy (axolotl/prompt_strategies/chat_template.py, 0.19.0) finds a turn by
rendering it again with its content replaced by a placeholder and diffing the two texts
(`_find_turn_from_text`, :765-811; the placeholder turn keeps only role and content,
`_build_dummy_turn`, :870-885). For harmony that diff starts after the header the two renderings
share, `<|start|>assistant<|channel|>` (and `final<|message|>` for a plain answer), so the model is
never trained on the channel it must open its answer with; which later header and end tokens land
inside the span depends on how the texts happen to differ. It then trains the token that ends the
turn only when it is one of `eot_tokens` (:634-661).

Here a turn's span is located by the generation prompt instead: it starts where the runtime stops
writing (the conversation before the turn rendered with `add_generation_prompt`, which ends in
`<|start|>assistant`) and ends before the turn's end token (`<|end|>`, `<|call|>` or `<|return|>`),
which Axolotl's own EOT handling then trains because the config lists all three in `eot_tokens`.
Assistant turns before the last user message are the conversation's history: the runtime renders
them (earlier analysis dropped, `<|end|>` instead of `<|return|>`), the model did not write them in
that form, so they are not trained. Everything else (tokenization, tools, thinking, packing,
dataset handling) is Axolotl's.

A row's `current_date` (the data stage writes the day its text's system block says, which may
differ from row to row: wikikit/recipe/dates.py) is the template's `current_date` while that row
is tokenized, over the config's `chat_template_kwargs`: Axolotl renders a row only through the
prompter's kwargs (chat_template.py:121-125, :183-187) and tokenizes one row at a time
(`_tokenize_single_prompt`, :445-470).

The template must accept `real_last_index` (Axolotl's name for it, :130-131), so a prefix of the
conversation renders exactly as the start of the whole. This module imports only Axolotl: a train
stage pointed at another environment's `axolotl` loads it from wikikit's source folder.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

from axolotl.prompt_strategies.chat_template import ChatTemplateStrategy, StrategyLoader
from axolotl.utils.logging import get_logger

LOG = get_logger(__name__)
GENERATION_PROMPT = "<|start|>assistant"
DATE_FIELD = "current_date"  # the row's day (wikikit/data/stage.py writes it)


def history_untrained(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Assistant turns before the last user message get `training: False` (the history)."""
    users = [i for i, t in enumerate(turns) if t.get("role") == "user"]
    for turn in turns[: users[-1] if users else 0]:
        if turn.get("role") == "assistant" and "training" not in turn:
            turn["training"] = False
    return turns


class HarmonyTurnStrategy(ChatTemplateStrategy):
    """ChatTemplateStrategy with turns located by the generation prompt (see the module doc)."""

    def get_conversation_thread(self, prompt: dict[str, Any]) -> list[dict[str, Any]]:
        return history_untrained(super().get_conversation_thread(prompt))

    def _tokenize_single_prompt(self, prompt: dict) -> dict[str, list[int]]:
        day = prompt.get(DATE_FIELD)
        if not day:
            return super()._tokenize_single_prompt(prompt)
        if hasattr(day, "strftime"):
            # datasets' JSON loader (pyarrow's type inference) reads a column of ISO days as
            # timestamps: the row's day comes back as a datetime, the template wants the text.
            day = day.strftime("%Y-%m-%d")
        kwargs = self.prompter.chat_template_kwargs
        self.prompter.chat_template_kwargs = {**kwargs, "current_date": day}
        try:
            return super()._tokenize_single_prompt(prompt)
        finally:
            self.prompter.chat_template_kwargs = kwargs

    def find_turn(
        self,
        turns: list[dict],
        turn_idx: int,
        tools: list[dict] | None = None,
        content_only: bool = False,
        reasoning_only: bool = False,
        locator: tuple[str, list[int], list[int]] | None = None,
    ):
        if not (content_only or reasoning_only) and turns[turn_idx].get("role") == "assistant":
            span = self._generated_span(turns, turn_idx, tools, locator)
            if span is not None:
                return span
            LOG.warning(
                "turn %d: the prompt before it is not a prefix of the conversation; "
                "using Axolotl's own turn finder",
                turn_idx,
            )
        return super().find_turn(turns, turn_idx, tools, content_only, reasoning_only, locator)

    def _render(self, turns: list[dict], tools: list[dict] | None, **kwargs: Any) -> str:
        kw = {"chat_template": self.prompter.chat_template, **self.prompter.chat_template_kwargs}
        if tools:
            kw["tools"] = tools
        return self.tokenizer.apply_chat_template(turns, tokenize=False, **kw, **kwargs)

    def _generated_span(
        self,
        turns: list[dict],
        idx: int,
        tools: list[dict] | None,
        locator: tuple[str, list[int], list[int]] | None,
    ) -> tuple[int, int] | None:
        """(first token the model writes, index of the turn's end token), or None."""
        through = self._render(turns[: idx + 1], tools, real_last_index=len(turns) - 1)
        if idx:
            before = self._render(turns[:idx], tools, add_generation_prompt=True)
        else:  # nothing before the turn but the system and developer messages
            at = through.find(GENERATION_PROMPT)
            before = through[: at + len(GENERATION_PROMPT)] if at >= 0 else ""
        if not before.endswith(GENERATION_PROMPT) or not through.startswith(before):
            return None
        if locator is not None:
            full, starts, ends = locator
            if not full.startswith(through):
                return None
            first = bisect_left(starts, len(before))
            last = bisect_left(ends, len(through))
            if first >= len(starts) or starts[first] != len(before):
                return None
            if last >= len(ends) or ends[last] != len(through) or last <= first:
                return None
            return first, last
        ids_before = self.tokenizer.encode(before, add_special_tokens=False)
        ids_through = self.tokenizer.encode(through, add_special_tokens=False)
        if ids_through[: len(ids_before)] != ids_before or len(ids_through) <= len(ids_before) + 1:
            return None
        return len(ids_before), len(ids_through) - 1


class _Loader(StrategyLoader):
    def _get_strategy_cls(self, cfg):
        if cfg.tokenizer_use_mistral_common:
            return super()._get_strategy_cls(cfg)
        return HarmonyTurnStrategy


# Axolotl calls `load(tokenizer, cfg, ds_cfg=..., processor=...)` for `type: wikikit.train.harmony_turns`
# (axolotl/prompt_strategies/__init__.py:12-48).
load = _Loader()
