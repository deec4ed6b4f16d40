"""The one implementation of `file:line` source references: parse, format, verify.

Forms recognised by `parse_refs` (see ../shared/semanticwiki.md and the DeepWiki fixtures):

- local: ``📄 [src/a.ts:42](../src/a.ts#L42)``, what SemanticWiki 1.2.1's local mode asks for and
  writes (one line; src/wiki-agent.ts:2581-2615 and :2730-2748 at commit 438524a); the link
  target must name the same path and line as the text, else it is read as a plain link;
- semanticwiki: ``**Source:** [`src/a.ts:23-67`](../../src/a.ts#L23-L67)`` (the path and range
  are read from the backticked link text; the `#L` anchor fills in a range the text lacks);
- deepwiki: ``Sources: [README.md:49-131](), [Makefile:14]()`` — an empty link target; pages also
  name files without a range (``[openhands/runtime/base.py]()``), returned only with
  `include_unranged=True`;
- plain: a markdown link with a GitHub line anchor (``[jwt.ts](src/jwt.ts#L23-L67)``), a
  backticked ``path/file.py:12-40`` or ``file.py:12``, or a bare ``src/pkg/file.py:12-40`` in
  prose.

Line ranges are 1-based and inclusive; a single line has start == end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wikikit.code.repo import Repo

# A file path: no spaces, brackets, backticks or parentheses; the last part has a letter
# extension or is an extension-less well-known file (Makefile, Dockerfile, ...).
_SEG = r"[\w@+~.$-]+"
_FILE_NAME = (
    r"(?:[\w@+~$-][\w@+~.$-]*\.[A-Za-z][\w+-]*"
    r"|Makefile|Dockerfile|Containerfile|Jenkinsfile|Procfile|Gemfile|Rakefile|Justfile|LICENSE)"
)
_PATH = rf"(?:{_SEG}/)*{_FILE_NAME}"
_RANGE = r"(?P<start>\d+)(?:\s*[-–]\s*L?(?P<end>\d+))?"
_ANCHOR = r"#L(?P<astart>\d+)(?:-L?(?P<aend>\d+))?"

_LOCAL_RE = re.compile(
    r"📄\s*\[(?P<path>[^\]\s`()\[]+?):(?P<line>\d+)\]\(\.\./(?P=path)#L(?P=line)\)"
)
_SEMANTICWIKI_RE = re.compile(
    r"(?:\*\*Sources?:?\*\*:?\s*)?"
    rf"\[`(?P<path>[^`\s\[\]()]+?)(?::{_RANGE})?`\]"
    rf"\((?P<target>[^)\s]*?)(?:{_ANCHOR})?\)"
)
_DEEPWIKI_RE = re.compile(rf"\[(?P<path>[^\]\s`()\[]+?)(?::{_RANGE})?\]\(\)")
# An empty link target marks a DeepWiki reference; it may name a folder or extension-less file.
_DEEPWIKI_PATH_RE = re.compile(r"[\w@+~.$-]+(?:/[\w@+~.$-]+)*/?")
_ANCHOR_LINK_RE = re.compile(rf"\[(?P<text>[^\]\n]*)\]\((?P<target>[^)\s#]+){_ANCHOR}\)")
_BACKTICK_RE = re.compile(rf"`(?P<path>\.?/?{_PATH}):{_RANGE}`")
_BARE_RE = re.compile(rf"(?<![\w/.:@`\[-])(?P<path>{_PATH}):{_RANGE}(?![\w-])")


@dataclass(frozen=True)
class RefMatch:
    path: str
    start: int | None
    end: int | None
    form: str  # "local" | "semanticwiki" | "deepwiki" | "plain"
    span: tuple[int, int]  # character offsets of the whole reference in the parsed text

    @property
    def ranged(self) -> bool:
        return self.start is not None


def _int(value: str | None) -> int | None:
    return int(value) if value is not None else None


def _range(start: str | None, end: str | None) -> tuple[int | None, int | None]:
    s = _int(start)
    e = _int(end)
    return s, (e if e is not None else s)


def _target_path(target: str) -> str:
    """`../../src/a.ts` → `src/a.ts`: link targets are relative to the wiki page."""
    target = target.split("?", 1)[0]
    while target.startswith(("../", "./")):
        target = target[3:] if target.startswith("../") else target[2:]
    return target.lstrip("/")


def _clean_path(path: str) -> str:
    while path.startswith("./"):
        path = path[2:]
    return path


def parse_refs(text: str, include_unranged: bool = False) -> list[RefMatch]:
    """Every reference in `text`, in order of appearance; each span is claimed by one form."""
    found: list[RefMatch] = []
    taken: list[tuple[int, int]] = []

    def free(span: tuple[int, int]) -> bool:
        return all(span[1] <= a or span[0] >= b for a, b in taken)

    def add(path: str, start: int | None, end: int | None, form: str, span: tuple[int, int]):
        taken.append(span)
        if start is None and not include_unranged:
            return
        found.append(RefMatch(_clean_path(path), start, end, form, span))

    for m in _LOCAL_RE.finditer(text):
        add(m["path"], int(m["line"]), int(m["line"]), "local", m.span())
    for m in _SEMANTICWIKI_RE.finditer(text):
        if not free(m.span()):
            continue
        start, end = _range(m["start"], m["end"])
        if start is None:
            start, end = _range(m["astart"], m["aend"])
        add(m["path"], start, end, "semanticwiki", m.span())
    for m in _DEEPWIKI_RE.finditer(text):
        if free(m.span()) and _DEEPWIKI_PATH_RE.fullmatch(m["path"]):
            add(m["path"], *_range(m["start"], m["end"]), "deepwiki", m.span())
    for m in _ANCHOR_LINK_RE.finditer(text):
        if free(m.span()) and not re.match(r"[a-z][a-z0-9+.-]*:", m["target"], re.I):
            add(_target_path(m["target"]), *_range(m["astart"], m["aend"]), "plain", m.span())
        elif free(m.span()) and "github.com" in m["target"] and "/blob/" in m["target"]:
            # https://github.com/o/r/blob/<ref>/path#L1-L2 → path
            path = m["target"].split("/blob/", 1)[1].split("/", 1)[-1]
            add(path, *_range(m["astart"], m["aend"]), "plain", m.span())
    for m in _BACKTICK_RE.finditer(text):
        if free(m.span()):
            add(m["path"], *_range(m["start"], m["end"]), "plain", m.span())
    for m in _BARE_RE.finditer(text):
        if free(m.span()):
            add(m["path"], *_range(m["start"], m["end"]), "plain", m.span())
    found.sort(key=lambda r: r.span)
    return found


def format_source_ref(path: str, start: int, end: int, link_prefix: str = "") -> str:
    """SemanticWiki's reference line: **Source:** [`path:start-end`](prefix+path#Lstart-Lend)."""
    return f"**Source:** [`{path}:{start}-{end}`]({link_prefix}{path}#L{start}-L{end})"


def format_local_ref(path: str, line: int) -> str:
    """SemanticWiki's local-mode reference: 📄 [path:line](../path#Lline) (one line, no range)."""
    return f"📄 [{path}:{line}](../{path}#L{line})"


def symbol_in_lines(symbol: str, lines: list[str]) -> bool:
    """True if the symbol's own name (last part of `a.b` / `a::b`) occurs as a whole word."""
    name = re.split(r"\.|::|#", symbol)[-1].strip()
    if not name:
        return False
    pattern = re.compile(rf"(?<![\w$]){re.escape(name)}(?![\w$])")
    return any(pattern.search(line) for line in lines)


def verify_ref(
    repo: Repo, path: str, start: int | None, end: int | None, symbol: str | None = None
) -> str | None:
    """None if the reference resolves in `repo`, else the reason it does not."""
    path = _clean_path(path)
    if not repo.exists(path):
        return "missing file"
    if start is None:
        return "no line range"
    end = start if end is None else end
    if start < 1 or end < start:
        return f"invalid range {start}-{end}"
    lines = repo.lines(path)
    if end > len(lines):
        return f"range outside file ({len(lines)} lines)"
    if symbol is not None and not symbol_in_lines(symbol, lines[start - 1 : end]):
        return f"symbol {symbol} not in lines {start}-{end}"
    return None
