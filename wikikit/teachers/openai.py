"""OpenAI-compatible teacher: the official SDK's AsyncOpenAI, chat.completions.

Works with OpenAI and with any server that speaks the same API (vLLM, llama.cpp server,
LM Studio) through `base_url`.
"""

from __future__ import annotations

import os

import openai

from wikikit.teachers.base import Teacher, TeacherRequest, TeacherResponse
from wikikit.teachers.errors_map import classify_sdk_error


class OpenAITeacher(Teacher):
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

    async def _send(self, request: TeacherRequest) -> TeacherResponse:
        s = self.settings
        messages = request.chat_messages_with_system()
        try:
            resp = await self._get_client().chat.completions.create(
                model=s.model,
                messages=messages,
                max_tokens=s.max_tokens,
                temperature=s.temperature,
            )
            choice = resp.choices[0]
            extra = choice.message.model_extra or {}
            # Reasoning servers (vLLM, LM Studio) return the trace beside the answer.
            thinking = extra.get("reasoning_content") or extra.get("reasoning")
            usage = resp.usage
            return TeacherResponse(
                text=choice.message.content or "",
                thinking=thinking if isinstance(thinking, str) and thinking else None,
                input_tokens=int(usage.prompt_tokens) if usage else 0,
                output_tokens=int(usage.completion_tokens) if usage else 0,
                stop_reason=choice.finish_reason or "stop",
            )
        except Exception as exc:  # noqa: BLE001
            mapped = classify_sdk_error(exc, openai)
            if mapped is exc:
                raise
            raise mapped from None
