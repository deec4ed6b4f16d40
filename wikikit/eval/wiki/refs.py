"""Source references of a wiki page, checked against the repository at the wiki's commit.

References are what wikikit.code.refs parses (SemanticWiki's `📄 [path:line](../path#Lline)`,
and the other forms its post-processing may leave); fenced code is skipped. For each:
- resolved: the file exists at the commit and every cited line lies inside it;
- precise: the cited lines lie inside what the sentence names. The sentence is the text before
  the reference back to the previous reference or sentence end; when it names nothing found in
  the file, its paragraph or list item, then the heading above it, are read instead. A name is a
  backticked or code-shaped identifier, or any word equal to a symbol defined in the file
  (symbols with their line ranges from wikikit.code.symbols: Python's ast, tree-sitter). A name
  that is a symbol: the cited lines lie inside one definition of it. A name that is not a symbol
  but occurs in the file: it occurs on the cited lines. A sentence naming nothing found in the
  file cannot be checked and counts as imprecise;
- coverage: the components the page describes (the subsections, else the top-level list items,
  else the paragraphs of its Key Components section) that carry at least one reference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from wikikit.code.refs import RefMatch, parse_refs, symbol_in_lines
from wikikit.code.repo import Repo, language_of, split_lines
from wikikit.code.symbols import Symbol, extract_symbols
from wikikit.eval.metrics import Ratio
from wikikit.eval.metrics.traceability import blank_code, named_things
from wikikit.eval.wiki.pages import headings, section_key

_SENTENCE_END = re.compile(r"[.!?](?=\s)|\n\s*\n|^\s*[-*+]\s|^\s*\d+\.\s|^#{1,6}\s", re.M)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")
_LIST_ITEM = re.compile(r"^(?:[-*+]|\d+[.)])\s+\S", re.M)


@dataclass
class RefCheck:
    path: str
    start: int | None
    end: int | None
    resolved: bool
    precise: bool
    reason: str = ""  # why not resolved / not precise


@dataclass
class PageRefs:
    refs: list[RefCheck] = field(default_factory=list)
    components: Ratio = (0, 0)  # (components with a reference, components)
    problems: list[str] = field(default_factory=list)

    @property
    def resolved(self) -> Ratio:
        return (sum(r.resolved for r in self.refs), len(self.refs))

    @property
    def precise(self) -> Ratio:
        return (sum(r.precise for r in self.refs), sum(r.resolved for r in self.refs))


class FileMap:
    """A repository given as {path: text} (an eval item that carries its files)."""

    def __init__(self, files: dict[str, str]):
        self.files = {k: v.replace("\r\n", "\n") for k, v in files.items()}

    def exists(self, path: str) -> bool:
        return path in self.files

    def read_text(self, path: str) -> str:
        return self.files[path]

    def lines(self, path: str) -> list[str]:
        return split_lines(self.files[path])


class RepoFacts:
    """What the checks need from the repository, read once per file."""

    def __init__(self, repo: Repo | FileMap):
        self.repo = repo
        self._symbols: dict[str, list[Symbol]] = {}

    def lines(self, path: str) -> list[str] | None:
        return self.repo.lines(path) if self.repo.exists(path) else None

    def symbols(self, path: str) -> list[Symbol]:
        if path not in self._symbols:
            language = language_of(path)
            text = self.repo.read_text(path) if language else ""
            self._symbols[path] = extract_symbols(path, text, language) if language else []
        return self._symbols[path]


def _candidates(prose: str, ref: RefMatch, previous_end: int) -> list[str]:
    """The sentence, then its paragraph or list item, then the nearest heading above."""
    before = prose[: ref.span[0]]
    cut = max([previous_end] + [m.end() for m in _SENTENCE_END.finditer(before)])
    sentence = before[cut:]
    para_start = max(before.rfind("\n\n"), 0)
    item = max((m.start() for m in _LIST_ITEM.finditer(before)), default=-1)
    line_end = prose.find("\n", ref.span[1])
    block = prose[max(para_start, item, 0) : line_end if line_end >= 0 else len(prose)]
    heading = ""
    for m in re.finditer(r"^#{1,6}\s+(.*)$", before, re.M):
        heading = m.group(1)
    return [sentence, block, heading]


def _names(text: str, ref_path: str, symbols: list[Symbol]) -> list[str]:
    idents, _ = named_things(text, {ref_path})
    defined = {s.name for s in symbols}
    words = [w for w in _WORD.findall(text) if w in defined]
    return list(dict.fromkeys([*idents, *words]))


def _matching_symbols(name: str, symbols: list[Symbol]) -> list[Symbol]:
    last = re.split(r"\.|::|#", name)[-1]
    return [s for s in symbols if s.qualname == name or s.name == last]


def check_precision(
    claims: list[str], path: str, start: int, end: int, lines: list[str], symbols: list[Symbol]
) -> tuple[bool, str]:
    """(precise, reason): the first claim that names something found in the file decides."""
    for claim in claims:
        names = _names(claim, path, symbols)
        named_symbols = [s for n in names for s in _matching_symbols(n, symbols)]
        if named_symbols:
            if any(s.start <= start and end <= s.end for s in named_symbols):
                return True, ""
            shown = ", ".join(
                dict.fromkeys(f"{s.qualname} {s.start}-{s.end}" for s in named_symbols)
            )
            return False, f"lines {start}-{end} are outside {shown}"
        in_file = [n for n in names if symbol_in_lines(n, lines)]
        if in_file:
            if any(symbol_in_lines(n, lines[start - 1 : end]) for n in in_file):
                return True, ""
            return False, f"lines {start}-{end} do not mention {', '.join(in_file)}"
    return False, "the text names nothing found in the file"


def _components(prose: str) -> list[tuple[int, int]]:
    """Character spans of the components under the Key Components heading."""
    marks = headings(prose)
    offsets = [0]
    for line in prose.splitlines(keepends=True):
        offsets.append(offsets[-1] + len(line))
    key = next(
        (h for h in marks if h.level >= 2 and section_key(h.text).startswith("key components")),
        None,
    )
    if key is None:
        return []
    after = [h for h in marks if h.line > key.line]
    end_h = next((h for h in after if h.level <= key.level), None)
    a = offsets[key.line]  # just after the heading line
    b = offsets[end_h.line - 1] if end_h else len(prose)
    subs = [h for h in after if h.level > key.level and (end_h is None or h.line < end_h.line)]
    if subs:
        top = min(h.level for h in subs)
        starts = [offsets[h.line - 1] for h in subs if h.level == top]
        return [(s, e) for s, e in zip(starts, [*starts[1:], b], strict=True)]
    body = prose[a:b]
    items = [m.start() + a for m in _LIST_ITEM.finditer(body)]
    if items:
        return [(s, e) for s, e in zip(items, [*items[1:], b], strict=True)]
    paras = [a] + [m.end() + a for m in re.finditer(r"\n\s*\n", body)]
    spans = [(s, e) for s, e in zip(paras, [*paras[1:], b], strict=True)]
    return [(s, e) for s, e in spans if re.search(r"[A-Za-z]{3,}", prose[s:e])]


def check_page_refs(page: str, markdown: str, facts: RepoFacts) -> PageRefs:
    """Every reference of one page, and the page's component coverage."""
    prose = blank_code(markdown)
    refs = parse_refs(prose, include_unranged=True)
    # what the text names is read without the references themselves (their paths are not names)
    text = list(prose)
    for ref in refs:
        text[ref.span[0] : ref.span[1]] = " " * (ref.span[1] - ref.span[0])
    words = "".join(text)
    out = PageRefs()
    previous_end = 0
    for ref in refs:
        label = f"{ref.path}:{ref.start}" + (f"-{ref.end}" if ref.end != ref.start else "")
        lines = facts.lines(ref.path)
        if lines is None:
            check = RefCheck(ref.path, ref.start, ref.end, False, False, "no such file")
        elif not ref.ranged:
            check = RefCheck(ref.path, None, None, False, False, "no line")
        elif not 1 <= ref.start <= ref.end <= len(lines):  # type: ignore[operator]
            check = RefCheck(
                ref.path, ref.start, ref.end, False, False, f"outside its {len(lines)} lines"
            )
        else:
            claims = _candidates(words, ref, previous_end)
            ok, reason = check_precision(
                claims,
                ref.path,
                ref.start,
                ref.end,
                lines,
                facts.symbols(ref.path),  # type: ignore[arg-type]
            )
            check = RefCheck(ref.path, ref.start, ref.end, True, ok, reason)
        if check.reason:
            out.problems.append(f"{page}: {label}: {check.reason}")
        out.refs.append(check)
        previous_end = ref.span[1]
    spans = _components(prose)
    with_ref = sum(any(a <= r.span[0] < b for r in refs) for a, b in spans)
    out.components = (with_ref, len(spans))
    if spans and with_ref < len(spans):
        out.problems.append(
            f"{page}: {len(spans) - with_ref} of {len(spans)} components without a reference"
        )
    return out
