"""Ollama teacher: the official `ollama` AsyncClient, /api/chat (sampling in `options` only
when the recipe sets it; `effort` as `think`, which gpt-oss takes as low/medium/high)."""

from __future__ import annotations

import contextvars
import json

import httpx
import ollama

from wikikit.teachers.base import Fatal, Retryable, Teacher, TeacherRequest, TeacherResponse
from wikikit.teachers.errors_map import RETRY_STATUS, retry_after_seconds

SAMPLING = ("temperature", "top_p", "top_k")  # Ollama's model options of the same names

# ollama.ResponseError carries no headers; an httpx response hook keeps `retry-after` for the
# task that made the request (hooks run in the caller's task, so a ContextVar is per request).
_retry_after: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "ollama_retry_after", default=None
)


async def _remember_retry_after(response: httpx.Response) -> None:
    _retry_after.set(retry_after_seconds(response.headers) if response.status_code >= 400 else None)


class OllamaTeacher(Teacher):
    def __init__(self, *args, base_url: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._host = base_url  # None: OLLAMA_HOST or the default, as the client decides
        self._client: ollama.AsyncClient | None = None

    def _get_client(self) -> ollama.AsyncClient:
        if self._client is None:
            headers = {"Authorization": f"Bearer {self._secret}"} if self._secret else None
            self._client = ollama.AsyncClient(
                host=self._host,
                timeout=self.settings.timeout_s,
                headers=headers,
                event_hooks={"response": [_remember_retry_after]},
            )
        return self._client

    async def _send(self, request: TeacherRequest) -> TeacherResponse:
        s = self.settings
        messages = request.chat_messages_with_system()
        _retry_after.set(None)
        try:
            options = {"num_predict": s.max_tokens}
            options.update({k: getattr(s, k) for k in SAMPLING if getattr(s, k) is not None})
            extra = {"think": s.effort} if s.effort is not None else {}
            resp = await self._get_client().chat(
                model=s.model, messages=messages, stream=False, options=options, **extra
            )
            return TeacherResponse(
                text=resp.message.content or "",
                thinking=resp.message.thinking or None,
                input_tokens=int(resp.prompt_eval_count or 0),
                output_tokens=int(resp.eval_count or 0),
                stop_reason="length"
                if resp.done_reason == "length"
                else (resp.done_reason or "stop"),
            )
        except ollama.ResponseError as exc:
            if exc.status_code in RETRY_STATUS or exc.status_code >= 500:
                kind = "rate_limited" if exc.status_code == 429 else f"http_{exc.status_code}"
                raise Retryable(
                    f"HTTP {exc.status_code}", retry_after=_retry_after.get(), kind=kind
                ) from None
            raise Fatal(
                f"HTTP {exc.status_code}: {str(exc.error)[:200]}", status=exc.status_code
            ) from None
        except httpx.TimeoutException:
            raise Retryable("request timed out", kind="timeout") from None
        except (httpx.TransportError, ConnectionError):
            raise Retryable("connection error", kind="connection") from None
        except (
            json.JSONDecodeError,
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
            RecursionError,  # a body nested too deep for the JSON decoder
        ) as exc:
            # pydantic's ValidationError is a ValueError: a body that is not a chat response.
            raise Retryable(
                f"malformed response body ({type(exc).__name__})", kind="malformed"
            ) from None
