"""The request loop every teacher shares: cache, offline mode, budget, rate limits, retries.

A provider module only turns one `TeacherRequest` into one `TeacherResponse` (or raises a
`Retryable` / `Fatal` error). Everything that decides *whether and when* a request is sent
lives here, so the three providers behave the same way:

    cache hit?  -> served, no call, no cost
    offline?    -> OfflineMiss (reported, never sent)
    budget      -> worst case (input tokens by the real tokenizer + max_tokens of output) is
                   reserved before sending; a request that could pass max_usd is never sent
    limits      -> concurrency semaphore, requests/tokens per minute
    retries     -> 429/5xx/timeouts/connection resets/malformed bodies, exponential backoff
                   with full jitter, `retry-after` honoured, at most max_attempts
"""

from __future__ import annotations

import asyncio
import collections
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from wikikit.teachers.cache import ResponseCache, request_key
from wikikit.teachers.pricing import Prices
from wikikit.tokens import count_tokens

MAX_BACKOFF_S = 60.0
MAX_RETRY_AFTER_S = 300.0
MESSAGE_OVERHEAD_TOKENS = 4  # role markers and separators each provider adds per message


@dataclass(frozen=True)
class TeacherRequest:
    """One chat completion: an optional system prompt and user/assistant turns (text only)."""

    messages: tuple[tuple[str, str], ...]  # (role, content)
    system: str | None = None

    @classmethod
    def of(cls, messages: list[tuple[str, str]] | list[dict], system: str | None = None):
        turns = tuple(
            (m["role"], m["content"]) if isinstance(m, dict) else (m[0], m[1]) for m in messages
        )
        return cls(messages=turns, system=system)

    def chat_messages(self) -> list[dict[str, str]]:
        return [{"role": r, "content": c} for r, c in self.messages]

    def chat_messages_with_system(self) -> list[dict[str, str]]:
        """The turns behind a system message, for APIs that take the system prompt as a turn."""
        system = [{"role": "system", "content": self.system}] if self.system else []
        return system + self.chat_messages()


@dataclass
class TeacherResponse:
    text: str
    input_tokens: int
    output_tokens: int
    stop_reason: str = "stop"  # "stop" | "length" (cut at max_tokens) | provider's own word
    thinking: str | None = None
    cached: bool = False

    @property
    def truncated(self) -> bool:
        return self.stop_reason in ("length", "max_tokens")

    def to_cache(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "stop_reason": self.stop_reason,
            "thinking": self.thinking,
        }

    @classmethod
    def from_cache(cls, d: dict[str, Any]) -> TeacherResponse:
        return cls(
            text=d["text"],
            input_tokens=int(d.get("input_tokens") or 0),
            output_tokens=int(d.get("output_tokens") or 0),
            stop_reason=d.get("stop_reason") or "stop",
            thinking=d.get("thinking"),
            cached=True,
        )


class TeacherError(Exception):
    """A request that ended without a usable response; `reason` is a short, key-free label."""

    reason = "error"

    def __init__(self, detail: str = "", attempts: int = 0):
        super().__init__(detail or self.reason)
        self.detail = detail
        self.attempts = attempts


class Retryable(TeacherError):
    """A transient failure (429, 5xx, timeout, reset, malformed body): try again later."""

    reason = "transient"

    def __init__(self, detail: str = "", retry_after: float | None = None, kind: str = ""):
        super().__init__(detail)
        self.retry_after = retry_after
        self.kind = kind or "transient"


class Fatal(TeacherError):
    """A failure that another attempt cannot fix (bad request, auth, unknown model)."""

    reason = "rejected"


class RetriesExhausted(TeacherError):
    reason = "retries_exhausted"


class BudgetExhausted(TeacherError):
    reason = "budget"


class OfflineMiss(TeacherError):
    reason = "offline_miss"


@dataclass
class TeacherSettings:
    provider: str
    model: str
    max_tokens: int = 4096
    temperature: float = 0.7
    concurrency: int = 8
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    max_attempts: int = 5
    timeout_s: float = 300.0
    max_usd: float | None = None
    offline: bool = False
    backoff_base_s: float = 1.0
    prices: Prices = field(default_factory=lambda: Prices(0.0, 0.0))

    def params(self) -> dict[str, Any]:
        """Sampling parameters that change the answer (part of the cache key)."""
        return {"max_tokens": self.max_tokens, "temperature": self.temperature}


@dataclass
class Usage:
    """What this teacher did; read by the source for its stats and report."""

    api_calls: int = 0  # HTTP requests sent (every attempt)
    responses: int = 0  # successful responses from the API
    cache_hits: int = 0
    offline_misses: int = 0
    retries: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    usd: float = 0.0
    budget_stop: bool = False
    failures: collections.Counter = field(default_factory=collections.Counter)

    def as_stats(self) -> dict[str, Any]:
        d = {
            "api_calls": self.api_calls,
            "api_responses": self.responses,
            "cache_hits": self.cache_hits,
            "offline_misses": self.offline_misses,
            "retries": self.retries,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "usd": round(self.usd, 6),
            "budget_stop": int(self.budget_stop),
        }
        d.update({f"teacher_failed_{k}": v for k, v in self.failures.items()})
        return d


class RateLimiter:
    """Client-side requests/tokens per minute: spacing between starts plus a 60 s token window."""

    def __init__(self, rpm: int | None, tpm: int | None):
        self.interval = 60.0 / rpm if rpm else 0.0
        self.tpm = tpm
        self._next_start = 0.0
        self._window: collections.deque[tuple[float, int]] = collections.deque()
        self._lock = asyncio.Lock()

    async def acquire(self, tokens: int) -> None:
        async with self._lock:
            now = time.monotonic()
            if self.interval:
                wait = self._next_start - now
                if wait > 0:
                    await asyncio.sleep(wait)
                    now = time.monotonic()
                self._next_start = now + self.interval
            if self.tpm:
                tokens = min(
                    tokens, self.tpm
                )  # one request larger than a minute's share still runs
                while True:
                    while self._window and now - self._window[0][0] >= 60.0:
                        self._window.popleft()
                    used = sum(t for _, t in self._window)
                    if used + tokens <= self.tpm:
                        break
                    await asyncio.sleep(60.0 - (now - self._window[0][0]) + 0.01)
                    now = time.monotonic()
                self._window.append((now, tokens))


class Budget:
    """Worst-case reservations against max_usd; actual cost replaces a reservation on completion."""

    def __init__(self, max_usd: float | None):
        self.max_usd = max_usd
        self.spent = 0.0
        self.reserved = 0.0
        self.stopped = False

    def reserve(self, worst_usd: float) -> bool:
        if self.max_usd is None:
            return True
        if self.stopped or self.spent + self.reserved + worst_usd > self.max_usd + 1e-12:
            # Stop issuing altogether: a later, smaller request slipping in would make the
            # run's outcome depend on scheduling order.
            self.stopped = True
            return False
        self.reserved += worst_usd
        return True

    def settle(self, reserved_usd: float, actual_usd: float) -> None:
        self.reserved -= reserved_usd
        self.spent += actual_usd


CallFn = Callable[[TeacherRequest, TeacherSettings], Awaitable[TeacherResponse]]


class Teacher:
    """A provider's `_send` plus the shared loop. Use `complete()` from coroutines."""

    def __init__(
        self,
        settings: TeacherSettings,
        cache: ResponseCache | None,
        *,
        secret: str | None = None,
        rng: random.Random | None = None,
    ):
        self.settings = settings
        self.cache = cache
        self.usage = Usage()
        self._secret = secret  # only to redact it from error text; never stored
        self._rng = rng or random.Random()
        self._budget = Budget(settings.max_usd)
        self._limiter = RateLimiter(settings.requests_per_minute, settings.tokens_per_minute)
        self._semaphore: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- provider hook -------------------------------------------------------------------
    async def _send(self, request: TeacherRequest) -> TeacherResponse:  # pragma: no cover
        raise NotImplementedError

    async def aclose(self) -> None:
        """Close the provider's HTTP client (called once per event loop run)."""
        client = getattr(self, "_client", None)
        if client is not None:
            await client.close()
            self._client = None

    # -- accounting helpers --------------------------------------------------------------
    def input_tokens(self, request: TeacherRequest) -> int:
        """Input tokens by the real tokenizer, plus per-message framing."""
        texts = [c for _, c in request.messages] + ([request.system] if request.system else [])
        return sum(count_tokens(t) + MESSAGE_OVERHEAD_TOKENS for t in texts)

    def worst_case_usd(self, request: TeacherRequest) -> float:
        return self.settings.prices.cost(self.input_tokens(request), self.settings.max_tokens)

    def key(self, request: TeacherRequest) -> str:
        return request_key(
            self.settings.provider,
            self.settings.model,
            request.system,
            request.chat_messages(),
            self.settings.params(),
        )

    def redact(self, text: str) -> str:
        if self._secret and self._secret in text:
            text = text.replace(self._secret, "***")
        return text

    # -- the loop ------------------------------------------------------------------------
    def _ensure_loop_state(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # asyncio primitives belong to one loop
            self._loop = loop
            self._semaphore = asyncio.Semaphore(self.settings.concurrency)
            self._limiter = RateLimiter(
                self.settings.requests_per_minute, self.settings.tokens_per_minute
            )

    async def complete(self, request: TeacherRequest) -> TeacherResponse:
        """One answer for `request`, from the cache or the API; raises a TeacherError subclass."""
        self._ensure_loop_state()
        key = self.key(request)
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                self.usage.cache_hits += 1
                return TeacherResponse.from_cache(hit)
        if self.settings.offline:
            self.usage.offline_misses += 1
            self.usage.failures["offline_miss"] += 1
            raise OfflineMiss("offline mode: prompt not in the teacher cache")
        assert self._semaphore is not None
        async with self._semaphore:
            response = await self._send_with_retries(request)
        if self.cache is not None:
            self.cache.put(key, self.settings.provider, self.settings.model, response.to_cache())
        return response

    async def _send_with_retries(self, request: TeacherRequest) -> TeacherResponse:
        s = self.settings
        in_tokens = self.input_tokens(request)
        last: Retryable | None = None
        for attempt in range(1, s.max_attempts + 1):
            worst = s.prices.cost(in_tokens, s.max_tokens)
            if not self._budget.reserve(worst):
                self.usage.budget_stop = True
                self.usage.failures["budget"] += 1
                raise BudgetExhausted(
                    f"max_usd {s.max_usd} reached (spent {self._budget.spent:.4f})", attempt - 1
                )
            await self._limiter.acquire(in_tokens + s.max_tokens)
            self.usage.api_calls += 1
            try:
                response = await self._send(request)
            except Retryable as exc:
                # A failed attempt may still have been billed by a proxy; we assume not.
                self._budget.settle(worst, 0.0)
                last = exc
                if attempt == s.max_attempts:
                    break
                self.usage.retries += 1
                await asyncio.sleep(self._delay(attempt, exc.retry_after))
                continue
            except Fatal as exc:
                self._budget.settle(worst, 0.0)
                self.usage.failures["rejected"] += 1
                raise Fatal(self.redact(exc.detail), attempt) from None
            actual = s.prices.cost(response.input_tokens, response.output_tokens)
            self._budget.settle(worst, actual)
            self.usage.responses += 1
            self.usage.input_tokens += response.input_tokens
            self.usage.output_tokens += response.output_tokens
            self.usage.usd = self._budget.spent
            return response
        kind = last.kind if last else "transient"
        self.usage.failures[f"retries_exhausted_{kind}"] += 1
        detail = self.redact(last.detail if last else "")
        raise RetriesExhausted(f"{kind} after {s.max_attempts} attempts: {detail}", s.max_attempts)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """`retry-after` when the server gives one; else exponential backoff with full jitter."""
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, MAX_RETRY_AFTER_S) + self._rng.uniform(0, 0.1)
        cap = min(MAX_BACKOFF_S, self.settings.backoff_base_s * 2 ** (attempt - 1))
        return self._rng.uniform(0, cap)

    # -- convenience ---------------------------------------------------------------------
    def run(self, coro_factory: Callable[[], Awaitable[Any]]) -> Any:
        """Run a coroutine (built inside the loop) to completion and close the client."""

        async def main():
            try:
                return await coro_factory()
            finally:
                await self.aclose()

        return asyncio.run(main())

    def complete_many(self, requests: list[TeacherRequest]) -> list[TeacherResponse | TeacherError]:
        """Answer every request; each slot holds its response or the error that ended it."""

        async def one(r: TeacherRequest):
            try:
                return await self.complete(r)
            except TeacherError as exc:
                return exc

        async def all_of():
            return await asyncio.gather(*(one(r) for r in requests))

        return self.run(all_of)
