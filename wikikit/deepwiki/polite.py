"""Politeness shared by the DeepWiki transports: a minimum gap between requests, Retry-After.

`Throttle` spaces requests across threads and lets a 429 push every later request back;
`retry_after_s` reads the header in both of its forms (RFC 9110 section 10.2.3: a number of
seconds or an HTTP date).
"""

from __future__ import annotations

import email.utils
import threading
import time
from datetime import UTC, datetime

RATE_LIMIT_CODES = (429, 503)


class RateLimited(Exception):
    """The server asked for a pause longer than the crawl may wait: stop, resume later."""

    def __init__(self, seconds: float, limit: float):
        super().__init__(
            f"rate limited: the server asks to wait {seconds:.0f} s (Retry-After), more than "
            f"retry_after_max_s={limit:g}; run again later to resume"
        )
        self.seconds = seconds


def retry_after_s(value: str | bytes | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date); None if absent/bad."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1", errors="replace")
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(min(int(value), 10**7))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.fromtimestamp(now if now is not None else time.time(), UTC)
    return max(0.0, (when - current).total_seconds())


class Throttle:
    """At most one request per `delay_s` across threads; `backoff` delays every next request."""

    def __init__(self, delay_s: float = 0.0):
        self.delay_s = max(0.0, float(delay_s))
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next)
            self._next = at + self.delay_s
        if at > now:
            time.sleep(at - now)

    def backoff(self, seconds: float) -> None:
        with self._lock:
            self._next = max(self._next, time.monotonic() + max(0.0, seconds))
