"""Reading what a stranger wrote within bounds: JSON of bounded size and depth, lines of
bounded length. One place for these limits, used by every reader of untrusted data (JSONL
sources, CodeWikiBench rows, teacher and judge replies).

A breach raises `OutOfBounds` (a ValueError) whose message says which bound and by how much;
callers skip and count the record, never crash on it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

MAX_JSON_DEPTH = 100  # nested arrays/objects; real records nest a handful of levels
MAX_LINE_BYTES = 16 << 20  # one JSONL record; a training example is far smaller
MAX_REPLY_CHARS = 4 << 20  # one teacher or judge reply (max_tokens keeps real ones small)


class OutOfBounds(ValueError):
    """Input over a bound; the message names the bound."""


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{n:,} bytes"


def too_deep(value: Any, max_depth: int = MAX_JSON_DEPTH) -> bool:
    """True when arrays/objects nest deeper than max_depth (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > max_depth:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False


def json_loads(
    text: str | bytes, *, max_chars: int, max_depth: int = MAX_JSON_DEPTH, what: str = "JSON"
) -> Any:
    """json.loads, refusing text over max_chars and values nested deeper than max_depth.

    Malformed JSON raises json.JSONDecodeError (a ValueError) as usual.
    """
    if len(text) > max_chars:
        raise OutOfBounds(f"{what} is {_size(len(text))}, over the {_size(max_chars)} limit")
    try:
        value = json.loads(text)
    except RecursionError:  # the C decoder recurses per level; past the interpreter's limit
        raise OutOfBounds(f"{what} is nested deeper than {max_depth} levels") from None
    if too_deep(value, max_depth):
        raise OutOfBounds(f"{what} is nested deeper than {max_depth} levels")
    return value


def json_object_in(text: str, *, max_chars: int = MAX_REPLY_CHARS, what: str = "reply") -> Any:
    """The JSON object a model's reply carries: from its first `{` to its last `}`.

    The same span as re.search(r"\\{.*\\}", text, re.S), found in linear time (that regex
    rescans the rest of the text from every `{` when no `}` follows: quadratic on a hostile
    reply). None when there is no such span; JSONDecodeError or OutOfBounds when it is bad.
    """
    if len(text) > max_chars:
        raise OutOfBounds(f"{what} is {_size(len(text))}, over the {_size(max_chars)} limit")
    start = text.find("{")
    end = text.rfind("}")
    if start < 0 or end < start:
        return None
    return json_loads(text[start : end + 1], max_chars=max_chars, what=what)


def reply_too_large(text: str, thinking: str | None = None) -> str | None:
    """Why a teacher's or judge's reply is refused for its size, or None when it is not."""
    n = len(text) + len(thinking or "")
    if n > MAX_REPLY_CHARS:
        return f"reply of {n:,} characters, over the {MAX_REPLY_CHARS:,} limit"
    return None


def bounded_lines(
    fh: IO[bytes], max_bytes: int = MAX_LINE_BYTES
) -> Iterator[tuple[int, bytes | None, int]]:
    """(line number, the line's bytes, its length) for each line of a binary stream.

    A line longer than max_bytes comes as (n, None, length): it is read through in slices and
    dropped, so memory stays bounded by max_bytes whatever the file holds.
    """
    lineno = 0
    while True:
        line = fh.readline(max_bytes + 1)
        if not line:
            return
        lineno += 1
        if line.endswith(b"\n") or len(line) <= max_bytes:  # whole (or the last, unended)
            yield lineno, line, len(line)
            continue
        length = len(line)
        while not line.endswith(b"\n"):
            line = fh.readline(1 << 20)
            if not line:
                break
            length += len(line)
        yield lineno, None, length


class JsonlError(ValueError):
    """A JSONL line that is not JSON or breaks a bound; the message names file:line."""


def iter_jsonl(
    path: str | Path,
    *,
    skip_bad: bool = False,
    max_bytes: int = MAX_LINE_BYTES,
    max_depth: int = MAX_JSON_DEPTH,
) -> Iterator[tuple[int, Any]]:
    """(line number, value) for each non-blank line of a JSONL file: the one JSONL reader.

    Lines end at b"\\n" only. str.splitlines() would also cut inside JSON strings written with
    ensure_ascii=False at U+2028, U+2029, U+0085, \\x0b, \\x0c and \\x1c-\\x1e, which a model's
    answer may hold. A bad line (not UTF-8 JSON, over a bound) raises JsonlError naming
    file:line, or with skip_bad is passed over.
    """
    with open(path, "rb") as fh:
        for lineno, raw, length in bounded_lines(fh, max_bytes):
            try:
                if raw is None:
                    raise OutOfBounds(f"line is {_size(length)}, over the {_size(max_bytes)} limit")
                if not raw.strip():
                    continue
                value = json_loads(raw, max_chars=max_bytes, max_depth=max_depth, what="line")
            except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError, OutOfBounds
                if skip_bad:
                    continue
                why = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
                raise JsonlError(f"{path}:{lineno}: not a JSON line: {why}") from None
            yield lineno, value


def read_jsonl(path: str | Path, *, missing_ok: bool = False, skip_bad: bool = False) -> list[Any]:
    """Every row of a JSONL file (iter_jsonl); a missing file is [] with missing_ok."""
    if missing_ok and not Path(path).is_file():
        return []
    return [value for _, value in iter_jsonl(path, skip_bad=skip_bad)]
