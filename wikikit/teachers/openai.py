"""OpenAI-compatible teacher: the official SDK's AsyncOpenAI, chat.completions and the Batch API.

Works with OpenAI and with any server that speaks the same API (vLLM, llama.cpp server,
LM Studio) through `base_url`. Sampling parameters go out only when the recipe sets them
(`top_k` is not an OpenAI parameter: it travels in the body for servers that take it);
`effort` is `reasoning_effort`. OpenAI caches long prompt prefixes by itself: the shared
context comes first in the prompt, and `usage.prompt_tokens_details.cached_tokens` reports
the cached part.

Batch API (openai 3.54.0 resources/files.py, resources/batches.py, types/batch.py; OpenAI's
Batch guide): the requests are uploaded as a JSONL file (`files.create(purpose="batch")`), one
`{custom_id, method: "POST", url: "/v1/chat/completions", body}` per line (at most 50,000
lines or 200 MB), then `batches.create(input_file_id, endpoint, completion_window="24h")`;
`batches.retrieve` until the status is `completed`, `failed`, `expired` or `cancelled`; the
answers are the JSONL of `output_file_id` and failures that of `error_file_id`, one
`{id, custom_id, response: {status_code, body}, error}` per line. Requests an expired batch
did not reach are answered with error code `batch_expired`.
"""

from __future__ import annotations

import json
import os
from typing import Any

import openai

from wikikit.teachers.base import (
    BatchCanceled,
    Fatal,
    Retryable,
    Teacher,
    TeacherRequest,
    TeacherResponse,
)
from wikikit.teachers.batch import BatchStatus
from wikikit.teachers.errors_map import RETRY_STATUS, classify_sdk_error

ENDPOINT = "/v1/chat/completions"
ENDED = ("completed", "failed", "expired", "cancelled")


class OpenAITeacher(Teacher):
    supports_batch = True
    batch_limits = (50_000, 190 * 1024 * 1024)  # 50,000 requests or 200 MB per input file

    def __init__(self, *args, base_url: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._base_url = base_url
        self._client: openai.AsyncOpenAI | None = None

    def _get_client(self) -> openai.AsyncOpenAI:
        if self._client is None:
            key = self._secret or os.environ.get("OPENAI_API_KEY")
            if key is None and self._base_url:
                key = "EMPTY"  # local OpenAI-compatible servers (vLLM convention) need no key
            self._client = openai.AsyncOpenAI(
                api_key=key, base_url=self._base_url, max_retries=0, timeout=self.settings.timeout_s
            )
        return self._client

    def body(self, request: TeacherRequest) -> dict[str, Any]:
        """The chat.completions body for `request` (also a batch line's `body`)."""
        s = self.settings
        body: dict[str, Any] = {
            "model": s.model,
            "messages": request.chat_messages_with_system(),
            "max_tokens": s.max_tokens,
        }
        for k in ("temperature", "top_p", "top_k"):
            if getattr(s, k) is not None:
                body[k] = getattr(s, k)
        if s.effort is not None:
            body["reasoning_effort"] = s.effort
        return body

    def _response(self, resp: Any) -> TeacherResponse:
        choice = resp.choices[0]
        extra = choice.message.model_extra or {}
        # Reasoning servers (vLLM, LM Studio) return the trace beside the answer.
        thinking = extra.get("reasoning_content") or extra.get("reasoning")
        usage = resp.usage
        prompt = int(usage.prompt_tokens) if usage else 0
        details = getattr(usage, "prompt_tokens_details", None) if usage else None
        cached = int(getattr(details, "cached_tokens", 0) or 0) if details else 0
        return TeacherResponse(
            text=choice.message.content or "",
            thinking=thinking if isinstance(thinking, str) and thinking else None,
            input_tokens=prompt - cached,
            cache_read=cached,
            output_tokens=int(usage.completion_tokens) if usage else 0,
            stop_reason=choice.finish_reason or "stop",
        )

    async def _call(self, coro_fn):
        try:
            return await coro_fn()
        except (Retryable, Fatal):
            raise
        except Exception as exc:  # noqa: BLE001
            mapped = classify_sdk_error(exc, openai)
            if mapped is exc:
                raise
            raise mapped from None

    async def _send(self, request: TeacherRequest) -> TeacherResponse:
        body = self.body(request)
        extra = {"top_k": body.pop("top_k")} if "top_k" in body else None
        resp = await self._call(
            lambda: self._get_client().chat.completions.create(**body, extra_body=extra)
        )
        return self._response(resp)

    # -- Batch API -------------------------------------------------------------------------
    def _line(self, custom_id: str, request: TeacherRequest) -> bytes:
        line = {
            "custom_id": custom_id,
            "method": "POST",
            "url": ENDPOINT,
            "body": self.body(request),
        }
        return (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8")

    def _batch_entry_bytes(self, custom_id: str, request: TeacherRequest) -> int:
        return len(self._line(custom_id, request))

    async def _batch_create(self, entries: list[tuple[str, TeacherRequest]]) -> str:
        data = b"".join(self._line(k, r) for k, r in entries)
        client = self._get_client()
        uploaded = await self._call(
            lambda: client.files.create(file=("wikikit-batch.jsonl", data), purpose="batch")
        )
        batch = await self._call(
            lambda: client.batches.create(
                input_file_id=uploaded.id,
                endpoint=ENDPOINT,
                completion_window="24h",
                metadata={"created_by": "wikikit"},
            )
        )
        return batch.id

    async def _batch_status(self, batch_id: str) -> BatchStatus:
        batch = await self._call(lambda: self._get_client().batches.retrieve(batch_id))
        rc = batch.request_counts
        counts = {"total": rc.total, "completed": rc.completed, "failed": rc.failed} if rc else {}
        return BatchStatus(ended=batch.status in ENDED, state=batch.status, counts=counts)

    async def _batch_results(self, batch_id: str, status: BatchStatus) -> list[tuple[str, Any]]:
        client = self._get_client()
        batch = await self._call(lambda: client.batches.retrieve(batch_id))
        out: list[tuple[str, Any]] = []
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            content = await self._call(lambda f=file_id: client.files.content(f))
            for raw in content.text.splitlines():
                if raw.strip():
                    line = json.loads(raw)
                    out.append((str(line.get("custom_id")), self._outcome(line)))
        if batch.status == "failed" and not out:
            errors = getattr(getattr(batch, "errors", None), "data", None) or []
            why = "; ".join(str(getattr(e, "message", "")) for e in errors)[:200]
            raise Fatal(f"the batch failed validation: {why}", status=400)
        return out

    def _outcome(self, line: dict[str, Any]):
        error = line.get("error")
        response = line.get("response") or {}
        if error:
            code = str(error.get("code") or "")
            message = str(error.get("message") or "")[:200]
            if code == "batch_expired":
                return Retryable("the batch expired before this request ran", kind="expired")
            if code == "batch_cancelled":
                return BatchCanceled("the batch was cancelled")
            return Retryable(f"{code}: {message}", kind=f"batch_{code or 'error'}")
        status = int(response.get("status_code") or 0)
        body = response.get("body") or {}
        if status == 200:
            try:
                return self._response(openai.types.chat.ChatCompletion.model_validate(body))
            except ValueError:
                return Retryable("malformed response body", kind="malformed")
        message = str((body.get("error") or {}).get("message") or "")[:200]
        if status in RETRY_STATUS or status >= 500:
            return Retryable(f"HTTP {status}: {message}", kind=f"http_{status}")
        return Fatal(f"HTTP {status}: {message}", status=status)
