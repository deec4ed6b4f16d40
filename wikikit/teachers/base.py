"""The request loop every teacher shares: cache, offline mode, budget, rate limits, retries.

A provider module only turns one `TeacherRequest` into one `TeacherResponse` (or raises a
`Retryable` / `Fatal` error), and, for batch mode, submits, polls and reads batches
(wikikit.teachers.batch). Everything that decides *whether and when* a request is sent lives
here, so the providers behave the same way:

    cache hit?  -> served, no call, no cost
    offline?    -> OfflineMiss (reported, never sent)
    budget      -> worst case (input tokens by the real tokenizer, each at the dearer of plain
                   input and a prompt-cache write, + max_tokens of output) is reserved before
                   sending; a request that could pass max_usd is never sent
    limits      -> concurrency semaphore, requests/tokens per minute
    retries     -> 429/5xx/timeouts/connection resets/malformed bodies, exponential backoff
                   with full jitter, `retry-after` honoured, at most max_attempts
    rejected    -> a request error that names a setting of the recipe (a sampling parameter
                   the model refuses, an unknown model, a refused key) stops the whole run at
                   once with that recipe key (ConfigRejected), instead of failing every item
    batch mode  -> `complete()` collects requests and answers them through the provider's
                   batch API (half price), resuming stored batches after a kill
"""

from __future__ import annotations

import asyncio
import collections
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from wikikit.bounded import reply_too_large
from wikikit.errors import InputError
from wikikit.teachers.cache import ResponseCache, request_key
from wikikit.teachers.pricing import Prices, TokenUsage
from wikikit.tokens import count_tokens

MAX_BACKOFF_S = 60.0
MAX_RETRY_AFTER_S = 300.0
MESSAGE_OVERHEAD_TOKENS = 4  # role markers and separators each provider adds per message


@dataclass(frozen=True)
class TeacherRequest:
    """One chat completion: an optional system prompt and user/assistant turns (text only).

    `shared` is the leading part of the first user turn that many requests have in common (the
    repository context, the plan): providers with prompt caching send it as its own cacheable
    block, right after the system prompt. It is layout only: the turns hold the full text, and
    the cache key is the same with or without it.
    """

    messages: tuple[tuple[str, str], ...]  # (role, content)
    system: str | None = None
    shared: str = ""

    @classmethod
    def of(
        cls,
        messages: list[tuple[str, str]] | list[dict],
        system: str | None = None,
        shared: str | None = None,
    ) -> TeacherRequest:
        turns = tuple(
            (m["role"], m["content"]) if isinstance(m, dict) else (m[0], m[1]) for m in messages
        )
        shared = shared or ""
        if shared and not (turns and turns[0][0] == "user" and turns[0][1].startswith(shared)):
            raise ValueError("TeacherRequest.shared must be the start of the first user turn")
        return cls(messages=turns, system=system, shared=shared)

    def chat_messages(self) -> list[dict[str, str]]:
        return [{"role": r, "content": c} for r, c in self.messages]

    def chat_messages_with_system(self) -> list[dict[str, str]]:
        """The turns behind a system message, for APIs that take the system prompt as a turn."""
        system = [{"role": "system", "content": self.system}] if self.system else []
        return system + self.chat_messages()


@dataclass
class TeacherResponse:
    text: str
    input_tokens: int  # plain input (not read from or written to a prompt cache)
    output_tokens: int
    stop_reason: str = "stop"  # "stop" | "length" (cut at max_tokens) | provider's own word
    thinking: str | None = None
    cached: bool = False  # served from wikikit's response cache (no call, no cost)
    cache_write_5m: int = 0  # prompt-cache tokens, as the provider reported them
    cache_write_1h: int = 0
    cache_read: int = 0
    usd: float = 0.0  # what this response cost, by the price table (0 when cached)

    @property
    def truncated(self) -> bool:
        return self.stop_reason in ("length", "max_tokens")

    @property
    def usage(self) -> TokenUsage:
        return TokenUsage(
            self.input_tokens,
            self.output_tokens,
            self.cache_write_5m,
            self.cache_write_1h,
            self.cache_read,
        )

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

    def __init__(self, detail: str = "", attempts: int = 0, status: int | None = None):
        super().__init__(detail, attempts)
        self.status = status


class RetriesExhausted(TeacherError):
    reason = "retries_exhausted"


class BudgetExhausted(TeacherError):
    reason = "budget"


class OfflineMiss(TeacherError):
    reason = "offline_miss"


class BatchCanceled(TeacherError):
    """The batch holding this request was canceled (by someone, at the provider)."""

    reason = "canceled"


class ConfigRejected(InputError):
    """The API refused a setting of the recipe: the run stops at once, naming the key."""


@dataclass
class TeacherSettings:
    provider: str
    model: str
    max_tokens: int = 4096
    temperature: float | None = None  # sampling parameters: sent only when the recipe sets them
    top_p: float | None = None
    top_k: int | None = None
    thinking: dict[str, Any] | None = None  # Anthropic's `thinking` object, as the recipe gives it
    effort: str | None = None
    concurrency: int = 8
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    max_attempts: int = 5
    timeout_s: float = 300.0
    max_usd: float | None = None
    offline: bool = False
    backoff_base_s: float = 1.0
    prices: Prices = field(default_factory=lambda: Prices(0.0, 0.0))
    prompt_cache: bool = True
    prompt_cache_ttl: str = "5m"
    batch: bool = False
    batch_poll_s: float = 60.0
    batch_max_requests: int = 10_000
    key_path: str = "teacher"  # the recipe key of this teacher, for error messages

    def params(self) -> dict[str, Any]:
        """What changes the answer, and only what the recipe set (part of the cache key).

        Layout (prompt-cache blocks) and transport (batch or not) are not here: they change
        the price, not the answer."""
        p: dict[str, Any] = {"max_tokens": self.max_tokens}
        for k in ("temperature", "top_p", "top_k", "thinking", "effort"):
            if getattr(self, k) is not None:
                p[k] = getattr(self, k)
        return p

    @property
    def cache_write_ttl(self) -> str | None:
        """The TTL requests are marked with, or None when nothing is written to a prompt cache
        at a surcharge (caching off, or a provider that caches without markers)."""
        return self.prompt_cache_ttl if self.prompt_cache and self.provider == "anthropic" else None


@dataclass
class Usage:
    """What this teacher did; read by the source for its stats and report."""

    api_calls: int = 0  # HTTP requests sent (every attempt; a batch counts its requests)
    responses: int = 0  # successful responses from the API
    cache_hits: int = 0
    offline_misses: int = 0
    retries: int = 0
    input_tokens: int = 0  # plain input
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    usd: float = 0.0
    budget_stop: bool = False
    batches_created: int = 0
    batches_resumed: int = 0
    batch_requests: int = 0
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
            "cache_write_tokens": self.cache_write_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "usd": round(self.usd, 6),
            "budget_stop": int(self.budget_stop),
        }
        if self.batches_created or self.batches_resumed:
            d.update(
                batches_created=self.batches_created,
                batches_resumed=self.batches_resumed,
                batch_requests=self.batch_requests,
            )
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

    def commit(self, worst_usd: float) -> None:
        """Reserve without a check: for work already submitted (a batch resumed after a kill)."""
        self.reserved += worst_usd

    def settle(self, reserved_usd: float, actual_usd: float) -> None:
        self.reserved -= reserved_usd
        self.spent += actual_usd


CallFn = Callable[[TeacherRequest, TeacherSettings], Awaitable[TeacherResponse]]


class Teacher:
    """A provider's `_send` plus the shared loop. Use `complete()` from coroutines."""

    supports_batch = False  # providers with a batch API implement the hooks in batch.py

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
        self._halted: ConfigRejected | None = None
        self._collector: Any = None  # batch mode's request collector, per event loop

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

    def worst_case_usd(self, request: TeacherRequest, batch: bool | None = None) -> float:
        s = self.settings
        batch = s.batch if batch is None else batch
        return s.prices.worst_case(
            self.input_tokens(request), s.max_tokens, s.cache_write_ttl, batch
        )

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

    def _account(self, response: TeacherResponse, reserved: float, batch: bool) -> None:
        """Price a fresh response by what the provider reported and settle its reservation."""
        response.usd = self.settings.prices.cost(response.usage, batch)
        self._budget.settle(reserved, response.usd)
        u = self.usage
        u.responses += 1
        u.input_tokens += response.input_tokens
        u.output_tokens += response.output_tokens
        u.cache_write_tokens += response.cache_write_5m + response.cache_write_1h
        u.cache_read_tokens += response.cache_read
        u.usd = self._budget.spent

    # -- settings the API refused --------------------------------------------------------
    def _config_rejection(self, exc: Fatal) -> ConfigRejected | None:
        """A refusal that every request would meet, as one error naming the recipe key."""
        s = self.settings
        text = (exc.detail or "").lower()
        key = None
        if exc.status == 400:
            sent = [
                k
                for k in ("temperature", "top_p", "top_k", "thinking", "effort")
                if getattr(s, k) is not None
            ]
            key = next(
                (k for k in sent if k in text or (k == "effort" and "output_config" in text)), None
            )
        elif exc.status in (401, 403):
            key = "api_key"
        elif exc.status == 404 and "model" in text:
            key = "model"
        if key is None:
            return None
        detail = self.redact(exc.detail)[:300]
        return ConfigRejected(
            f"{s.key_path}.{key}: {s.provider} rejected it for {s.model} ({detail})"
        )

    def _reject_fatal(self, exc: Fatal, attempts: int) -> Fatal:
        """The error a Fatal ends its request with; halts the teacher when it names a setting."""
        halt = self._config_rejection(exc)
        if halt is not None:
            self._halted = halt
            raise halt
        self.usage.failures["rejected"] += 1
        return Fatal(self.redact(exc.detail), attempts, exc.status)

    # -- the loop ------------------------------------------------------------------------
    def _ensure_loop_state(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # asyncio primitives belong to one loop
            self._loop = loop
            self._semaphore = asyncio.Semaphore(self.settings.concurrency)
            self._limiter = RateLimiter(
                self.settings.requests_per_minute, self.settings.tokens_per_minute
            )
            self._collector = None

    def _cached(self, key: str) -> TeacherResponse | None:
        if self.cache is None:
            return None
        hit = self.cache.get(key)
        if hit is None:
            return None
        self.usage.cache_hits += 1
        return TeacherResponse.from_cache(hit)

    def _offline_miss(self) -> OfflineMiss:
        self.usage.offline_misses += 1
        self.usage.failures["offline_miss"] += 1
        return OfflineMiss("offline mode: prompt not in the teacher cache")

    async def complete(self, request: TeacherRequest) -> TeacherResponse:
        """One answer for `request`, from the cache or the API; raises a TeacherError subclass
        (or ConfigRejected, which ends the run)."""
        self._ensure_loop_state()
        if self._halted is not None:
            raise self._halted
        key = self.key(request)
        hit = self._cached(key)
        if hit is not None:
            return hit
        if self.settings.offline:
            raise self._offline_miss()
        if self.settings.batch:
            from wikikit.teachers.batch import collector_for

            return await collector_for(self).submit(request)
        assert self._semaphore is not None
        async with self._semaphore:
            if self._halted is not None:
                raise self._halted
            response = await self._send_with_retries(request)
        if self.cache is not None:
            self.cache.put(key, self.settings.provider, self.settings.model, response.to_cache())
        return response

    async def _send_with_retries(self, request: TeacherRequest) -> TeacherResponse:
        s = self.settings
        in_tokens = self.input_tokens(request)
        last: Retryable | None = None
        for attempt in range(1, s.max_attempts + 1):
            if self._halted is not None:  # another request met a refused setting meanwhile
                raise self._halted
            worst = s.prices.worst_case(in_tokens, s.max_tokens, s.cache_write_ttl)
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
                raise self._reject_fatal(exc, attempt) from None
            self._account(response, worst, batch=False)
            oversized = reply_too_large(response.text, response.thinking)
            if oversized:  # paid for, but never cached nor used
                self.usage.failures["oversized"] += 1
                raise Fatal(oversized, attempt)
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

    async def acomplete_many(
        self, requests: list[TeacherRequest]
    ) -> list[TeacherResponse | TeacherError]:
        """`complete_many` from a coroutine."""
        if self.settings.batch:
            return await self.acomplete_batch(requests)

        async def one(r: TeacherRequest):
            try:
                return await self.complete(r)
            except TeacherError as exc:
                return exc

        return list(await asyncio.gather(*(one(r) for r in requests)))

    def complete_many(self, requests: list[TeacherRequest]) -> list[TeacherResponse | TeacherError]:
        """Answer every request; each slot holds its response or the error that ended it.
        In batch mode the requests go out through the provider's batch API (see
        `complete_batch`). A ConfigRejected is raised, not put in a slot: the run must stop."""
        return self.run(lambda: self.acomplete_many(requests))

    async def acomplete_batch(
        self, requests: list[TeacherRequest]
    ) -> list[TeacherResponse | TeacherError]:
        """`complete_batch` from a coroutine."""
        from wikikit.teachers.batch import complete_in_batches

        self._ensure_loop_state()
        return await complete_in_batches(self, requests)

    def complete_batch(
        self, requests: list[TeacherRequest]
    ) -> list[TeacherResponse | TeacherError]:
        """Answer every request through the provider's batch API (Anthropic Message Batches,
        OpenAI Batch API), whatever `settings.batch` says.

        Each request's custom id is its cache key. Cached answers are served without a call;
        requests already in a batch that an earlier (killed) run submitted are collected from
        that batch (its id is stored in the teacher cache file) instead of being submitted
        again; the rest go out in new batches. Results are matched back by id; expired and
        transiently errored requests are resubmitted up to max_attempts, and every request
        ends exactly once, as a response or as the error that ended it."""
        return self.run(lambda: self.acomplete_batch(requests))
