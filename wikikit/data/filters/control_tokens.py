"""Drop examples whose text holds a harmony control token written out as plain text.

Code about gpt-oss (a prompt renderer, a test of one) contains strings such as `<|start|>` or
`<|end|>`. openai-harmony renders message content as ordinary text, but the tokenizer Axolotl
trains with reads those strings as the control tokens themselves (ids 199998-201087,
../shared/ENVIRONMENT.md "A tiny gpt-oss with the real tokenizer"), so the trained tokens would
no longer be the example's: a turn would seem to end or a channel to open inside a file. Found
by the train stage's label check on wikikit's own tests/test_metrics_tooluse.py.
"""

from __future__ import annotations

import json
import re

from wikikit.example import Example

# Every special token of the harmony encoding (openai-harmony 0.0.8: its 1,091, reserved ids too).
CONTROL_TOKEN = re.compile(
    r"<\|(?:start|end|message|channel|constrain|return|call|startoftext|endoftext"
    r"|endofprompt|reserved_\d+)\|>"
)


class ControlTokenFilter:
    name = "control_token_in_text"

    def check(self, example: Example) -> str | None:
        for m in example.messages:
            texts = [m.content, m.thinking or ""]
            texts += [json.dumps(c.arguments, ensure_ascii=False) for c in m.tool_calls or ()]
            for text in texts:
                hit = CONTROL_TOKEN.search(text)
                if hit:
                    return f"control_token_in_text ({hit.group(0)} in a {m.role} message)"
        return None
