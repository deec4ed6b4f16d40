"""Token counting with the real gpt-oss tokenizer (o200k_base, offline via wikikit.vocab).

One place for "how many tokens is this": chunking, packing, length filters, cost estimates.
"""

from __future__ import annotations

import re
from functools import lru_cache

import wikikit  # noqa: F401  (points tiktoken at the offline vocab before it is imported)

# o200k's pre-tokenizer makes one piece of a run of letters, of punctuation or of whitespace,
# and openai-harmony 0.0.8's tokenizer is quadratic in a piece's length and panics with
# RuntimeError(StackOverflow) past about 1M characters (measured here: 10,000 letters 0.07 s,
# 50,000 2.8 s, 300,000 89 s; tiktoken 0.14 itself stays linear). Real text has no such runs;
# a stranger's data can, so examples holding one are dropped before anything renders them.
MAX_PIECE_CHARS = 10_000
_RUN_CLASSES = (r"[^\W\d_]", r"(?:[^\w\s]|_)", r"\s")
# At a run's first character (the lookbehind: the one before is not of its class), more than
# MAX_PIECE_CHARS of the class: each character is scanned from its own run's start only, so
# the search is linear.
_LONG_PIECE = re.compile("|".join(f"(?<!{c}){c}{{{MAX_PIECE_CHARS + 1}}}" for c in _RUN_CLASSES))


def has_oversized_piece(text: str) -> bool:
    """True when the text holds a run the tokenizer would take as one piece of over
    MAX_PIECE_CHARS characters."""
    return len(text) > MAX_PIECE_CHARS and _LONG_PIECE.search(text) is not None


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
