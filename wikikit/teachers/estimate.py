"""A teacher's cost before anything is sent: estimated requests in, dollars out, four ways.

A source describes each request it expects (its group, input tokens, expected and most output
tokens, and the cacheable prefixes the teacher marks) and `CostEstimate` prices the lot with
wikikit.teachers.pricing as the teacher would be billed: plain, with prompt caching, through the
batch API, and both; per group and per item; the worst case (every answer at its limit, no
cache hit) against `max_usd`. `cost_lines` prints it for `wikikit run --dry-run`. Used by the
synthetic source and the semanticwiki source's teacher answerer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from wikikit.teachers.models import min_cacheable_tokens
from wikikit.teachers.pricing import TokenUsage

SCENARIOS = ("plain", "cached", "batch", "batch_cached")
LABELS = {
    "plain": "plain",
    "cached": "prompt caching",
    "batch": "batch",
    "batch_cached": "batch + caching",
}
Marks = Sequence[tuple[tuple, int]]  # (prefix key, prefix tokens), in prompt order


def chosen_scenario(batch: bool, prompt_cache: bool) -> str:
    return (
        ("batch_cached" if prompt_cache else "batch")
        if batch
        else ("cached" if prompt_cache else "plain")
    )


class PromptCacheModel:
    """The provider's prompt cache as the estimate assumes it: a marked prefix at least the
    model's minimum cacheable length is written by the first request that sends it and read
    by every later one (Anthropic's rule; the marks are the ones AnthropicTeacher sets)."""

    def __init__(self, min_tokens: int):
        self.min_tokens = min_tokens
        self.written: set[tuple] = set()

    def usage(self, total: int, marks: Marks, out: int, ttl: str) -> TokenUsage:
        marks = [(k, n) for k, n in marks if n >= self.min_tokens]
        read = max((n for k, n in marks if k in self.written), default=0)
        written = 0
        if marks and marks[-1][1] > read and marks[-1][0] not in self.written:
            written = marks[-1][1] - read
        self.written.update(k for k, _ in marks)
        w5, w1 = (written, 0) if ttl == "5m" else (0, written)
        return TokenUsage(total - read - written, out, w5, w1, read)


@dataclass
class _Group:
    items: int = 0
    requests: int = 0
    usage: dict[str, TokenUsage] | None = None


class CostEstimate:
    """Requests added one by one, in the order the teacher would get them (the cache model
    depends on it); `result()` is the estimate as a dict."""

    def __init__(self, settings: Any, prompt_cache_ttl: str | None = None):
        self.settings = settings
        self.sync_ttl = prompt_cache_ttl or "5m"
        self.batch_ttl = prompt_cache_ttl or "1h"
        self.marks_cache = settings.provider == "anthropic"  # OpenAI caches unmarked, at its price
        self.models = {
            "cached": PromptCacheModel(min_cacheable_tokens(settings.model)),
            "batch_cached": PromptCacheModel(min_cacheable_tokens(settings.model)),
        }
        self.totals = {k: TokenUsage() for k in SCENARIOS}
        self.groups: dict[str, _Group] = {}
        self.requests = 0
        self.worst_input = 0
        self.worst_output = 0

    def _group(self, name: str) -> _Group:
        if name not in self.groups:
            self.groups[name] = _Group(usage={k: TokenUsage() for k in SCENARIOS})
        return self.groups[name]

    def add_items(self, group: str, n: int = 1) -> None:
        self._group(group).items += n

    def add_request(
        self,
        group: str,
        input_tokens: int,
        output_tokens: int,
        *,
        marks: Marks = (),
        sync_marks: Marks = (),
        worst_input: int | None = None,
        worst_output: int | None = None,
        times: int = 1,
    ) -> None:
        """One request (`times` alike ones); `sync_marks` are prefixes marked only outside
        batches (a continued conversation's last answer)."""
        g = self._group(group)
        for _ in range(times):
            plain = TokenUsage(input=input_tokens, output=output_tokens)
            use = {"plain": plain, "batch": plain}
            for scenario, ttl, more in (
                ("cached", self.sync_ttl, list(sync_marks)),
                ("batch_cached", self.batch_ttl, []),
            ):
                use[scenario] = (
                    self.models[scenario].usage(input_tokens, [*marks, *more], output_tokens, ttl)
                    if self.marks_cache
                    else plain
                )
            for scenario in SCENARIOS:
                self.totals[scenario] += use[scenario]
                g.usage[scenario] += use[scenario]  # type: ignore[index]
            g.requests += 1
            self.requests += 1
            self.worst_input += input_tokens if worst_input is None else worst_input
            self.worst_output += self.settings.max_tokens if worst_output is None else worst_output

    def add_worst(self, input_tokens: int, output_tokens: int, times: int = 1) -> None:
        """Requests that may come but are not expected: counted in the worst case only."""
        self.worst_input += input_tokens * max(0, times)
        self.worst_output += output_tokens * max(0, times)

    def result(self, items: int) -> dict[str, Any]:
        """The estimate: totals, the four costs, per item and per group, the worst case."""
        prices = self.settings.prices

        def usd(usage: TokenUsage, scenario: str) -> float:
            return prices.cost(usage, batch=scenario.startswith("batch"))

        # A batch does not promise cache hits (Anthropic's batch guide): with none at all,
        # every token the estimate reads from the cache is written again instead.
        bc = self.totals["batch_cached"]
        ttl = self.batch_ttl
        no_hits = replace(
            bc,
            cache_read=0,
            **{f"cache_write_{ttl}": getattr(bc, f"cache_write_{ttl}") + bc.cache_read},
        )
        cost = {k: round(usd(self.totals[k], k), 6) for k in SCENARIOS}
        s = self.settings
        return {
            "provider": s.provider,
            "model": s.model,
            "items": items,
            "requests": self.requests,
            "input_tokens": self.totals["plain"].input,
            "expected_output_tokens": self.totals["plain"].output,
            "cache_read_tokens": self.totals["cached"].cache_read,
            "expected_usd": cost,
            "batch_cached_no_hits_usd": round(usd(no_hits, "batch_cached"), 6),
            "usd_per_item": {k: round(v / items, 6) if items else 0.0 for k, v in cost.items()},
            "worst_case_usd": round(
                prices.worst_case(self.worst_input, self.worst_output, s.cache_write_ttl, s.batch),
                2,
            ),
            "max_usd": s.max_usd,
            "batch": s.batch,
            "prompt_cache": s.prompt_cache,
            "prices_per_mtok": [prices.input_per_mtok, prices.output_per_mtok],
            "per_group": {
                name: {
                    "items": g.items,
                    "requests": g.requests,
                    "input_tokens": g.usage["plain"].input,  # type: ignore[index]
                    "usd": {k: round(usd(g.usage[k], k), 6) for k in SCENARIOS},  # type: ignore[index]
                }
                for name, g in self.groups.items()
            },
        }


def cost_lines(e: dict[str, Any], unit: str = "item", groups: str = "category") -> list[str]:
    """The estimate's cost lines: the four costs (the recipe's way marked), the caching
    assumption, the worst case against max_usd, and each group's requests and cost."""
    cost, per = e["expected_usd"], e["usd_per_item"]
    chosen = chosen_scenario(e["batch"], e["prompt_cache"])
    lines = [
        "  expected cost: "
        + " | ".join(
            f"{LABELS[k]} ${cost[k]:,.2f} (${per[k]:.4f}/{unit})"
            + (" <- this recipe" if k == chosen else "")
            for k in SCENARIOS
        ),
        f"  caching assumes every repeated prefix is a cache hit (~{e['cache_read_tokens']:,} "
        "input tokens read); a batch promises no hit: with none at all batch + caching costs "
        f"${e['batch_cached_no_hits_usd']:,.2f}",
    ]
    budget = f"  worst case ${e['worst_case_usd']:,.2f} (every answer at max_tokens, no cache hit)"
    if e["max_usd"] is not None:
        fits = cost[chosen] <= e["max_usd"]
        budget += f"; expected total ${cost[chosen]:,.2f} is " + (
            f"within max_usd ${e['max_usd']:,.2f}"
            if fits
            else f"OVER max_usd ${e['max_usd']:,.2f}: the budget stops the run before every "
            f"{unit} is made"
        )
    lines.append(budget)
    lines.append(f"  per {groups} ({unit}s, requests: plain -> {LABELS[chosen]}):")
    for name, g in e["per_group"].items():
        usd = g["usd"][chosen]
        each = f" (${usd / g['items']:.4f}/{unit})" if g["items"] else ""
        lines.append(
            f"    {name:16s} {g['items']:6,d} {unit}s {g['requests']:7,d} requests: "
            f"${g['usd']['plain']:,.2f} -> ${usd:,.2f}{each}"
        )
    return lines
