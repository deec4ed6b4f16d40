"""Teacher prices per million tokens (USD): a dated table, prompt-cache and batch prices included.

A recipe's `teacher.prices` wins over the table. A model missing from both has no known price:
with `max_usd` set that is an input error (a budget cannot be enforced without prices); without
it, cost reads as 0.

Where the figures come from (read 2026-12-01, see /work/shared/ENVIRONMENT.md "Anthropic API
today"): Anthropic's model and pricing pages (platform.claude.com): claude-sonnet-5-5 and
claude-sonnet-5 $2 in / $10 out, cache write $2.50 (5 min) or $4 (1 h), cache read $0.20;
claude-opus-5-5 $4 / $20; claude-opus-5 $5 / $25; claude-haiku-4-5 $1 / $5. The prompt-caching
page prices every model's cache writes at 1.25x input (5-minute TTL) or 2x (1-hour) and reads
at 0.1x; the batch-processing page bills "all usage at 50% of standard API prices", which
stacks with the cache multipliers. OpenAI's Batch API is also 50% off (help.openai.com, "Batch
API FAQ"). OpenAI's cached-input prices are not shipped: cached tokens are priced as plain
input there unless `teacher.prices.cache_read_per_mtok` says otherwise (an upper bound, never
an underestimate). Older entries were checked 2025-11.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

PRICES_CHECKED = "2026-12-01"
CACHE_WRITE_5M = 1.25  # x input (Anthropic's prompt-caching page)
CACHE_WRITE_1H = 2.0
CACHE_READ = 0.1
BATCH_DISCOUNT = 0.5  # both providers' batch APIs: half price on input and output


@dataclass(frozen=True)
class TokenUsage:
    """Tokens of one response (or a sum), split the way they are billed."""

    input: int = 0  # plain input: neither read from nor written to a prompt cache
    output: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    cache_read: int = 0

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            self.input + other.input,
            self.output + other.output,
            self.cache_write_5m + other.cache_write_5m,
            self.cache_write_1h + other.cache_write_1h,
            self.cache_read + other.cache_read,
        )

    @property
    def prompt_tokens(self) -> int:
        """Every input token, however billed."""
        return self.input + self.cache_write_5m + self.cache_write_1h + self.cache_read


@dataclass(frozen=True)
class Prices:
    input_per_mtok: float
    output_per_mtok: float
    cache_write_5m_per_mtok: float | None = None  # None: the same as plain input
    cache_write_1h_per_mtok: float | None = None
    cache_read_per_mtok: float | None = None
    batch_discount: float = 0.0  # fraction off every price in batch mode

    def _per_mtok(self, kind: str) -> float:
        value = getattr(self, f"{kind}_per_mtok")
        return self.input_per_mtok if value is None else value

    def cost(self, usage: TokenUsage, batch: bool = False) -> float:
        usd = (
            usage.input * self.input_per_mtok
            + usage.output * self.output_per_mtok
            + usage.cache_write_5m * self._per_mtok("cache_write_5m")
            + usage.cache_write_1h * self._per_mtok("cache_write_1h")
            + usage.cache_read * self._per_mtok("cache_read")
        ) / 1e6
        return usd * (1.0 - self.batch_discount) if batch else usd

    def cost_plain(self, input_tokens: int, output_tokens: int, batch: bool = False) -> float:
        return self.cost(TokenUsage(input=input_tokens, output=output_tokens), batch)

    def worst_case(
        self, input_tokens: int, max_tokens: int, cache_ttl: str | None, batch: bool = False
    ) -> float:
        """The most a request can cost: every input token at the dearer of plain input and a
        cache write (when caching is on), every allowed output token."""
        per_in = self.input_per_mtok
        if cache_ttl is not None:
            per_in = max(per_in, self._per_mtok(f"cache_write_{cache_ttl}"))
        usd = (input_tokens * per_in + max_tokens * self.output_per_mtok) / 1e6
        return usd * (1.0 - self.batch_discount) if batch else usd


def _anthropic(inp: float, out: float) -> Prices:
    return Prices(
        inp,
        out,
        cache_write_5m_per_mtok=round(inp * CACHE_WRITE_5M, 6),
        cache_write_1h_per_mtok=round(inp * CACHE_WRITE_1H, 6),
        cache_read_per_mtok=round(inp * CACHE_READ, 6),
        batch_discount=BATCH_DISCOUNT,
    )


def _openai(inp: float, out: float) -> Prices:
    return Prices(inp, out, batch_discount=BATCH_DISCOUNT)


# Model family -> prices. A model matches its family's name exactly or with a snapshot suffix
# (`-20250929`, `-2024-08-06`, `-latest`), so "claude-opus-4" never prices "claude-opus-4-7".
DEFAULT_PRICES: dict[str, Prices] = {
    # Anthropic, current (checked 2026-12-01)
    "claude-sonnet-5-5": _anthropic(2.0, 10.0),
    "claude-sonnet-5": _anthropic(2.0, 10.0),
    "claude-opus-5-5": _anthropic(4.0, 20.0),
    "claude-opus-5": _anthropic(5.0, 25.0),
    "claude-haiku-4-5": _anthropic(1.0, 5.0),
    # Anthropic, older (checked 2025-11; Opus 4.6 from the prompt-caching page's table)
    "claude-opus-4-6": _anthropic(5.0, 25.0),
    "claude-opus-4-5": _anthropic(5.0, 25.0),
    "claude-opus-4-1": _anthropic(15.0, 75.0),
    "claude-opus-4": _anthropic(15.0, 75.0),
    "claude-sonnet-4-5": _anthropic(3.0, 15.0),
    "claude-sonnet-4": _anthropic(3.0, 15.0),
    "claude-3-7-sonnet": _anthropic(3.0, 15.0),
    "claude-3-5-sonnet": _anthropic(3.0, 15.0),
    "claude-3-5-haiku": _anthropic(0.8, 4.0),
    "claude-3-haiku": _anthropic(0.25, 1.25),
    # OpenAI (checked 2025-11)
    "gpt-5": _openai(1.25, 10.0),
    "gpt-5-mini": _openai(0.25, 2.0),
    "gpt-5-nano": _openai(0.05, 0.4),
    "gpt-4.1": _openai(2.0, 8.0),
    "gpt-4.1-mini": _openai(0.4, 1.6),
    "gpt-4.1-nano": _openai(0.1, 0.4),
    "gpt-4o": _openai(2.5, 10.0),
    "gpt-4o-mini": _openai(0.15, 0.6),
    "o3": _openai(2.0, 8.0),
    "o4-mini": _openai(1.1, 4.4),
}

_SNAPSHOT = re.compile(r"-(\d{8}|\d{4}-\d{2}-\d{2}|latest)")

# Recipe `teacher.prices` keys -> Prices fields.
OVERRIDE_KEYS = (
    "input_per_mtok",
    "output_per_mtok",
    "cache_write_5m_per_mtok",
    "cache_write_1h_per_mtok",
    "cache_read_per_mtok",
    "batch_discount",
)


def lookup(model: str) -> Prices | None:
    """The shipped price for `model` (its family, snapshot suffixes allowed), or None."""
    if model in DEFAULT_PRICES:
        return DEFAULT_PRICES[model]
    for family, prices in DEFAULT_PRICES.items():
        if model.startswith(family) and _SNAPSHOT.fullmatch(model[len(family) :]):
            return prices
    return None


def resolve_prices(provider: str, model: str, override: dict | None) -> Prices | None:
    """Recipe override (any field may be given) over the shipped table; local Ollama is free."""
    base = lookup(model)
    if base is None and provider == "ollama":
        base = Prices(0.0, 0.0)  # runs on your own machine
    if not override:
        return base
    if base is None:
        if override.get("input_per_mtok") is None or override.get("output_per_mtok") is None:
            return None
        base = Prices(float(override["input_per_mtok"]), float(override["output_per_mtok"]))
    given = {k: float(v) for k, v in override.items() if k in OVERRIDE_KEYS and v is not None}
    if provider == "anthropic" and "input_per_mtok" in given:
        # Anthropic prices cache tokens as multiples of input: a new input price moves them too.
        derived = _anthropic(given["input_per_mtok"], base.output_per_mtok)
        for k in ("cache_write_5m_per_mtok", "cache_write_1h_per_mtok", "cache_read_per_mtok"):
            given.setdefault(k, getattr(derived, k))
    return replace(base, **given)
