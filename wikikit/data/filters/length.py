"""Length filters: too-short answers teach nothing; over-long ones do not fit the context."""

from __future__ import annotations

from wikikit.example import Example


class MinCharsFilter:
    """Drop examples whose assistant text is shorter than `min_chars` characters."""

    name = "min_chars"

    def __init__(self, min_chars: int):
        self.min_chars = min_chars

    def check(self, example: Example) -> str | None:
        n = len(example.assistant_text)
        if n < self.min_chars:
            return f"too_short (<{self.min_chars} chars)"
        return None


class MaxCharsFilter:
    """Drop examples whose assistant text is longer than `max_chars` characters."""

    name = "max_chars"

    def __init__(self, max_chars: int):
        self.max_chars = max_chars

    def check(self, example: Example) -> str | None:
        if len(example.assistant_text) > self.max_chars:
            return f"too_long (>{self.max_chars} chars)"
        return None


class MaxTokensFilter:
    """Drop examples whose whole conversation exceeds `max_tokens` o200k tokens."""

    name = "max_tokens"

    def __init__(self, max_tokens: int):
        self.max_tokens = max_tokens

    def check(self, example: Example) -> str | None:
        from wikikit.tokens import count_tokens

        # Cheap bound first: o200k never packs more than ~10 characters into one token on prose,
        # and never fewer than 1 character per token, so short texts need no tokenizing.
        texts = [m.content for m in example.messages] + [
            m.thinking for m in example.messages if m.thinking
        ]
        chars = sum(len(t) for t in texts)
        if chars <= self.max_tokens:
            return None
        n = sum(count_tokens(t) for t in texts)
        if n > self.max_tokens:
            return f"too_many_tokens (>{self.max_tokens})"
        return None


class OversizedPieceFilter:
    """Drop examples holding a run of letters, punctuation or spaces that the tokenizer would
    take as one piece of over MAX_PIECE_CHARS (wikikit.tokens: harmony is quadratic on it)."""

    name = "oversized_piece"

    def check(self, example: Example) -> str | None:
        from wikikit.tokens import MAX_PIECE_CHARS, has_oversized_piece

        for m in example.messages:
            if has_oversized_piece(m.content) or m.thinking and has_oversized_piece(m.thinking):
                return f"oversized_piece (a run of over {MAX_PIECE_CHARS:,} characters)"
        return None
