"""Secret and PII scrubbing: API keys, tokens, private keys and e-mail addresses are redacted.

This filter never drops an example; it rewrites the text in place (content, thinking and
string tool arguments) with `[REDACTED_<KIND>]` placeholders and counts what it replaced by
kind. One combined regular expression keeps it a single pass over each text.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from wikikit.example import Example

# Kind -> pattern. Prefix-anchored token formats first; the generic assignment pattern last.
PATTERNS: dict[str, str] = {
    "private_key": r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
    "aws_access_key": r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
    "github_token": r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{50,})\b",
    "anthropic_key": r"\bsk-ant-[A-Za-z0-9_\-]{20,}",
    "openai_key": r"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_\-]{20,}",
    "slack_token": r"\bxox[abposr]-[A-Za-z0-9\-]{10,}",
    "google_api_key": r"\bAIza[0-9A-Za-z_\-]{35}\b",
    "hf_token": r"\bhf_[A-Za-z0-9]{30,}\b",
    "stripe_key": r"\b[rs]k_live_[0-9A-Za-z]{20,}\b",
    "jwt": r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
    "email": r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}\b",
    # key = "long opaque value": the value is redacted, the name kept for readability.
    "assigned_secret": r"(?<![A-Za-z0-9])(?i:api[_-]?key|secret(?:[_-]?key)?|access[_-]?token|auth[_-]?token|password|passwd)"
    r"[\"']?\s*[:=]\s*[\"'](?P<assigned>[A-Za-z0-9_\-+/=.]{16,})[\"']",
}
# Addresses that are documentation placeholders, not anyone's data.
SAFE_EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "users.noreply.github.com")

_COMBINED = re.compile("|".join(f"(?P<{kind}>{pat})" for kind, pat in PATTERNS.items()))
# A text none of whose patterns could match skips the combined expression. Every pattern needs
# one of these substrings; for ASCII text plain substring tests decide it (much faster than a
# regular expression with a case-insensitive group), other text keeps the regex, whose case
# folding also matches e.g. the Kelvin sign as "k".
_QUICK = re.compile(
    r"@|-----BEGIN|AKIA|ASIA|gh[pousr]_|github_pat_|sk-|xox|AIza|hf_|_live_|eyJ|(?i:key|token|secret|passw)"
)
_MARKERS = ("@", "-----BEGIN", "AKIA", "ASIA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_")
_MARKERS += ("github_pat_", "sk-", "xox", "AIza", "hf_", "_live_", "eyJ")
_MARKERS_ANY_CASE = ("key", "token", "secret", "passw")


def may_hold_secret(text: str) -> bool:
    """False only when no pattern can match `text`."""
    if not text.isascii():
        return _QUICK.search(text) is not None
    if any(m in text for m in _MARKERS):
        return True
    lower = text.lower()
    return any(m in lower for m in _MARKERS_ANY_CASE)


class SecretsScrubber:
    name = "scrub_secrets"

    def __init__(self) -> None:
        self.counts: Counter = Counter()

    def _replace(self, m: re.Match) -> str:
        kind = m.lastgroup
        if kind == "assigned":  # the inner group of assigned_secret matched last
            kind = "assigned_secret"
        text = m.group(0)
        if kind == "email" and text.lower().rsplit("@", 1)[-1].endswith(SAFE_EMAIL_DOMAINS):
            return text
        self.counts[kind] += 1
        if kind == "assigned_secret":
            value = m.group("assigned")
            return text.replace(value, "[REDACTED_SECRET]")
        return f"[REDACTED_{kind.upper()}]"

    def scrub(self, text: str) -> str:
        if not text or not may_hold_secret(text):
            return text
        return _COMBINED.sub(self._replace, text)

    def _scrub_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            return {k: self._scrub_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._scrub_value(v) for v in value]
        return value

    def check(self, example: Example) -> str | None:
        for msg in example.messages:
            msg.content = self.scrub(msg.content)
            if msg.thinking:
                msg.thinking = self.scrub(msg.thinking)
            for call in msg.tool_calls:
                call.arguments = self._scrub_value(call.arguments)
        return None
