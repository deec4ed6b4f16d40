"""What a wiki cost to write, from the recorded exchanges: tokens and seconds per page, retries.

SemanticWiki asks for a page once at temperature 0.3 and once more at 0.1 when the answer is 200
characters or shorter (dist/wiki-agent.js, generateSinglePage: `response.content.length > 200`
accepts it); a page prompt seen again for the same title is that retry. Completion tokens count
everything the model generated, thinking included; when the endpoint did not record the thinking
share, it is counted from the thinking text with the gpt-oss tokenizer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from wikikit.eval.wiki.exchanges import Exchange
from wikikit.tokens import count_tokens

MIN_PAGE_CHARS = 200  # an answer this short or shorter is retried, then dropped


@dataclass
class PageCost:
    title: str
    calls: int  # 1, or 2 after a retry
    seconds: float | None
    completion_tokens: int | None
    thinking_tokens: int | None
    written: bool  # the last answer was long enough to become a page


@dataclass
class CostScore:
    pages: list[PageCost] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)  # per kind
    errors: int = 0  # calls that failed at the endpoint
    total_seconds: float | None = None
    total_completion_tokens: int | None = None

    @property
    def retries(self) -> int:
        return sum(p.calls - 1 for p in self.pages)

    def per_page(self, attr: str) -> float | None:
        values = [getattr(p, attr) for p in self.pages if p.written]
        if not values or any(v is None for v in values):
            return None
        return sum(values) / len(values)

    def as_dict(self) -> dict[str, float | int | None]:
        thinking = self.per_page("thinking_tokens")
        completion = self.per_page("completion_tokens")
        return {
            "pages_written": sum(p.written for p in self.pages),
            "page_calls": sum(p.calls for p in self.pages),
            "retries": self.retries,
            "call_errors": self.errors,
            "seconds_per_page": self.per_page("seconds"),
            "tokens_per_page": completion,
            "thinking_tokens_per_page": thinking,
            "thinking_share": (thinking / completion)
            if thinking is not None and completion
            else None,
            "total_seconds": self.total_seconds,
            "total_completion_tokens": self.total_completion_tokens,
        }


def _thinking_tokens(x: Exchange) -> int | None:
    if x.thinking_tokens is not None:
        return x.thinking_tokens
    if x.completion_tokens is None:
        return None
    return count_tokens(x.thinking) if x.thinking else 0


def _sum(values: Sequence[float | int | None]) -> float | int | None:
    return None if any(v is None for v in values) else sum(values)  # type: ignore[arg-type]


def score_cost(exchanges: Sequence[Exchange]) -> CostScore:
    """Per page (by the title its prompt asks for): calls, seconds and tokens over its calls."""
    by_title: dict[str, list[Exchange]] = {}
    calls: dict[str, int] = {}
    errors = 0
    for x in exchanges:
        calls[x.kind] = calls.get(x.kind, 0) + 1
        errors += x.error is not None
        if x.kind == "page":
            by_title.setdefault(x.title or f"(untitled call at line {x.line})", []).append(x)
    pages = []
    for title, xs in by_title.items():
        pages.append(
            PageCost(
                title=title,
                calls=len(xs),
                seconds=_sum([x.seconds for x in xs]),  # type: ignore[arg-type]
                completion_tokens=_sum([x.completion_tokens for x in xs]),  # type: ignore[arg-type]
                thinking_tokens=_sum([_thinking_tokens(x) for x in xs]),  # type: ignore[arg-type]
                written=len(xs[-1].answer) > MIN_PAGE_CHARS and xs[-1].error is None,
            )
        )
    return CostScore(
        pages=pages,
        calls=calls,
        errors=errors,
        total_seconds=_sum([x.seconds for x in exchanges]),  # type: ignore[arg-type]
        total_completion_tokens=_sum([x.completion_tokens for x in exchanges]),  # type: ignore[arg-type]
    )
