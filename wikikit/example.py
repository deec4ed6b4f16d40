"""The Example: the one record type that flows through the data stage.

Sources produce Examples, filters judge them, renderers format them. The JSON shape is
schemas/example.schema.json; `Example.to_dict()` produces exactly that shape.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

ROLES = ("system", "developer", "user", "assistant", "tool")


@dataclass
class ToolCall:
    """A call the assistant makes; `arguments` is a JSON object."""

    name: str
    arguments: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments}


@dataclass
class Message:
    """One turn. `thinking` is the harmony analysis channel; a `tool` message carries `name`."""

    role: str
    content: str
    thinking: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    name: str | None = None  # the tool's name, for role == "tool"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.thinking:
            d["thinking"] = self.thinking
        if self.tool_calls:
            d["tool_calls"] = [c.to_dict() for c in self.tool_calls]
        if self.name is not None:
            d["name"] = self.name
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Message:
        return cls(
            role=d["role"],
            content=d.get("content") or "",
            thinking=d.get("thinking"),
            tool_calls=[
                ToolCall(c["name"], c.get("arguments") or {}) for c in d.get("tool_calls") or []
            ],
            name=d.get("name"),
        )


@dataclass(frozen=True)
class Ref:
    """A source reference: `path` relative to the repo root, 1-based inclusive line range."""

    path: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "start": self.start, "end": self.end}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Ref:
        return cls(d["path"], int(d["start"]), int(d["end"]))


@dataclass
class Example:
    id: str
    messages: list[Message]
    source: str
    category: str
    language: str = "unknown"
    repo: str | None = None  # "name@commit" (or just a name)
    refs: list[Ref] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def assistant_text(self) -> str:
        """All assistant content, joined: what filters and dedup judge."""
        return "\n\n".join(m.content for m in self.messages if m.role == "assistant" and m.content)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "messages": [m.to_dict() for m in self.messages],
            "source": self.source,
            "category": self.category,
            "language": self.language,
            "repo": self.repo,
            "refs": [r.to_dict() for r in self.refs],
            "meta": self.meta,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Example:
        return cls(
            id=d["id"],
            messages=[Message.from_dict(m) for m in d["messages"]],
            source=d["source"],
            category=d["category"],
            language=d.get("language") or "unknown",
            repo=d.get("repo"),
            refs=[Ref.from_dict(r) for r in d.get("refs") or []],
            meta=d.get("meta") or {},
        )


def example_id(*parts: Any) -> str:
    """A deterministic id from whatever identifies an example (source, repo, path, template...)."""
    h = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
    return h[:16]
