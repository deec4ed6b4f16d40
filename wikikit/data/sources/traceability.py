"""`kind: traceability`: examples that teach SemanticWiki's `file:line` source references.

From real code (parsed with `wikikit.code.symbols`) it builds three kinds of example:

- add_refs: plain documentation (from docstrings / doc comments) → the same text with a
  ``**Source:** [`path:a-b`](path#La-Lb)`` line after each section;
- document_component: line-numbered code of one component → a wiki section with references and
  a 5-30 line snippet in a fenced block of the right language;
- where_is: "where is X implemented?" over line-numbered code → the file, lines and reference.

Every line range a prompt asks about is visible in the prompt's numbered code, and every
reference is verified (file exists, range inside it, symbol name in those lines) before an
example is yielded. Phrasing varies by templates chosen with a seeded RNG; no LLM is used.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from wikikit.code.refs import format_source_ref, parse_refs, verify_ref
from wikikit.code.repo import Repo
from wikikit.code.symbols import CONTAINER_KINDS, Symbol, extract_symbols
from wikikit.data.sources._repos import add_repo_stats, is_held_out, open_source_repo
from wikikit.example import Example, Message, Ref, example_id

LANGUAGES = ("python", "typescript", "javascript", "go", "java", "rust", "c", "cpp", "csharp")
TASKS = ("add_refs", "document_component", "where_is")
DEFAULT_PER_FILE = 5
SNIPPET_MIN, SNIPPET_MAX = 5, 30
MAX_PROMPT_LINES = 200  # numbered code shown in one prompt
MAX_SYMBOL_LINES = 150  # longer symbols are referenced only through their header
SUMMARY_CHARS = 700


@dataclass
class _Ref:
    path: str
    start: int
    end: int
    symbol: str


# -- entry point -----------------------------------------------------------------------------


def generate(name: str, config: dict, ctx: Any) -> Iterator[Example]:
    languages = set(config.get("languages") or LANGUAGES)
    tasks = [t for t in TASKS if t in (config.get("tasks") or TASKS)]
    per_file = int(config.get("per_file", DEFAULT_PER_FILE))
    max_examples = config.get("max_examples")
    max_file_bytes = int(config.get("max_file_bytes", 1_000_000))
    stats = ctx.stats[name]
    produced = 0
    for i, spec in enumerate(config.get("repos") or []):
        if is_held_out(spec, ctx):
            stats["holdout_repos"] += 1
            continue
        repo = open_source_repo(spec, i, ctx, max_file_bytes)
        if is_held_out(spec, ctx, repo):
            stats["holdout_repos"] += 1
            continue
        builder = _Builder(repo, ctx.seed, stats)
        try:
            for ex in builder.examples(languages, tasks, per_file):
                yield ex
                produced += 1
                if max_examples and produced >= max_examples:
                    return
        finally:
            add_repo_stats(stats, repo)


# -- text helpers ----------------------------------------------------------------------------

_DOC_STOP = re.compile(
    r"^(:(?:param|parameter|arg|argument|key|keyword|type|raises?|returns?|rtype|var|ivar|cvar|"
    r"meta|except|exception|yields?)\b|\.\. |@\w|>>>|Args:|Arguments:|Returns?:|Raises:|Yields?:|Parameters\b|Examples?:?$|"
    r"Example usage|Notes?:$|See also|Deprecated|#\s*(Examples|Panics|Errors|Safety)\b|"
    r"-{3,}|={3,}|<param|<returns)",
    re.I,
)


def summarize_doc(doc: str | None, max_chars: int = SUMMARY_CHARS) -> str | None:
    """The descriptive part of a docstring/doc comment as markdown prose, or None."""
    if not doc:
        return None
    paragraphs: list[str] = []
    current: list[str] = []
    for raw in doc.split("\n"):
        line = raw.strip()
        if _DOC_STOP.match(line):
            break
        if not line:
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        current.append(line)
    if current:
        paragraphs.append(" ".join(current))
    text = ""
    for p in paragraphs:
        candidate = f"{text}\n\n{p}" if text else p
        if len(candidate) > max_chars and text:
            break
        text = candidate
    text = re.sub(r"``([^`]+)``", r"`\1`", text)  # reST literals
    text = re.sub(r":[\w:]+:`~?([^`<]+?)(?:\s*<[^>]*>)?`", r"`\1`", text)  # :func:`x` → `x`
    text = re.sub(r"\{@(?:link|code|linkplain)\s+([^}]+)\}", r"`\1`", text)  # JavaDoc
    text = re.sub(r"[ \t]+", " ", text).strip()
    if text.endswith(":"):
        text = text[:-1].rstrip() + "."
    if len(text) > max_chars:
        cut = text[:max_chars].rsplit(" ", 1)[0]
        text = cut.rstrip(",;:") + "…"
    return text if len(text) >= 15 and re.search(r"[A-Za-z]{3}", text) else None


def first_sentence(text: str) -> str:
    m = re.match(r"(.+?[.!?])(\s|$)", text, re.S)
    return (m.group(1) if m else text).strip()


def numbered(lines: list[str], start: int, end: int) -> str:
    """Lines start..end (1-based, inclusive) with right-aligned line numbers."""
    width = len(str(end))
    return "\n".join(f"{n:>{width}} | {lines[n - 1]}" for n in range(start, end + 1))


def fenced(body: str, lang: str) -> str:
    """A fenced block whose fence is longer than any backtick run inside it."""
    longest = max((len(m) for m in re.findall(r"`{3,}", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{body}\n{fence}"


def _describe_kind(sym: Symbol) -> str:
    return {"impl": "impl block", "type": "type alias", "record": "record"}.get(sym.kind, sym.kind)


# -- building examples -----------------------------------------------------------------------


class _Builder:
    def __init__(self, repo: Repo, seed: int, stats: Any):
        self.repo = repo
        self.seed = seed
        self.stats = stats

    def _rng(self, *parts: Any) -> random.Random:
        digest = hashlib.sha256(repr((self.seed, self.repo.id, *parts)).encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))

    def examples(self, languages: set[str], tasks: list[str], per_file: int) -> Iterator[Example]:
        files = [rel for rel in self.repo.iter_files() if self.repo.language_of(rel) in languages]
        # Visit files in a seeded order so max_examples samples the whole repository.
        self._rng("file-order").shuffle(files)
        for rel in files:
            yield from self._file_examples(rel, tasks, per_file)

    def _file_examples(self, rel: str, tasks: list[str], per_file: int) -> Iterator[Example]:
        lang = self.repo.language_of(rel) or "unknown"
        lines = self.repo.lines(rel)
        symbols = extract_symbols(rel, "\n".join(lines), lang)
        self.stats["files_parsed"] += 1
        self.stats["symbols"] += len(symbols)
        if not symbols:
            self.stats["files_without_symbols"] += 1
            return
        ctx = _FileContext(rel, lang, lines, symbols)
        makers = {
            "add_refs": self._add_refs_candidates,
            "document_component": self._document_candidates,
            "where_is": self._where_is_candidates,
        }
        rng = self._rng(rel, "pick")
        queues = []
        for task in tasks:
            cands = makers[task](ctx)
            rng.shuffle(cands)
            queues.append(cands)
        # Round-robin over tasks so each file contributes a mix of templates.
        made = 0
        while made < per_file and any(queues):
            for q in queues:
                while q and made < per_file:
                    ex = q.pop()()
                    if ex is not None:
                        made += 1
                        yield ex
                        break

    # Each *_candidates returns callables so that only chosen examples are rendered.

    def _where_is_candidates(self, fc: _FileContext) -> list:
        out = []
        for sym in fc.symbols:
            if sym.kind == "impl" or re.fullmatch(r"__\w+__", sym.name):
                continue
            if sym.line_count > MAX_PROMPT_LINES - 10:
                continue
            out.append(lambda s=sym: self._where_is(fc, s))
        return out

    def _document_candidates(self, fc: _FileContext) -> list:
        out = []
        for sym in fc.symbols:
            if summarize_doc(sym.doc) is None or sym.kind == "impl":
                continue
            if sym.parent and sym.kind not in CONTAINER_KINDS and sym.line_count < SNIPPET_MIN:
                continue
            if sym.line_count < SNIPPET_MIN:
                continue
            out.append(lambda s=sym: self._document(fc, s))
        return out

    def _add_refs_candidates(self, fc: _FileContext) -> list:
        documented = [
            s
            for s in fc.symbols
            if summarize_doc(s.doc) and s.line_count <= MAX_SYMBOL_LINES and s.kind != "impl"
        ]
        groups: list[list[Symbol]] = []
        group: list[Symbol] = []
        for sym in documented:
            lo = min([sym.start, *(s.start for s in group)])
            hi = max([sym.end, *(s.end for s in group)])
            if group and (len(group) >= 4 or hi - lo + 1 > MAX_PROMPT_LINES):
                groups.append(group)
                group = []
            group.append(sym)
        if group:
            groups.append(group)
        return [lambda g=g: self._add_refs(fc, g) for g in groups]

    # -- the three templates ---------------------------------------------------------------

    def _where_is(self, fc: _FileContext, sym: Symbol) -> Example | None:
        rng = self._rng(fc.rel, "where_is", sym.qualname, sym.start)
        # Context around the symbol, never so much that the symbol itself is cut off.
        budget = MAX_PROMPT_LINES - sym.line_count
        pad_before = min(rng.randint(0, 25), budget)
        pad_after = min(rng.randint(0, 25), budget - pad_before)
        lo = max(1, sym.start - pad_before)
        hi = min(len(fc.lines), sym.end + pad_after)
        label = (
            f"`{sym.qualname}`" if rng.random() < 0.5 else f"the {_describe_kind(sym)} `{sym.name}`"
        )
        question = rng.choice(
            [
                f"Where is {label} implemented?",
                f"Which file and lines define {label}?",
                f"I'm looking for {label}. Where is it defined?",
                f"Point me to the implementation of {label}, with a source reference.",
                f"Find where {label} lives in this code and cite it.",
            ]
        )
        intro = rng.choice(
            [
                f"Here is `{fc.rel}` with line numbers:",
                f"Excerpt of `{fc.rel}` (lines {lo}-{hi}):",
                f"From `{fc.rel}`:",
            ]
        )
        user = f"{intro}\n\n{fenced(numbered(fc.lines, lo, hi), fc.lang)}\n\n{question}"
        where = f"`{fc.rel}`, lines {sym.start}-{sym.end}"
        owner = f", a {sym.kind} of `{sym.parent}`" if sym.parent else ""
        opening = rng.choice(
            [
                f"`{sym.qualname}` is implemented in {where}{owner}.",
                f"{_cap(_describe_kind(sym))} `{sym.name}` is defined in {where}{owner}.",
                f"You'll find `{sym.qualname}` in {where}{owner}.",
            ]
        )
        parts = [opening]
        summary = summarize_doc(sym.doc)
        if summary:
            parts.append(first_sentence(summary))
        ref = _Ref(fc.rel, sym.start, sym.end, sym.name)
        parts.append(format_source_ref(ref.path, ref.start, ref.end))
        parts.append(fenced(fc.snippet(sym.start, sym.end), fc.lang))
        answer = "\n\n".join(parts)
        return self._example(
            "where_is", fc, [ref], user, answer, key=(sym.qualname, sym.start), shown=(lo, hi)
        )

    def _document(self, fc: _FileContext, sym: Symbol) -> Example | None:
        rng = self._rng(fc.rel, "document", sym.qualname, sym.start)
        members = [
            s
            for s in fc.symbols
            if s.parent == sym.name and sym.start <= s.start and s.end <= sym.end and s is not sym
        ]
        # Show the whole component when it fits; otherwise its first MAX_PROMPT_LINES lines,
        # and reference the header (and only the members) visible there.
        lo = sym.start
        hi = min(sym.end, lo + MAX_PROMPT_LINES - 1)
        if sym.end <= hi:
            main = _Ref(fc.rel, sym.start, sym.end, sym.name)
        else:
            header_end = min((m.start for m in members), default=hi) - 1
            header_end = fc.trim_blank_end(sym.start, min(header_end, hi))
            main = _Ref(fc.rel, sym.start, header_end, sym.name)
        if main.end - main.start + 1 < SNIPPET_MIN:
            return None
        shown = [
            m
            for m in members
            if m.end <= hi and summarize_doc(m.doc) and not m.name.startswith("_")
        ][:5]
        instruction = rng.choice(
            [
                f"Document the `{sym.name}` {_describe_kind(sym)} from `{fc.rel}` for the "
                "architecture wiki. Cite the source with line numbers and include a short snippet.",
                f"Write a wiki section about `{sym.qualname}` (in `{fc.rel}`). Every claim needs a "
                "`file:line` source reference.",
                f"Explain what `{sym.name}` does, with a source reference and a code snippet. "
                f"The code is from `{fc.rel}`.",
                f"Document this component from `{fc.rel}` in SemanticWiki style.",
            ]
        )
        user = f"{instruction}\n\n{fenced(numbered(fc.lines, lo, hi), fc.lang)}"
        summary = summarize_doc(sym.doc) or ""
        owner = f" of `{sym.parent}`" if sym.parent else ""
        lead = rng.choice(
            [
                f"`{sym.name}` is a {_describe_kind(sym)}{owner} defined in `{fc.rel}`.",
                f"The {_describe_kind(sym)} `{sym.qualname}` lives in `{fc.rel}`.",
                f"`{fc.rel}` defines the {_describe_kind(sym)} `{sym.name}`{owner}.",
            ]
        )
        heading = rng.choice(
            [f"## `{sym.qualname}`", f"## {sym.name}", f"## The `{sym.name}` {_describe_kind(sym)}"]
        )
        parts = [heading, f"{lead} {summary}".strip()]
        parts.append(format_source_ref(main.path, main.start, main.end))
        parts.append(fenced(fc.snippet(main.start, main.end), fc.lang))
        refs = [main]
        if shown:
            parts.append(rng.choice(["### Key members", "### Members", "### What it provides"]))
            items = []
            for m in shown:
                ref = _Ref(fc.rel, m.start, m.end, m.name)
                refs.append(ref)
                items.append(
                    f"- **`{m.name}`** ({m.kind}): {first_sentence(summarize_doc(m.doc) or '')}\n"
                    f"  {format_source_ref(ref.path, ref.start, ref.end)}"
                )
            parts.append("\n".join(items))
        answer = "\n\n".join(parts)
        return self._example(
            "document_component",
            fc,
            refs,
            user,
            answer,
            key=(sym.qualname, sym.start),
            shown=(lo, hi),
        )

    def _add_refs(self, fc: _FileContext, group: list[Symbol]) -> Example | None:
        rng = self._rng(fc.rel, "add_refs", *(s.start for s in group))
        lo = min(s.start for s in group)
        hi = max(s.end for s in group)
        plain_sections = []
        referenced_sections = []
        refs = []
        for s in group:
            body = summarize_doc(s.doc) or ""
            title = f"### `{s.qualname}`"
            ref = _Ref(fc.rel, s.start, s.end, s.name)
            refs.append(ref)
            plain_sections.append(f"{title}\n\n{body}")
            referenced_sections.append(
                f"{title}\n\n{body}\n\n{format_source_ref(ref.path, ref.start, ref.end)}"
            )
        draft = "\n\n".join(plain_sections)
        instruction = rng.choice(
            [
                "Add source references to this documentation. After each section, add a line in "
                "SemanticWiki's format: **Source:** [`path:start-end`](path#Lstart-Lend).",
                "This draft wiki text has no citations. Insert a `file:line` source reference for "
                "every component it describes, using the line numbers of the code below.",
                "Annotate the documentation below with source references (SemanticWiki style) so "
                "that each section points at the exact lines that implement it.",
            ]
        )
        user = (
            f"{instruction}\n\nCode (`{fc.rel}`):\n\n{fenced(numbered(fc.lines, lo, hi), fc.lang)}"
            f"\n\nDocumentation:\n\n{draft}"
        )
        answer = "\n\n".join(referenced_sections)
        key = tuple((s.qualname, s.start) for s in group)
        return self._example("add_refs", fc, refs, user, answer, key=key, shown=(lo, hi))

    # -- verification and assembly ---------------------------------------------------------

    def _example(
        self,
        task: str,
        fc: _FileContext,
        refs: list[_Ref],
        user: str,
        answer: str,
        key: Any,
        shown: tuple[int, int],
    ) -> Example | None:
        # A reference must point at lines the prompt shows, or the model learns to guess.
        if any(r.path != fc.rel or r.start < shown[0] or r.end > shown[1] for r in refs):
            self.stats["ref_not_shown"] += 1
            return None
        for r in refs:
            reason = verify_ref(self.repo, r.path, r.start, r.end, r.symbol)
            if reason is not None:
                # Should not happen: the symbol table and the file disagree. Count, never emit.
                self.stats["ref_rejected"] += 1
                return None
        # The text must say exactly the references we verified, nothing more.
        written = {(m.path, m.start, m.end) for m in parse_refs(answer)}
        if written != {(r.path, r.start, r.end) for r in refs}:
            self.stats["ref_mismatch"] += 1
            return None
        unique: list[Ref] = []
        for r in refs:
            ref = Ref(r.path, r.start, r.end)
            if ref not in unique:
                unique.append(ref)
        self.stats[f"examples_{task}"] += 1
        return Example(
            id=example_id("traceability", self.repo.id, fc.rel, task, key),
            messages=[Message("user", user), Message("assistant", answer)],
            source="traceability",
            category="traceability",
            language=fc.lang,
            repo=self.repo.id,
            refs=unique,
            meta={
                "task": task,
                "path": fc.rel,
                "symbols": [
                    {"path": r.path, "start": r.start, "end": r.end, "symbol": r.symbol}
                    for r in refs
                ],
            },
        )


@dataclass
class _FileContext:
    rel: str
    lang: str
    lines: list[str]
    symbols: list[Symbol]

    def snippet(self, start: int, end: int) -> str:
        """The first SNIPPET_MAX lines of a referenced range, verbatim."""
        return "\n".join(self.lines[start - 1 : min(end, start + SNIPPET_MAX - 1)])

    def trim_blank_end(self, start: int, end: int) -> int:
        while end > start and not self.lines[end - 1].strip():
            end -= 1
        return end


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]
