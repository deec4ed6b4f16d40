"""Anthropic teacher: the official SDK's AsyncAnthropic, Messages API."""

from __future__ import annotations

import anthropic

from wikikit.teachers.base import Retryable, Teacher, TeacherRequest, TeacherResponse
from wikikit.teachers.errors_map import classify_sdk_error


class AnthropicTeacher(Teacher):
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

    async def _send(self, request: TeacherRequest) -> TeacherResponse:
        s = self.settings
        kwargs = {}
        if request.system:
            kwargs["system"] = request.system
        try:
            msg = await self._get_client().messages.create(
                model=s.model,
                max_tokens=s.max_tokens,
                messages=request.chat_messages(),
                # This SDK generation has no `temperature` argument; the API still takes it.
                extra_body={"temperature": s.temperature},
                **kwargs,
            )
            text = "".join(b.text for b in msg.content if getattr(b, "type", None) == "text")
            thinking = "".join(
                b.thinking for b in msg.content if getattr(b, "type", None) == "thinking"
            )
            usage = msg.usage
            return TeacherResponse(
                text=text,
                thinking=thinking or None,
                input_tokens=int(usage.input_tokens),
                output_tokens=int(usage.output_tokens),
                stop_reason="length"
                if msg.stop_reason == "max_tokens"
                else (msg.stop_reason or "stop"),
            )
        except Retryable:
            raise
        except Exception as exc:  # noqa: BLE001 - classified below, unknown ones re-raised
            mapped = classify_sdk_error(exc, anthropic)
            if mapped is exc:
                raise
            raise mapped from None
