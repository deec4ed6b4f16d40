"""Prices per million tokens (USD). The shipped table covers common models; a recipe's
`teacher.prices` wins. A model missing from both has no known price: with `max_usd` set that
is an input error (a budget cannot be enforced without prices); without it, cost reads as 0.

Prices change: the table is a dated default, not a source of truth. Checked 2025-11.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Prices:
    input_per_mtok: float
    output_per_mtok: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input_per_mtok + output_tokens * self.output_per_mtok) / 1e6


# Model-name prefix -> (input, output) USD per million tokens. Longest matching prefix wins,
# so dated snapshots ("claude-sonnet-4-5-20250929") find their family.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    # Anthropic
    "claude-opus-4-1": (15.0, 75.0),
    "claude-opus-4": (15.0, 75.0),
    "claude-opus-4-5": (5.0, 25.0),
    "claude-sonnet-4-5": (3.0, 15.0),
    "claude-sonnet-4": (3.0, 15.0),
    "claude-3-7-sonnet": (3.0, 15.0),
    "claude-3-5-sonnet": (3.0, 15.0),
    "claude-haiku-4-5": (1.0, 5.0),
    "claude-3-5-haiku": (0.8, 4.0),
    "claude-3-haiku": (0.25, 1.25),
    # OpenAI
    "gpt-5": (1.25, 10.0),
    "gpt-5-mini": (0.25, 2.0),
    "gpt-5-nano": (0.05, 0.4),
    "gpt-4.1": (2.0, 8.0),
    "gpt-4.1-mini": (0.4, 1.6),
    "gpt-4.1-nano": (0.1, 0.4),
    "gpt-4o": (2.5, 10.0),
    "gpt-4o-mini": (0.15, 0.6),
    "o3": (2.0, 8.0),
    "o4-mini": (1.1, 4.4),
}


def lookup(model: str) -> Prices | None:
    """The shipped price for `model` (longest matching prefix), or None."""
    best = None
    for prefix, (inp, out) in DEFAULT_PRICES.items():
        if model.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, inp, out)
    return Prices(best[1], best[2]) if best else None


def resolve_prices(provider: str, model: str, override: dict | None) -> Prices | None:
    """Recipe override (either field may be given) over the shipped table; local Ollama is free."""
    base = lookup(model)
    if base is None and provider == "ollama":
        base = Prices(0.0, 0.0)  # runs on your own machine
    if override:
        inp = override.get("input_per_mtok", base.input_per_mtok if base else None)
        out = override.get("output_per_mtok", base.output_per_mtok if base else None)
        if inp is None or out is None:
            return None
        return Prices(float(inp), float(out))
    return base
