"""The part of a model's output that metrics judge: harmony's final channel, not its analysis.

gpt-oss writes `<|channel|>analysis<|message|>...<|end|><|start|>assistant<|channel|>final
<|message|>...`. lm-eval's hf backend decodes with special tokens skipped, which leaves
`analysis...assistantfinal...`; servers that parse harmony return the final text alone. All three
shapes reduce to the final text here.
"""

from __future__ import annotations

import re

_FINAL_TOKENS = re.compile(r"<\|channel\|>\s*final\s*<\|message\|>")
_END_TOKENS = re.compile(r"<\|(?:return|end|call|endoftext)\|>")
_FINAL_DECODED = re.compile(r"(?:^|assistant)final(?=\S|\s)")
_ANALYSIS_DECODED = re.compile(r"^\s*(?:<\|start\|>assistant)?(?:<\|channel\|>)?analysis")


def final_text(output: str) -> str:
    """The final-channel text of one generation (the whole text when it has no channels)."""
    text = output or ""
    marks = list(_FINAL_TOKENS.finditer(text))
    if marks:
        text = text[marks[-1].end() :]
        end = _END_TOKENS.search(text)
        return (text[: end.start()] if end else text).strip()
    if _ANALYSIS_DECODED.match(text):
        marks = list(_FINAL_DECODED.finditer(text))
        # no final channel yet: the model is still thinking, so there is no answer to judge
        return text[marks[-1].end() :].strip() if marks else ""
    end = _END_TOKENS.search(text)
    return (text[: end.start()] if end else text).strip()
