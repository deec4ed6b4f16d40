"""Token counting with the real gpt-oss tokenizer (o200k_base, offline via wikikit.vocab).

One place for "how many tokens is this": chunking, packing, length filters, cost estimates.
"""

from __future__ import annotations

from functools import lru_cache

import wikikit  # noqa: F401  (points tiktoken at the offline vocab before it is imported)


@lru_cache(maxsize=1)
def encoding():
    import tiktoken

    return tiktoken.get_encoding("o200k_base")


def count_tokens(text: str) -> int:
    return len(encoding().encode(text, disallowed_special=()))


def encode(text: str) -> list[int]:
    return encoding().encode(text, disallowed_special=())


def decode(ids: list[int]) -> str:
    return encoding().decode(ids)
