"""Turning an SDK's exceptions into the loop's two kinds: Retryable or Fatal.

The official SDKs (anthropic, openai) share one exception family layout, so one function
serves both; Ollama's client has its own.
"""

from __future__ import annotations

import json
from email.utils import parsedate_to_datetime
from time import time
from typing import Any

from wikikit.teachers.base import Fatal, Retryable

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504, 529}


def retry_after_seconds(headers: Any) -> float | None:
    """`retry-after-ms`, `retry-after` as seconds (floats allowed) or as an HTTP date."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return float(ms) / 1000.0
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time())
        except (TypeError, ValueError):
            return None


def classify_sdk_error(exc: Exception, sdk: Any) -> Exception:
    """Map an `anthropic`/`openai` SDK exception (module passed as `sdk`) to Retryable/Fatal."""
    if isinstance(exc, sdk.APITimeoutError):
        return Retryable("request timed out", kind="timeout")
    if isinstance(exc, sdk.APIConnectionError):
        return Retryable(
            f"connection error: {type(exc.__cause__ or exc).__name__}", kind="connection"
        )
    if isinstance(exc, sdk.APIResponseValidationError):
        return Retryable("malformed response body", kind="malformed")
    if isinstance(exc, sdk.APIStatusError):
        status = exc.status_code
        if status in RETRY_STATUS or status >= 500:
            kind = "rate_limited" if status == 429 else f"http_{status}"
            return Retryable(
                f"HTTP {status}", retry_after=retry_after_seconds(exc.response.headers), kind=kind
            )
        return Fatal(f"HTTP {status}: {_short_message(exc)}", status=status)
    if isinstance(exc, (json.JSONDecodeError, RecursionError)):  # a body nested too deep
        return Retryable(f"malformed response body ({type(exc).__name__})", kind="malformed")
    return exc


def _short_message(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return err["message"][:200]
    return str(exc)[:200]
