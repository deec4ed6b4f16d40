"""Anthropic teacher: the official SDK's AsyncAnthropic, Messages API and Message Batches.

The request body (anthropic 2.12.0's `messages.create` and Anthropic's API reference,
platform.claude.com/docs/en/api/messages, read 2026-12-01):
- `temperature`, `top_p`, `top_k` only when the recipe sets them (this SDK generation has no
  arguments for them, so they travel in `extra_body`; Sonnet 5/5.5 refuse them with a 400);
- `thinking` as the recipe gives it (`{type: adaptive}` is the Sonnet 5 default; `enabled`
  with `budget_tokens` is manual extended thinking) and `output_config.effort`;
- prompt caching (platform.claude.com/docs/en/build-with-claude/prompt-caching): blocks marked
  `cache_control: {type: ephemeral, ttl}` end a cached prefix (tools, system, messages in that
  order); at most 4 marks per request. wikikit marks the system prompt, the end of the shared
  context at the start of the first user turn, and, in a continued conversation outside
  batches, the last assistant turn (so the next step reads the conversation from the cache).
- usage: `input_tokens` counts only tokens neither read from nor written to the cache;
  `cache_creation_input_tokens` (split by TTL in `cache_creation`) and
  `cache_read_input_tokens` count the others.

Message Batches (anthropic 2.12.0 resources/messages/batches.py and types/messages/; the
batch-processing guide): POST /v1/messages/batches with `requests: [{custom_id, params}]`
(custom_id `^[a-zA-Z0-9_-]{1,64}$`; at most 100,000 requests or 256 MB), GET
/v1/messages/batches/{id} until `processing_status` is `ended`, then the JSONL at
`results_url`: one `{custom_id, result}` per request, result `succeeded` (with the message),
`errored` (with an error), `canceled` or `expired`, in any order.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic

from wikikit.teachers.base import (
    BatchCanceled,
    Fatal,
    Retryable,
    Teacher,
    TeacherRequest,
    TeacherResponse,
)
from wikikit.teachers.batch import BatchStatus
from wikikit.teachers.errors_map import classify_sdk_error

SAMPLING = ("temperature", "top_p", "top_k")
# Error types of a batch item that another submission may cure (API error reference).
TRANSIENT_ERRORS = {"api_error", "overloaded_error", "rate_limit_error", "timeout_error"}
STATUS_OF_ERROR = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
}


def _text_block(text: str, cache_control: dict | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "text", "text": text}
    if cache_control:
        block["cache_control"] = cache_control
    return block


class AnthropicTeacher(Teacher):
    supports_batch = True
    # 100,000 requests or 256 MB per batch (batch-processing guide); bytes kept under the limit.
    batch_limits = (100_000, 200 * 1024 * 1024)

    def __init__(self, *args, base_url: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._base_url = base_url
        self._client: anthropic.AsyncAnthropic | None = None

    def _get_client(self) -> anthropic.AsyncAnthropic:
        if self._client is None:
            # Retries are ours (max_retries=0): the SDK's own would hide attempts from the budget.
            self._client = anthropic.AsyncAnthropic(
                api_key=self._secret,  # None: the SDK reads ANTHROPIC_API_KEY
                base_url=self._base_url,
                max_retries=0,
                timeout=self.settings.timeout_s,
            )
        return self._client

    # -- the request body ------------------------------------------------------------------
    def params(self, request: TeacherRequest, in_batch: bool = False) -> dict[str, Any]:
        """The Messages API body for `request` (also a batch item's `params`)."""
        s = self.settings
        ttl = s.cache_write_ttl
        mark = {"type": "ephemeral", "ttl": ttl} if ttl else None
        # A conversation's next step comes in the next batch, after this one ended: too late
        # for its cache entry to pay for its write. In batches only shared prefixes are marked.
        last_assistant = (
            -1
            if in_batch
            else max(
                (i for i, (role, _) in enumerate(request.messages) if role == "assistant"),
                default=-1,
            )
        )
        messages = []
        for i, (role, content) in enumerate(request.messages):
            if mark and i == 0 and request.shared:
                rest = content[len(request.shared) :]
                blocks = [_text_block(request.shared, mark)] + ([_text_block(rest)] if rest else [])
                messages.append({"role": role, "content": blocks})
            elif mark and i == last_assistant:
                messages.append({"role": role, "content": [_text_block(content, mark)]})
            else:
                messages.append({"role": role, "content": content})
        body: dict[str, Any] = {"model": s.model, "max_tokens": s.max_tokens, "messages": messages}
        if request.system:
            body["system"] = [_text_block(request.system, mark)] if mark else request.system
        for k in SAMPLING:
            if getattr(s, k) is not None:
                body[k] = getattr(s, k)
        if s.thinking is not None:
            body["thinking"] = dict(s.thinking)
        if s.effort is not None:
            body["output_config"] = {"effort": s.effort}
        return body

    def _response(self, msg: Any) -> TeacherResponse:
        """A Message (the SDK's model) as a TeacherResponse, with its prompt-cache tokens."""
        text = "".join(b.text for b in msg.content if getattr(b, "type", None) == "text")
        thinking = "".join(
            b.thinking for b in msg.content if getattr(b, "type", None) == "thinking"
        )
        usage = msg.usage
        written = int(usage.cache_creation_input_tokens or 0)
        split = getattr(usage, "cache_creation", None)
        if split is not None:
            w5, w1 = int(split.ephemeral_5m_input_tokens), int(split.ephemeral_1h_input_tokens)
        elif self.settings.prompt_cache_ttl == "1h":
            w5, w1 = 0, written
        else:
            w5, w1 = written, 0
        return TeacherResponse(
            text=text,
            thinking=thinking or None,
            input_tokens=int(usage.input_tokens),
            output_tokens=int(usage.output_tokens),
            cache_write_5m=w5,
            cache_write_1h=w1,
            cache_read=int(usage.cache_read_input_tokens or 0),
            stop_reason="length"
            if msg.stop_reason == "max_tokens"
            else (msg.stop_reason or "stop"),
        )

    async def _call(self, coro_fn):
        try:
            return await coro_fn()
        except (Retryable, Fatal):
            raise
        except Exception as exc:  # noqa: BLE001 - classified below, unknown ones re-raised
            mapped = classify_sdk_error(exc, anthropic)
            if mapped is exc:
                raise
            raise mapped from None

    async def _send(self, request: TeacherRequest) -> TeacherResponse:
        body = self.params(request)
        sampling = {k: body.pop(k) for k in SAMPLING if k in body}
        msg = await self._call(
            lambda: self._get_client().messages.create(**body, extra_body=sampling or None)
        )
        return self._response(msg)

    # -- Message Batches -------------------------------------------------------------------
    def _batch_entry_bytes(self, custom_id: str, request: TeacherRequest) -> int:
        entry = {"custom_id": custom_id, "params": self.params(request, in_batch=True)}
        return len(json.dumps(entry, ensure_ascii=False).encode("utf-8")) + 2

    async def _batch_create(self, entries: list[tuple[str, TeacherRequest]]) -> str:
        requests = [{"custom_id": k, "params": self.params(r, in_batch=True)} for k, r in entries]
        batch = await self._call(
            lambda: self._get_client().messages.batches.create(requests=requests)
        )
        return batch.id

    async def _batch_status(self, batch_id: str) -> BatchStatus:
        batch = await self._call(lambda: self._get_client().messages.batches.retrieve(batch_id))
        counts = batch.request_counts
        return BatchStatus(
            ended=batch.processing_status == "ended",
            state=batch.processing_status,
            counts={
                "processing": counts.processing,
                "succeeded": counts.succeeded,
                "errored": counts.errored,
                "canceled": counts.canceled,
                "expired": counts.expired,
            },
        )

    async def _batch_results(self, batch_id: str, status: BatchStatus) -> list[tuple[str, Any]]:
        async def read():
            lines = await self._get_client().messages.batches.results(batch_id)
            return [(line.custom_id, line.result) async for line in lines]

        return [(cid, self._outcome(result)) for cid, result in await self._call(read)]

    def _outcome(self, result: Any):
        kind = result.type
        if kind == "succeeded":
            return self._response(result.message)
        if kind == "expired":
            return Retryable("the batch expired before this request ran", kind="expired")
        if kind == "canceled":
            return BatchCanceled("the batch was canceled")
        error = getattr(getattr(result, "error", None), "error", None)
        etype = getattr(error, "type", "api_error")
        message = str(getattr(error, "message", ""))[:200]
        if etype in TRANSIENT_ERRORS:
            return Retryable(f"{etype}: {message}", kind=f"batch_{etype}")
        return Fatal(f"{etype}: {message}", status=STATUS_OF_ERROR.get(etype))
