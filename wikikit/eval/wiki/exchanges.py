"""The recorded exchanges of one SemanticWiki run: one JSON object per line, one line per call.

The model endpoint that stands in for SemanticWiki's model (wikikit.semanticwiki) writes
`exchanges.jsonl` beside the wiki; the wiki metrics (cost, plan, page titles) read it. The shape,
agreed with the endpoint's author; every field but `kind`, `user` and `answer` may be absent:

    {"kind": "plan" | "page" | "index",     # which of local mode's three calls (by its prompt)
     "system": str,                         # SemanticWiki's system prompt, as sent
     "user": str,                           # the user prompt, as sent
     "answer": str,                         # what the client received (the final channel)
     "thinking": str | null,                # the analysis channel, dropped by the client
     "options": {"temperature": 0.3, "max_tokens": 4096, ...},   # the sampling options sent
     "seconds": float,                      # wall time of the call, request to last byte
     "tokens": {"prompt": int, "completion": int, "thinking": int},
                                            # completion counts every generated token, thinking
                                            # included; thinking is the analysis share if known
     "stop_reason": str | null,             # how the answer ended: maxTokens (node-llama-cpp),
                                            # length (OpenAI-style), max_tokens (Anthropic), ...
     "error": str}                          # present when the call failed (no answer)

Local mode's calls and their settings are in ../shared/vendor/semanticwiki/README.md and
SemanticWiki 1.2.1 dist/wiki-agent.js (`analyzeProjectWithLLM`, `generateSinglePage`,
`generateIndexPage`): plan at 8,192 tokens and 0.3, page at 4,096 and 0.3 then 0.1 when the
answer is 200 characters or shorter, index at 2,048 and 0.7.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wikikit.errors import InputError

KINDS = ("plan", "page", "index")
MAX_LINE_CHARS = 4_000_000  # a page prompt is ~12k characters; anything this long is not a call
# `# Documentation Task: "<title>"`: the first line of every page prompt (generateSinglePage)
_PAGE_TITLE = re.compile(r'\A# Documentation Task: "(?P<title>.*)"\s*$', re.M)


@dataclass
class Exchange:
    kind: str
    user: str
    answer: str
    system: str = ""
    thinking: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    seconds: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    thinking_tokens: int | None = None
    error: str | None = None
    stop_reason: str | None = None  # the writer's own word (client.exchange_from_*)
    line: int = 0  # where it was read, for messages

    @property
    def title(self) -> str | None:
        """The page title a page prompt asks for (None for plan and index calls)."""
        m = _PAGE_TITLE.match(self.user) if self.kind == "page" else None
        return m["title"] if m else None


def _int(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"{where}: expected a non-negative integer, got {value!r}")
    return value


def parse_exchange(obj: Any, where: str) -> Exchange:
    """One line's object -> Exchange, or InputError naming the line and the field."""
    if not isinstance(obj, dict):
        raise InputError(f"{where}: expected a JSON object")
    kind = obj.get("kind")
    if kind not in KINDS:
        raise InputError(f"{where}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    for key in ("user", "answer", "system", "thinking", "error", "stop_reason"):
        value = obj.get(key)
        if value is not None and not isinstance(value, str):
            raise InputError(f"{where}: {key} must be a string")
    if not isinstance(obj.get("user"), str):
        raise InputError(f"{where}: user is required")
    options = obj.get("options") or {}
    tokens = obj.get("tokens") or {}
    if not isinstance(options, dict) or not isinstance(tokens, dict):
        raise InputError(f"{where}: options and tokens must be objects")
    seconds = obj.get("seconds")
    if seconds is not None and (
        isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0
    ):
        raise InputError(f"{where}: seconds must be a non-negative number")
    return Exchange(
        kind=kind,
        user=obj["user"],
        answer=obj.get("answer") or "",
        system=obj.get("system") or "",
        thinking=obj.get("thinking"),
        options=options,
        seconds=float(seconds) if seconds is not None else None,
        prompt_tokens=_int(tokens.get("prompt"), f"{where}: tokens.prompt"),
        completion_tokens=_int(tokens.get("completion"), f"{where}: tokens.completion"),
        thinking_tokens=_int(tokens.get("thinking"), f"{where}: tokens.thinking"),
        error=obj.get("error"),
        stop_reason=obj.get("stop_reason"),
    )


def read_exchanges(path: str | Path) -> list[Exchange]:
    """Every exchange of a run, in call order; a bad line is an InputError naming file:line."""
    path = Path(path)
    out: list[Exchange] = []
    try:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                where = f"{path}:{n}"
                if len(line) > MAX_LINE_CHARS:
                    raise InputError(f"{where}: line longer than {MAX_LINE_CHARS} characters")
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    raise InputError(f"{where}: not JSON ({e.msg})") from None
                exchange = parse_exchange(obj, where)
                exchange.line = n
                out.append(exchange)
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    return out
