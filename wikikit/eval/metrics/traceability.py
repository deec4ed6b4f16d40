"""Source traceability of generated documentation, against the files the prompt showed.

Three shares, and one headline:
- coverage: sections (or paragraphs, when the answer has no headings) that carry a reference;
- resolved: references whose path is one of the prompt's files and whose line range lies inside it;
- precision: resolved references whose lines contain something the text they support names
  (an identifier such as `JwtProvider` or `verify_token`; failing those, a content word);
- traceability (headline): sections with at least one resolved, precise reference.
References are parsed by wikikit.code.refs (the one parser); fenced code is not prose and is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from wikikit.code.refs import RefMatch, parse_refs, symbol_in_lines
from wikikit.code.repo import split_lines
from wikikit.eval.metrics import Ratio, share

_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
_HEADING = re.compile(r"^#{1,6}\s+\S", re.M)
_BACKTICKED = re.compile(r"`([^`\n]+)`")
_IDENT = re.compile(
    r"\b(?:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+|[a-z]+[A-Z]\w*|[A-Z][a-z0-9]+[A-Z]\w*|[A-Za-z]\w*_\w+)\b"
)
_WORD = re.compile(r"[A-Za-z]{5,}")
# Words that say nothing about which lines were meant.
_STOP = frozenset(
    [
        "about",
        "above",
        "after",
        "again",
        "against",
        "because",
        "before",
        "being",
        "below",
        "between",
        "class",
        "classes",
        "function",
        "functions",
        "method",
        "methods",
        "module",
        "modules",
        "class",
        "file",
        "files",
        "source",
        "sources",
        "value",
        "values",
        "which",
        "while",
        "would",
        "could",
        "should",
        "their",
        "there",
        "these",
        "those",
        "other",
        "every",
        "where",
        "what",
        "when",
        "with",
        "within",
        "without",
        "using",
        "used",
        "uses",
        "return",
        "returns",
        "called",
        "calls",
        "first",
        "second",
        "third",
    ]
)


@dataclass
class TraceScore:
    coverage: Ratio
    resolved: Ratio
    precision: Ratio
    traceability: Ratio
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, float]:
        return {
            k: share(getattr(self, k))
            for k in ("coverage", "resolved", "precision", "traceability")
        }


def blank_code(text: str) -> str:
    """Fenced blocks replaced by spaces (offsets kept), so refs and prose come from text only."""
    return _FENCE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def units(text: str) -> list[tuple[int, int]]:
    """Character spans of the answer's sections (by heading), or its paragraphs if it has none.

    A unit without prose (only a heading, or only code) is not a unit.
    """
    starts = [m.start() for m in _HEADING.finditer(text)]
    if starts:
        bounds = ([0] if starts[0] > 0 else []) + starts + [len(text)]
    else:
        bounds = [0] + [m.end() for m in re.finditer(r"\n\s*\n", text)] + [len(text)]
    spans = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        body = re.sub(r"^#{1,6}\s.*$", "", text[a:b], flags=re.M)
        if re.search(r"[A-Za-z]{3,}", body):
            spans.append((a, b))
    return spans


def named_things(claim: str, ref_paths: set[str]) -> tuple[list[str], list[str]]:
    """Identifiers the claim names (backticked or code-shaped), then its content words."""
    idents: list[str] = []
    for m in _BACKTICKED.finditer(claim):
        idents.extend(re.findall(r"[A-Za-z_]\w{2,}", m.group(1)))
    idents.extend(_IDENT.findall(_BACKTICKED.sub(" ", claim)))
    path_parts = {p for path in ref_paths for p in re.split(r"[/.]", path)}
    idents = [i for i in dict.fromkeys(idents) if i not in path_parts]
    words = [w for w in dict.fromkeys(_WORD.findall(claim)) if w.lower() not in _STOP]
    return idents, words


def _claim(prose: str, ref: RefMatch, previous_end: int, unit_start: int) -> str:
    """The text a reference supports: from the previous reference (or the unit's start) to it."""
    text = prose[max(previous_end, unit_start) : ref.span[0]]
    return text if re.search(r"[A-Za-z]{3,}", text) else prose[unit_start : ref.span[0]]


def is_precise(claim: str, lines: list[str], ref_paths: set[str]) -> bool:
    idents, words = named_things(claim, ref_paths)
    if idents:
        return any(symbol_in_lines(i, lines) for i in idents)
    body = "\n".join(lines).lower()
    return any(w.lower() in body for w in words)


def _normal(path: str) -> str:
    while path.startswith(("./", "/")):
        path = path[1:] if path.startswith("/") else path[2:]
    return path


def score_traceability(answer: str, files: Mapping[str, str]) -> TraceScore:
    """Score one answer against the prompt's files ({path: text})."""
    prose = blank_code(answer or "")
    # Lines end at "\n" only, as the file's own numbering (str.splitlines would also cut at
    # a form feed or U+2028 inside the code and shift every later line number).
    known = {_normal(p): split_lines(t) for p, t in files.items()}
    refs = parse_refs(prose, include_unranged=True)
    spans = units(prose)
    problems: list[str] = []
    resolved = precise = 0
    good_units: set[int] = set()
    ref_units: set[int] = set()
    ref_paths = {_normal(r.path) for r in refs}
    previous_end = 0
    for ref in refs:
        unit = next((i for i, (a, b) in enumerate(spans) if a <= ref.span[0] < b), None)
        if unit is not None:
            ref_units.add(unit)
        path = _normal(ref.path)
        lines = known.get(path)
        label = f"{ref.path}:{ref.start}-{ref.end}" if ref.ranged else ref.path
        if lines is None:
            problems.append(f"{label}: no such file in the prompt")
        elif not ref.ranged:
            problems.append(f"{label}: no line range")
        elif not (1 <= ref.start <= ref.end <= len(lines)):  # type: ignore[operator]
            problems.append(f"{label}: outside the file's {len(lines)} lines")
        else:
            resolved += 1
            start = spans[unit][0] if unit is not None else 0
            claim = _claim(prose, ref, previous_end, start)
            if is_precise(claim, lines[ref.start - 1 : ref.end], ref_paths):  # type: ignore[operator]
                precise += 1
                if unit is not None:
                    good_units.add(unit)
            else:
                problems.append(f"{label}: the lines do not contain what the text names")
        previous_end = ref.span[1]
    n_units = max(len(spans), 1)  # an empty answer is one untraced unit, not a free pass
    return TraceScore(
        coverage=(len(ref_units), n_units),
        resolved=(resolved, len(refs)),
        precision=(precise, resolved),
        traceability=(len(good_units), n_units),
        problems=problems,
    )
