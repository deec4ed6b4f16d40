"""Batch mode: requests answered through a provider's batch API at half price.

`complete_in_batches(teacher, requests)` is the machinery behind `Teacher.complete_batch` (a
caller with a list of requests) and behind `complete()` in batch mode (`BatchCollector`, for
callers that ask one request at a time, like the synthetic generators):

1. every request's custom id is its cache key (sha256 hex: 64 characters, within Anthropic's
   `^[a-zA-Z0-9_-]{1,64}$`); cached answers are served without a call;
2. requests already in a batch an earlier run submitted (ids stored in the teacher cache file,
   table `batches`) are collected from that batch, never submitted again;
3. the rest go out in new batches, each within the provider's limits, after the budget has
   reserved every request's worst case at batch prices; a batch id is stored as soon as the
   provider returns it;
4. batches are polled every `batch_poll_s` until they end; results are matched by custom id;
   a batch's answers and its closing are written in one transaction;
5. expired and transiently errored requests (and any the results leave out) are resubmitted
   in a new batch, up to `max_attempts` submissions each; refused ones are reported once.

Provider hooks (implemented by AnthropicTeacher and OpenAITeacher):
    _batch_create(entries: list[(custom_id, TeacherRequest)]) -> batch id
    _batch_status(batch_id) -> BatchStatus
    _batch_results(batch_id, status) -> list[(custom_id, TeacherResponse | TeacherError)]
    _batch_entry_bytes(custom_id, request) -> int   (size of the request in the batch body)
    batch_limits = (max requests, max bytes) per batch
"""

from __future__ import annotations

import asyncio
import collections
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wikikit.bounded import reply_too_large
from wikikit.console import info, warn
from wikikit.errors import InputError
from wikikit.teachers.base import (
    BatchCanceled,
    BudgetExhausted,
    Fatal,
    RetriesExhausted,
    Retryable,
    TeacherError,
    TeacherRequest,
    TeacherResponse,
)

if TYPE_CHECKING:
    from wikikit.teachers.base import Teacher

COLLECT_QUIET_S = 0.5  # batch mode's complete(): submit once no new request came for this long
Outcome = TeacherResponse | TeacherError


@dataclass
class BatchStatus:
    ended: bool
    state: str  # the provider's own word
    counts: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in self.counts.items() if v) or self.state


class _Run:
    """One `complete_in_batches` call: what is reserved, tried and settled for each key."""

    def __init__(self, teacher: Teacher, by_key: dict[str, TeacherRequest]):
        self.t = teacher
        self.s = teacher.settings
        self.by_key = by_key
        self.done: dict[str, Outcome] = {}
        self.attempts: collections.Counter[str] = collections.Counter()
        self.reserved: dict[str, float] = {}

    # -- budget ----------------------------------------------------------------------------
    def _release(self, key: str) -> None:
        self.t._budget.settle(self.reserved.pop(key, 0.0), 0.0)

    # -- outcomes --------------------------------------------------------------------------
    def settle(self, key: str, outcome: Outcome, retry: set[str]) -> None:
        """Record how `key` ended, or put it back for the next round."""
        if isinstance(outcome, TeacherResponse):
            self.done[key] = outcome
            return
        self._release(key)
        if isinstance(outcome, Fatal):
            # Raises ConfigRejected (the run stops) when the refusal names a recipe setting.
            self.done[key] = self.t._reject_fatal(outcome, self.attempts[key])
        elif isinstance(outcome, Retryable):
            if self.attempts[key] < self.s.max_attempts:
                self.t.usage.retries += 1
                retry.add(key)
            else:
                self.t.usage.failures[f"retries_exhausted_{outcome.kind}"] += 1
                self.done[key] = RetriesExhausted(
                    f"{outcome.kind} after {self.attempts[key]} batch submissions: "
                    f"{self.t.redact(outcome.detail)}",
                    self.attempts[key],
                )
        else:
            self.t.usage.failures[outcome.reason] += 1
            self.done[key] = outcome

    # -- submitting ------------------------------------------------------------------------
    async def submit(self, keys: list[str]) -> list[tuple[str, list[str]]]:
        """New batches for `keys` (those the budget allows), stored as soon as created."""
        entries: list[tuple[str, TeacherRequest]] = []
        for key in keys:
            worst = self.t.worst_case_usd(self.by_key[key], batch=True)
            if not self.t._budget.reserve(worst):
                self.t.usage.budget_stop = True
                self.t.usage.failures["budget"] += 1
                self.done[key] = BudgetExhausted(
                    f"max_usd {self.s.max_usd} reached (spent {self.t._budget.spent:.4f})",
                    self.attempts[key],
                )
                continue
            self.reserved[key] = worst
            self.attempts[key] += 1
            entries.append((key, self.by_key[key]))
        created = []
        for chunk in _chunks(self.t, entries):
            ids = [k for k, _ in chunk]
            try:
                batch_id = await self._with_retries(lambda c=chunk: self.t._batch_create(c))
            except TeacherError as exc:
                for k in ids:
                    self.settle(k, exc, set())
                continue
            self.t.cache.add_batch(batch_id, self.s.provider, self.s.model, ids)
            self.t.usage.batches_created += 1
            self.t.usage.batch_requests += len(ids)
            info(f"teacher: batch {batch_id} submitted ({len(ids)} requests)")
            created.append((batch_id, ids))
        return created

    async def _with_retries(self, call):
        """A batch API call (create, retrieve, results) with the loop's retry policy."""
        last: Retryable | None = None
        for attempt in range(1, self.s.max_attempts + 1):
            self.t.usage.api_calls += 1
            try:
                return await call()
            except Retryable as exc:
                last = exc
                if attempt < self.s.max_attempts:
                    await asyncio.sleep(self.t._delay(attempt, exc.retry_after))
        kind = last.kind if last else "transient"
        raise RetriesExhausted(f"{kind} after {self.s.max_attempts} attempts", self.s.max_attempts)

    # -- collecting ------------------------------------------------------------------------
    async def collect(self, batches: list[tuple[str, list[str]]]) -> dict[str, Outcome]:
        """Poll until each batch ends; its outcomes by custom id (ours and any others)."""
        outcomes: dict[str, Outcome] = {}
        pending = dict(batches)
        last_summary: dict[str, str] = {}
        started = time.monotonic()
        while pending:
            for batch_id, ids in list(pending.items()):
                try:
                    status = await self._with_retries(lambda b=batch_id: self.t._batch_status(b))
                    if not status.ended:
                        summary = status.summary()
                        if last_summary.get(batch_id) != summary:
                            last_summary[batch_id] = summary
                            mins = (time.monotonic() - started) / 60
                            info(
                                f"teacher: batch {batch_id} {status.state} ({summary}; "
                                f"{len(ids)} requests, {mins:.0f} min)"
                            )
                        continue
                    results = await self._with_retries(
                        lambda b=batch_id, st=status: self.t._batch_results(b, st)
                    )
                except Fatal as exc:
                    # The provider no longer knows the batch (another account, or its results
                    # are gone): its requests go out again.
                    warn(f"teacher: batch {batch_id} cannot be read ({exc.detail}); resubmitting")
                    self.t.cache.close_batch(batch_id)
                    for k in ids:
                        outcomes[k] = Retryable(f"batch {batch_id} lost", kind="batch_lost")
                    del pending[batch_id]
                    continue
                except RetriesExhausted as exc:
                    # Left open in the store: the next run resumes it.
                    for k in ids:
                        outcomes[k] = exc
                    del pending[batch_id]
                    continue
                outcomes.update(self._store(batch_id, ids, results, status))
                del pending[batch_id]
            if pending:
                await asyncio.sleep(self.s.batch_poll_s)
        return outcomes

    def _store(
        self, batch_id: str, ids: list[str], results: list[tuple[str, Outcome]], st: BatchStatus
    ) -> dict[str, Outcome]:
        got = dict(results)
        rows = []
        for cid, outcome in got.items():
            if isinstance(outcome, TeacherResponse):
                # Billed whether or not this run asked for it (an earlier run's request).
                self.t._account(outcome, self.reserved.get(cid, 0.0), batch=True)
                self.reserved.pop(cid, None)
                oversized = reply_too_large(outcome.text, outcome.thinking)
                if oversized:  # paid for, but never cached nor used
                    self.t.usage.failures["oversized"] += 1
                    got[cid] = Fatal(oversized)
                    continue
                rows.append((cid, self.s.provider, self.s.model, outcome.to_cache()))
        # A request the results leave out never ran: canceled with its batch, or resubmitted.
        missing: Outcome = (
            BatchCanceled("the batch was canceled")
            if st.state in ("canceled", "cancelled")
            else Retryable("not in the batch results", kind="missing")
        )
        for cid in ids:
            got.setdefault(cid, missing)
        self.t.cache.close_batch(batch_id, rows)
        n_ok = len(rows)
        info(f"teacher: batch {batch_id} {st.state}: {n_ok}/{len(ids)} answered ({st.summary()})")
        return got


def _chunks(teacher: Teacher, entries: list[tuple[str, TeacherRequest]]):
    """Entries in batches within the provider's request and byte limits."""
    max_n, max_bytes = teacher.batch_limits
    max_n = min(max_n, teacher.settings.batch_max_requests)
    chunk: list[tuple[str, TeacherRequest]] = []
    size = 0
    for key, request in entries:
        n = teacher._batch_entry_bytes(key, request)
        if chunk and (len(chunk) >= max_n or size + n > max_bytes):
            yield chunk
            chunk, size = [], 0
        chunk.append((key, request))
        size += n
    if chunk:
        yield chunk


async def complete_in_batches(teacher: Teacher, requests: list[TeacherRequest]) -> list[Outcome]:
    """Every request answered (or its error) in request order; see the module docstring."""
    s = teacher.settings
    if not teacher.supports_batch:
        raise InputError(f"{s.key_path}.batch: {s.provider} has no batch API")
    if teacher.cache is None:
        raise InputError(f"{s.key_path}.batch: batch mode keeps its batch ids in the teacher cache")
    if teacher._halted is not None:
        raise teacher._halted
    keys = [teacher.key(r) for r in requests]
    by_key: dict[str, TeacherRequest] = {}
    for k, r in zip(keys, requests, strict=True):
        by_key.setdefault(k, r)
    run = _Run(teacher, by_key)
    for k in by_key:
        hit = teacher._cached(k)
        if hit is not None:
            run.done[k] = hit
    waiting = [k for k in by_key if k not in run.done]
    if s.offline:
        for k in waiting:
            run.done[k] = teacher._offline_miss()
        return [run.done[k] for k in keys]

    # Batches an earlier run submitted: collect them, never pay twice.
    resumed = []
    wanted = set(waiting)
    for batch_id, ids in teacher.cache.open_batches(s.provider, s.model):
        mine = [k for k in ids if k in wanted]
        if not mine:
            continue
        for k in mine:
            run.attempts[k] += 1
            run.reserved[k] = teacher.worst_case_usd(by_key[k], batch=True)
            teacher._budget.commit(run.reserved[k])  # already submitted: it will be billed
            wanted.discard(k)
        resumed.append((batch_id, ids))
    if resumed:
        teacher.usage.batches_resumed += len(resumed)
        info(f"teacher: resuming {len(resumed)} batch(es) submitted by an earlier run")
    outcomes = await run.collect(resumed)
    submitted = {k for _, ids in resumed for k in ids if k in by_key}
    fresh = wanted  # never submitted yet
    while True:
        retry: set[str] = set()
        for k in submitted:
            if k not in run.done:
                run.settle(k, outcomes.get(k, Retryable("no result", kind="missing")), retry)
        send = [k for k in waiting if (k in retry or k in fresh) and k not in run.done]
        if not send:
            break
        fresh = set()
        created = await run.submit(send)
        submitted = {k for _, ids in created for k in ids}
        outcomes = await run.collect(created)
    return [run.done[k] for k in keys]


class BatchCollector:
    """Batch mode for `complete()`: requests asked one at a time, answered in batches.

    A request waits until no new one has come for COLLECT_QUIET_S (every caller is waiting on
    an answer) or `batch_max_requests` are waiting; then all waiting requests go out together.
    """

    def __init__(self, teacher: Teacher):
        self.teacher = teacher
        self.loop = asyncio.get_running_loop()
        self.queue: list[tuple[TeacherRequest, asyncio.Future]] = []
        self.timer: asyncio.TimerHandle | None = None
        self.tasks: set[asyncio.Task] = set()

    async def submit(self, request: TeacherRequest) -> TeacherResponse:
        fut: asyncio.Future = self.loop.create_future()
        self.queue.append((request, fut))
        if len(self.queue) >= self.teacher.settings.batch_max_requests:
            self._flush()
        else:
            if self.timer is not None:
                self.timer.cancel()
            self.timer = self.loop.call_later(COLLECT_QUIET_S, self._flush)
        return await fut

    def _flush(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        batch, self.queue = self.queue, []
        if batch:
            task = self.loop.create_task(self._answer(batch))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _answer(self, batch: list[tuple[TeacherRequest, asyncio.Future]]) -> None:
        try:
            outs = await complete_in_batches(self.teacher, [r for r, _ in batch])
        except BaseException as exc:  # noqa: BLE001 - every waiting caller gets it
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            return
        for (_, fut), out in zip(batch, outs, strict=True):
            if fut.done():
                continue
            if isinstance(out, TeacherError):
                fut.set_exception(out)
            else:
                fut.set_result(out)


def collector_for(teacher: Teacher) -> BatchCollector:
    collector: Any = teacher._collector
    if collector is None or collector.loop is not asyncio.get_running_loop():
        collector = teacher._collector = BatchCollector(teacher)
    return collector
