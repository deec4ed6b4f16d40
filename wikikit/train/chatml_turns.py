"""The Axolotl prompt strategy for the chatml family: Axolotl's own `chat_template` strategy, with
only the assistant turns after the last user message trained.

Axolotl's placeholder diff (axolotl/prompt_strategies/chat_template.py:765-811, 0.19.0) finds a
chatml answer's content exactly, and the `<|im_end|>` after it is trained as an EOT token
(`eot_tokens`, :634-661). What it does not know is that earlier answers are the conversation's
history, which the runtime renders and the model did not write in that form (the same rule as
wikikit/train/harmony_turns.py): they get `training: False`, the per-message switch Axolotl reads
(`message_field_training`, default `training`). Imports only Axolotl and that module.
"""

from __future__ import annotations

from typing import Any

from axolotl.prompt_strategies.chat_template import ChatTemplateStrategy, StrategyLoader

from wikikit.train.harmony_turns import history_untrained


class ChatMLTurnStrategy(ChatTemplateStrategy):
    """Axolotl's strategy; assistant turns before the last user message are not trained."""

    def get_conversation_thread(self, prompt: dict[str, Any]) -> list[dict[str, Any]]:
        return history_untrained(super().get_conversation_thread(prompt))


class _Loader(StrategyLoader):
    def _get_strategy_cls(self, cfg):
        if cfg.tokenizer_use_mistral_common:
            return super()._get_strategy_cls(cfg)
        return ChatMLTurnStrategy


# Axolotl calls `load(tokenizer, cfg, ds_cfg=..., processor=...)` for `type: wikikit.train.chatml_turns`
# (axolotl/prompt_strategies/__init__.py:12-48).
load = _Loader()
