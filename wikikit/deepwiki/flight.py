"""A DeepWiki wiki from a page's Next.js flight (React Server Components) stream, within bounds.

Where the stream is. deepwiki.com is a Next.js app: its HTML carries the stream in inline
scripts `self.__next_f.push([1,"<chunk>"])` (0 opens the stream, 1 is a chunk of text, 2 form
state, 3 a base64 chunk of bytes; Next.js packages/next/src/server/app-render/
use-flight-response.tsx, INLINE_FLIGHT_PAYLOAD_*), and a request with the header `RSC: 1`
returns the stream itself (r74tech/deepwiki-rsc-parser client.ts @0f0d83e). The chunks joined
are the stream.

Row grammar (React's ReactFlightClient processBinaryChunk, facebook/react
packages/react-client/src/ReactFlightClient.js @5e21e5f; r74tech/deepwiki-rsc-parser parser.ts):

    <hex id>:<tag?><JSON>\\n              e.g. `5:["$","$L12",null,{...}]`, `2:I[...]`, `:HL[...]`
    <hex id>:T<hex length>,<text>         no terminator: the length counts UTF-8 bytes
    <hex id>:<A|O|o|U|S|s|L|l|G|g|M|m|V|b><hex length>,<bytes>    binary rows (skipped here)

In JSON, the string `"$<hex>"` refers to row <hex>; `"$$x"` is the literal `"$x"`; other
`"$<letter>..."` forms are React's own (elements, lazy nodes, symbols) and mean nothing here.

DeepWiki's rows (measured on ../shared/fixtures/deepwiki-real, vasilyaksenov/QCustomPlot): one
JSON row holds `{"wiki":{"metadata":{"repo_name","commit_hash","generated_at",...},
"pages":[{"page_plan":{"id":"2.1","title":"Core Components"},"content":"$16"},...]}}` and each
page's markdown is a text row (`16:T28de,# Core Components ...`), every page of the wiki in
every page's stream. The markdown is the form wikikit.deepwiki.page parses, Mermaid included.

A stranger controls the bytes: decoding never raises on bad input and stays within `Limits`
(payload size, rows, JSON size and nesting, pages, total text); what it drops is counted in
`Decoded.dropped` by reason.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

HEX = frozenset(b"0123456789abcdefABCDEF")
# Length-prefixed tags: text, then React's binary typed arrays (ReactFlightClient.js, ROW_LENGTH).
TEXT_TAG = ord("T")
BINARY_TAGS = frozenset(b"AOoUSsLlGgMmVb")
MAX_ID_DIGITS = 16
MAX_LENGTH_DIGITS = 16
# A push script: `self.__next_f.push(` (or the bootstrap `(self.__next_f=self.__next_f||[]).push(`).
PUSH = re.compile(r"self\.__next_f(?:\s*=\s*self\.__next_f\s*\|\|\s*\[\]\s*\))?\s*\.push\(")
COMMIT = re.compile(r"^[0-9a-fA-F]{7,64}$")


@dataclass(frozen=True)
class Limits:
    """What one payload may cost; beyond it, parts are dropped and counted, never a failure."""

    max_bytes: int = 64 * 2**20  # the whole stream (a real wiki of 11 pages is ~110 KB)
    max_rows: int = 200_000
    max_json_bytes: int = 8 * 2**20  # one JSON row decoded (the wiki row itself is ~3 KB)
    max_depth: int = 64  # nesting walked when looking for the wiki object
    max_nodes: int = 200_000  # JSON values visited when looking for it
    max_pages: int = 5_000
    max_text_bytes: int = 64 * 2**20  # all pages' markdown together


DEFAULT_LIMITS = Limits()


@dataclass
class Row:
    tag: str  # "" for a JSON model row, "T" for text, else React's one-letter tag
    data: bytes


@dataclass
class FlightPage:
    id: str
    title: str
    markdown: str


@dataclass
class Decoded:
    """What a stream held: the wiki's pages and metadata (when it had a wiki) and what was dropped."""

    pages: list[FlightPage] = field(default_factory=list)
    repo: str | None = None
    commit: str | None = None
    generated_at: str | None = None
    found: bool = False  # a wiki object was in the stream
    dropped: Counter = field(default_factory=Counter)
    rows: int = 0
    bytes: int = 0


# -- the stream inside a page's HTML --------------------------------------------------------


def has_push_scripts(html: str) -> bool:
    return PUSH.search(html) is not None


def stream_from_html(
    html: str, limits: Limits = DEFAULT_LIMITS, dropped: Counter | None = None
) -> bytes:
    """The flight stream a page's push scripts carry, joined in order (at most `max_bytes`)."""
    dropped = dropped if dropped is not None else Counter()
    decoder = json.JSONDecoder()
    parts: list[bytes] = []
    size = 0
    for m in PUSH.finditer(html):
        try:
            value, _ = decoder.raw_decode(html, m.end())
        except (ValueError, RecursionError):
            dropped["malformed_push_scripts"] += 1
            continue
        if not isinstance(value, list) or not value or not isinstance(value[0], int):
            dropped["malformed_push_scripts"] += 1
            continue
        kind = value[0]
        if kind in (0, 2):  # bootstrap, form state: no stream text
            continue
        chunk = value[1] if len(value) > 1 else None
        if kind == 1 and isinstance(chunk, str):
            data = chunk.encode("utf-8", errors="replace")
        elif kind == 3 and isinstance(chunk, str):
            try:
                data = base64.b64decode(chunk, validate=True)
            except (binascii.Error, ValueError):
                dropped["malformed_push_scripts"] += 1
                continue
        else:
            dropped["malformed_push_scripts"] += 1
            continue
        if size + len(data) > limits.max_bytes:
            dropped["payload_over_limit"] += 1
            break
        parts.append(data)
        size += len(data)
    return b"".join(parts)


# -- rows ------------------------------------------------------------------------------------


def parse_rows(
    data: bytes, limits: Limits = DEFAULT_LIMITS, dropped: Counter | None = None
) -> dict[int, Row]:
    """The stream's rows by id; hints (no id), binary rows and malformed bytes are skipped."""
    dropped = dropped if dropped is not None else Counter()
    if len(data) > limits.max_bytes:
        dropped["payload_over_limit"] += 1
        data = data[: limits.max_bytes]
    rows: dict[int, Row] = {}
    n = len(data)
    pos = 0
    count = 0
    while pos < n:
        if data[pos] == 0x0A:  # a blank line between rows
            pos += 1
            continue
        if count >= limits.max_rows:
            dropped["rows_over_limit"] += 1
            break
        colon = data.find(b":", pos, pos + MAX_ID_DIGITS + 1)
        raw_id = data[pos:colon] if colon >= 0 else b""
        if colon < 0 or not all(b in HEX for b in raw_id):
            dropped["malformed_rows"] += 1
            pos = _next_line(data, pos)
            continue
        count += 1
        i = colon + 1
        tag = data[i] if i < n else None
        if tag == TEXT_TAG or tag in BINARY_TAGS:
            end = _length_prefixed_end(data, i + 1)
            if end is not None:
                start, stop = end
                if stop > n:
                    dropped["truncated_rows"] += 1
                    break
                if tag == TEXT_TAG and raw_id:
                    _keep(rows, int(raw_id, 16), Row("T", data[start:stop]), dropped)
                elif tag != TEXT_TAG:
                    dropped["binary_rows"] += 1
                pos = stop
                continue
        stop = data.find(b"\n", i)
        stop = n if stop < 0 else stop
        body = data[i:stop]
        letter = ""
        if body[:1].isupper():  # I (module), H (hint), E (error), D (debug), ...: not a model
            letter, body = chr(body[0]), body[1:]
        if letter == "T" or (tag in BINARY_TAGS and letter):  # a length-prefixed tag, no length
            dropped["malformed_rows"] += 1
        elif raw_id:
            _keep(rows, int(raw_id, 16), Row(letter, body), dropped)
        pos = stop + 1
    return rows


def _next_line(data: bytes, pos: int) -> int:
    nl = data.find(b"\n", pos)
    return len(data) if nl < 0 else nl + 1


def _length_prefixed_end(data: bytes, at: int) -> tuple[int, int] | None:
    """(start, stop) of a `<hex length>,<bytes>` row body beginning at `at`, else None."""
    comma = data.find(b",", at, at + MAX_LENGTH_DIGITS + 1)
    digits = data[at:comma] if comma >= 0 else b""
    if comma < 0 or not digits or not all(b in HEX for b in digits):
        return None
    start = comma + 1
    return start, start + int(digits, 16)


def _keep(rows: dict[int, Row], rid: int, row: Row, dropped: Counter) -> None:
    if rid in rows:
        dropped["duplicate_rows"] += 1
        return
    rows[rid] = row


# -- the wiki object -------------------------------------------------------------------------


class _Resolver:
    """Resolves `"$<hex>"` references against the rows, each JSON row decoded once, bounded."""

    def __init__(self, rows: dict[int, Row], limits: Limits, dropped: Counter):
        self.rows = rows
        self.limits = limits
        self.dropped = dropped
        self._json: dict[int, Any] = {}

    def json_row(self, rid: int) -> Any:
        if rid in self._json:
            return self._json[rid]
        row = self.rows.get(rid)
        value = None
        if row is not None and row.tag == "":
            if len(row.data) > self.limits.max_json_bytes:
                self.dropped["json_rows_over_limit"] += 1
            else:
                try:
                    value = json.loads(row.data.decode("utf-8", errors="replace"))
                except (ValueError, RecursionError):
                    self.dropped["malformed_json_rows"] += 1
        self._json[rid] = value
        return value

    def value(self, v: Any) -> Any:
        """A JSON value with a top-level reference followed (one level: rows refer to rows)."""
        if not isinstance(v, str) or not v.startswith("$"):
            return v
        if v.startswith("$$"):
            return v[1:]
        ref = v[1:]
        if (
            not ref
            or not all(c in "0123456789abcdefABCDEF" for c in ref)
            or len(ref) > MAX_ID_DIGITS
        ):
            return None  # React's own forms ($L12, $undefined, $S...): nothing for us
        rid = int(ref, 16)
        row = self.rows.get(rid)
        if row is None:
            self.dropped["missing_references"] += 1
            return None
        if row.tag == "T":
            return row.data.decode("utf-8", errors="replace")
        return self.json_row(rid)


def _find_wiki(value: Any, limits: Limits, dropped: Counter) -> dict | None:
    """The first `{"wiki": {..., "pages": [...]}}` object, walked breadth-first within bounds."""
    queue: deque[tuple[Any, int]] = deque([(value, 0)])
    visited = 0
    while queue:
        node, depth = queue.popleft()
        visited += 1
        if visited > limits.max_nodes:
            dropped["json_nodes_over_limit"] += 1
            return None
        if isinstance(node, dict):
            wiki = node.get("wiki")
            if isinstance(wiki, dict) and "pages" in wiki:
                return wiki
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth >= limits.max_depth:
            dropped["json_too_deep"] += 1
            continue
        queue.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return None


def decode_stream(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Decoded:
    """Every page of the wiki a flight stream carries, with the wiki's repo and commit."""
    out = Decoded(bytes=len(data))
    rows = parse_rows(data, limits, out.dropped)
    out.rows = len(rows)
    resolver = _Resolver(rows, limits, out.dropped)
    wiki = None
    for rid, row in rows.items():
        if row.tag == "" and b'"wiki"' in row.data:
            wiki = _find_wiki(resolver.json_row(rid), limits, out.dropped)
            if wiki is not None:
                break
    if wiki is None:
        return out
    out.found = True
    meta = resolver.value(wiki.get("metadata"))
    if isinstance(meta, dict):
        out.repo = _text(resolver.value(meta.get("repo_name")))
        commit = _text(resolver.value(meta.get("commit_hash")))
        if commit and COMMIT.match(commit):
            out.commit = commit
        elif commit:
            out.dropped["malformed_commit"] += 1
        out.generated_at = _text(resolver.value(meta.get("generated_at")))
    pages = resolver.value(wiki.get("pages"))
    if not isinstance(pages, list):
        out.dropped["malformed_page_list"] += 1
        return out
    text_bytes = 0
    for n, entry in enumerate(pages):
        if n >= limits.max_pages:
            out.dropped["pages_over_limit"] += len(pages) - n
            break
        entry = resolver.value(entry)
        plan = resolver.value(entry.get("page_plan")) if isinstance(entry, dict) else None
        content = resolver.value(entry.get("content")) if isinstance(entry, dict) else None
        if not isinstance(plan, dict) or not isinstance(content, str) or not content.strip():
            out.dropped["pages_without_content"] += 1
            continue
        size = len(content.encode("utf-8", errors="replace"))
        if text_bytes + size > limits.max_text_bytes:
            out.dropped["pages_over_text_limit"] += 1
            continue
        text_bytes += size
        page_id = _text(resolver.value(plan.get("id"))) or str(n + 1)
        title = _text(resolver.value(plan.get("title"))) or ""
        out.pages.append(FlightPage(page_id, title, content))
    return out


def decode_html(html: str, limits: Limits = DEFAULT_LIMITS) -> Decoded:
    """The flight stream of a page's HTML, decoded (an empty `Decoded` when it has none)."""
    dropped: Counter = Counter()
    data = stream_from_html(html, limits, dropped)
    out = decode_stream(data, limits)
    out.dropped.update(dropped)
    return out


def _text(v: Any) -> str | None:
    if isinstance(v, (str, int, float)) and not isinstance(v, bool):
        s = str(v).strip()
        return s or None
    return None


# -- the inverse, for the sites wikikit serves itself (the demo, tests, benchmarks) ----------


def encode_stream(
    repo: str, pages: list[FlightPage], commit: str | None, generated_at: str | None
) -> str:
    """A flight stream of the shape DeepWiki sends: one text row per page, then the wiki row."""
    rows = []
    refs = []
    for n, page in enumerate(pages):
        rid = format(0x14 + n, "x")
        refs.append(rid)
        rows.append(f"{rid}:T{len(page.markdown.encode('utf-8')):x},{page.markdown}")
    wiki = {
        "wiki": {
            "metadata": {"repo_name": repo, "commit_hash": commit, "generated_at": generated_at},
            "pages": [
                {"page_plan": {"id": p.id, "title": p.title}, "content": f"${rid}"}
                for p, rid in zip(pages, refs, strict=True)
            ],
        }
    }
    head = '1:"$Sreact.fragment"\n'
    tail = (
        "5:"
        + json.dumps(["$", "$L12", None, {"repoName": repo, "children": ["$", "$L13", None, wiki]}])
        + "\n"
    )
    return head + "".join(rows) + tail


def encode_html(stream: str, body_html: str = "", chunk_chars: int = 8192) -> str:
    """An HTML page carrying `stream` in push scripts, as Next.js inlines it."""
    scripts = ["<script>(self.__next_f=self.__next_f||[]).push([0])</script>"]
    for i in range(0, len(stream), chunk_chars):
        chunk = json.dumps([1, stream[i : i + chunk_chars]]).replace("<", "\\u003c")
        scripts.append(f"<script>self.__next_f.push({chunk})</script>")
    return f"<!DOCTYPE html><html><head></head><body>{body_html}{''.join(scripts)}</body></html>"
