"""`kind: code_units`: instruction examples about a repository's own code, no teacher model.

Files are parsed (`wikikit.code.symbols`, `wikikit.code.callgraph`) into units at several granularities:

- function: "explain this function" — its docstring, signature, decorators, async/visibility,
  what it calls and what calls it (resolved call edges), each with a `file:line` reference;
- calls: "what calls X?" — the reverse call graph;
- class: a class/struct/interface with its methods;
- file: "summarise this file" — the module doc and its top-level definitions;
- module: "summarise this module" — a directory's files together;
- type_ecosystem: an interface/trait/base class and its implementors.

Answers are assembled only from the code's own doc text and structure. Every reference is
verified against the repository (file, range, symbol name in range) and must be exactly the set
of references the answer text contains, or the example is dropped and counted.
"""

from __future__ import annotations

import ast
import hashlib
import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from wikikit.code.callgraph import CALLABLE_KINDS, CallGraph, Def
from wikikit.code.refs import format_source_ref, parse_refs, verify_ref
from wikikit.code.repo import Repo
from wikikit.code.symbols import CONTAINER_KINDS, Symbol, _clean_doc, extract_symbols
from wikikit.data.sources._repos import iter_source_repos
from wikikit.data.sources.traceability import (
    LANGUAGES,
    fenced,
    first_sentence,
    numbered,
    summarize_doc,
)
from wikikit.example import Example, Message, Ref, example_id

GRANULARITIES = ("file", "module", "class", "function", "type_ecosystem")
MAX_PROMPT_LINES = 200
MAX_LISTED = 12  # members / callers / files listed in one answer
TYPE_KINDS = frozenset({"class", "interface", "struct", "trait", "record", "enum"})


@dataclass
class _File:
    rel: str
    lang: str
    symbols: list[Symbol]
    doc: str | None


@dataclass
class _Cite:
    path: str
    start: int
    end: int
    symbol: str | None


@dataclass
class _Index:
    files: dict[str, _File] = field(default_factory=dict)
    graph: CallGraph = field(default_factory=CallGraph)


def generate(name: str, config: dict, ctx: Any) -> Iterator[Example]:
    languages = set(config.get("languages") or LANGUAGES)
    granularities = set(config.get("granularities") or GRANULARITIES)
    max_file_bytes = int(config.get("max_file_bytes", 1_000_000))
    stats = ctx.stats[name]
    for repo in iter_source_repos(name, config, ctx, max_file_bytes):
        yield from _Miner(repo, ctx.seed, stats, granularities).run(languages)


def unit_metadata(sym: Symbol, lines: list[str], lang: str) -> dict[str, Any]:
    """Decorators/attributes, visibility and async flag of one symbol, read from its lines."""
    decorators = []
    for row in range(sym.start, sym.end + 1):
        text = lines[row - 1].strip()
        if text.startswith(("@", "#[")):
            decorators.append(text)
        elif text and not text.startswith(("//", "#", "/*", "*")):
            break
    sig = sym.signature
    return {
        "kind": sym.kind,
        "decorators": decorators,
        "visibility": _visibility(sym.name, sig, lang),
        "async": bool(re.search(r"(?<![\w$])async(?![\w$])", sig)),
    }


def _visibility(name: str, sig: str, lang: str) -> str:
    if lang == "python":
        if re.fullmatch(r"__\w+__", name):
            return "public"
        return "private" if name.startswith("_") else "public"
    if lang == "go":
        return "exported" if name[:1].isupper() else "unexported"
    if lang == "rust":
        return "public" if re.match(r"pub\b", sig) else "private"
    for word in ("private", "protected", "public", "internal"):
        if re.search(rf"(?<![\w$]){word}(?![\w$])", sig):
            return word
    if lang in ("typescript", "javascript"):
        return "exported" if re.match(r"export\b", sig) else "module"
    return "package" if lang == "java" else "default"


def bases_of(sym: Symbol, lang: str) -> list[str]:
    """Names of the types a class/struct/impl extends or implements, from its declaration line."""
    sig = sym.signature
    names: list[str] = []
    if lang == "python":
        m = re.match(r"class\s+\w+\s*\((.*)\)\s*:", sig)
        if m:
            for part in m.group(1).split(","):
                part = part.strip()
                if part and "=" not in part and not part.startswith("*"):
                    names.append(re.split(r"[.\[]", part)[-1] if "[" not in part else part)
        names = [re.sub(r"\[.*", "", n).split(".")[-1] for n in names]
    elif lang == "rust":
        m = re.match(r"(?:unsafe\s+)?impl\b(?:\s*<[^{]*?>)?\s+([\w:]+)(?:<[^{]*?>)?\s+for\s", sig)
        if m:
            names.append(m.group(1).split("::")[-1])
    elif lang == "csharp":
        m = re.search(r"\b(?:class|struct|record|interface)\s+\w+(?:<[^>]*>)?\s*:\s*([^{]+)", sig)
        if m:
            names = [re.sub(r"<.*", "", p).strip() for p in m.group(1).split(",")]
    else:
        for m in re.finditer(
            r"\b(?:extends|implements)\s+([\w.$<>, ]+?)(?=\{|$|\bimplements\b)", sig
        ):
            for part in re.sub(r"<[^<>]*>", "", m.group(1)).split(","):
                part = part.strip()
                if part:
                    names.append(part.split(".")[-1])
    return [n for n in names if re.fullmatch(r"[A-Za-z_$][\w$]*", n) and n != "object"]


def _file_doc(text: str, lang: str) -> str | None:
    """The module docstring (Python) or the comment block at the top of the file."""
    if lang == "python":
        try:
            return _clean_doc(ast.get_docstring(ast.parse(text)))
        except (SyntaxError, ValueError):
            return None
    block = []
    for line in text.split("\n")[:60]:
        s = line.strip()
        if s.startswith(("//", "/*", "*", "#!")) or (block and s.startswith("*/")):
            if not s.startswith("#!"):
                block.append(re.sub(r"^(/\*+|\*+/|\*|//+!?)\s?", "", s).rstrip("*/ "))
            continue
        if s or block:
            break
    return _clean_doc("\n".join(block))


class _Miner:
    def __init__(self, repo: Repo, seed: int, stats: Any, granularities: set[str]):
        self.repo = repo
        self.seed = seed
        self.stats = stats
        self.granularities = granularities
        self.index = _Index()
        self._verified: dict[tuple, bool] = {}

    def _rng(self, *parts: Any) -> random.Random:
        digest = hashlib.sha256(repr((self.seed, self.repo.id, *parts)).encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))

    # -- pass 1: parse every file, build the call graph -----------------------------------

    def _index(self, languages: set[str]) -> None:
        for rel in self.repo.iter_files():
            lang = self.repo.language_of(rel)
            if lang not in languages:
                continue
            text = "\n".join(self.repo.lines(rel))
            symbols = extract_symbols(rel, text, lang)
            self.stats["files_parsed"] += 1
            if not symbols:
                self.stats["files_without_symbols"] += 1
                continue
            self.stats["symbols"] += len(symbols)
            self.index.files[rel] = _File(rel, lang, symbols, _file_doc(text, lang))
            if "function" in self.granularities:
                self.index.graph.add_file(rel, text, lang, symbols)
        self.index.graph.resolve()
        for key, value in self.index.graph.stats.items():
            self.stats[key] += value

    # -- pass 2: units ----------------------------------------------------------------------

    def run(self, languages: set[str]) -> Iterator[Example]:
        self._index(languages)
        jobs: list[Callable[[], Iterator[Example | None]]] = []
        g = self.granularities
        for f in self.index.files.values():
            if "file" in g:
                jobs.append(lambda f=f: iter([self._file_unit(f)]))
            for sym in f.symbols:
                if "class" in g and sym.kind in CONTAINER_KINDS and sym.kind != "impl":
                    jobs.append(lambda f=f, s=sym: iter([self._class_unit(f, s)]))
                if "function" in g and sym.kind in CALLABLE_KINDS:
                    jobs.append(lambda f=f, s=sym: iter([self._function_unit(f, s)]))
                    jobs.append(lambda f=f, s=sym: iter([self._callers_unit(f, s)]))
        if "module" in g:
            by_dir: dict[str, list[_File]] = defaultdict(list)
            for f in self.index.files.values():
                by_dir[f.rel.rsplit("/", 1)[0] if "/" in f.rel else "."].append(f)
            for d, files in sorted(by_dir.items()):
                if len(files) >= 2:
                    jobs.append(lambda d=d, fs=files: iter([self._module_unit(d, fs)]))
        if "type_ecosystem" in g:
            jobs.extend(lambda e=e: iter([self._ecosystem_unit(*e)]) for e in self._ecosystems())
        # A seeded order, so that max_examples samples every granularity and the whole repo.
        self._rng("jobs").shuffle(jobs)
        for job in jobs:
            for ex in job():
                if ex is not None:
                    yield ex

    def _lines(self, rel: str) -> list[str]:
        return self.repo.lines(rel)

    def _cite(self, path: str, start: int, end: int, symbol: str | None = None) -> _Cite:
        return _Cite(path, start, end, symbol)

    # -- function / callers -----------------------------------------------------------------

    def _function_unit(self, f: _File, sym: Symbol) -> Example | None:
        summary = summarize_doc(sym.doc)
        if summary is None or sym.line_count > MAX_PROMPT_LINES:
            return None
        rng = self._rng(f.rel, "function", sym.qualname, sym.start)
        lines = self._lines(f.rel)
        meta = unit_metadata(sym, lines, f.lang)
        d = Def.of(f.rel, sym)
        callees = self.index.graph.callees_of(d)
        callers = self.index.graph.callers_of(d)
        question = rng.choice(
            [
                f"Explain this {sym.kind} from `{f.rel}`.",
                f"What does `{sym.qualname}` do? It is in `{f.rel}`.",
                f"Walk me through `{sym.name}` (`{f.rel}`), with source references.",
            ]
        )
        user = f"{question}\n\n{fenced(numbered(lines, sym.start, sym.end), f.lang)}"
        flags = [w for w in (("async" if meta["async"] else ""), meta["visibility"]) if w]
        owner = f" of `{sym.parent}`" if sym.parent else ""
        parts = [
            f"`{sym.qualname}` is a{'n' if flags[0][0] in 'aeiou' else ''} {' '.join(flags)} "
            f"{sym.kind}{owner} defined in `{f.rel}`, lines {sym.start}-{sym.end}.",
            summary,
            f"Signature: `{sym.signature}`",
        ]
        if meta["decorators"]:
            parts.append("Decorators: " + ", ".join(f"`{x}`" for x in meta["decorators"]))
        cites = [self._cite(f.rel, sym.start, sym.end, sym.name)]
        parts.append(format_source_ref(f.rel, sym.start, sym.end))
        if callees:
            items = []
            for e in _unique_targets(callees, "callee")[:MAX_LISTED]:
                c = e.callee
                cites.append(self._cite(c.path, c.start, c.end, c.name))
                items.append(
                    f"- `{c.qualname}` ({c.path})\n  {format_source_ref(c.path, c.start, c.end)}"
                )
            parts.append("It calls:\n\n" + "\n".join(items))
        if callers:
            names = ", ".join(f"`{e.caller.qualname}`" for e in _unique_targets(callers, "caller"))
            parts.append(f"It is called by {names}.")
        meta.update(
            {
                "calls": sorted({e.callee.qualname for e in callees}),
                "called_by": sorted({e.caller.qualname for e in callers}),
            }
        )
        return self._example(
            "function", f, cites, user, "\n\n".join(parts), (sym.qualname, sym.start), meta
        )

    def _callers_unit(self, f: _File, sym: Symbol) -> Example | None:
        d = Def.of(f.rel, sym)
        callers = self.index.graph.callers_of(d)
        if not callers:
            return None
        rng = self._rng(f.rel, "calls", sym.qualname, sym.start)
        question = rng.choice(
            [
                f"What calls `{sym.qualname}` (defined in `{f.rel}`)?",
                f"Where is `{sym.qualname}` from `{f.rel}` used? List its callers.",
                f"Who calls the {sym.kind} `{sym.name}` in `{f.rel}`?",
            ]
        )
        cites = [self._cite(f.rel, sym.start, sym.end, sym.name)]
        items = []
        for e in callers[:MAX_LISTED]:
            c = e.caller
            cites.append(self._cite(c.path, e.line, e.line, sym.name))
            items.append(
                f"- `{c.qualname}` in `{c.path}` calls it at line {e.line}.\n"
                f"  {format_source_ref(c.path, e.line, e.line)}"
            )
        more = (
            f"\n\n({len(callers) - MAX_LISTED} more call sites not listed.)"
            if len(callers) > MAX_LISTED
            else ""
        )
        answer = (
            f"`{sym.qualname}` is defined in `{f.rel}`, lines {sym.start}-{sym.end}.\n\n"
            f"{format_source_ref(f.rel, sym.start, sym.end)}\n\n"
            f"It has {len(callers)} resolved call site{'s' if len(callers) != 1 else ''} "
            f"in this repository:\n\n" + "\n".join(items) + more
        )
        meta = {"called_by": sorted({e.caller.qualname for e in callers})}
        return self._example("calls", f, cites, question, answer, (sym.qualname, sym.start), meta)

    # -- class --------------------------------------------------------------------------------

    def _class_unit(self, f: _File, sym: Symbol) -> Example | None:
        members = [
            s
            for s in f.symbols
            if s.parent == sym.name and sym.start <= s.start <= s.end <= sym.end
        ]
        summary = summarize_doc(sym.doc)
        if summary is None and not members:
            return None
        rng = self._rng(f.rel, "class", sym.qualname, sym.start)
        lines = self._lines(f.rel)
        meta = unit_metadata(sym, lines, f.lang)
        meta["bases"] = bases_of(sym, f.lang)
        hi = min(sym.end, sym.start + MAX_PROMPT_LINES - 1)
        shown = [m for m in members if m.end <= hi]
        question = rng.choice(
            [
                f"Describe the {sym.kind} `{sym.name}` in `{f.rel}` and its members.",
                f"Summarise `{sym.qualname}` from `{f.rel}`: what it is for and what it provides.",
            ]
        )
        user = f"{question}\n\n{fenced(numbered(lines, sym.start, hi), f.lang)}"
        cite_end = sym.end if hi == sym.end else hi
        cites = [self._cite(f.rel, sym.start, cite_end, sym.name)]
        parts = [f"`{sym.qualname}` is a {sym.kind} defined in `{f.rel}`."]
        if summary:
            parts.append(summary)
        if meta["bases"]:
            parts.append("It derives from " + ", ".join(f"`{b}`" for b in meta["bases"]) + ".")
        if meta["decorators"]:
            parts.append("Decorators: " + ", ".join(f"`{x}`" for x in meta["decorators"]))
        parts.append(format_source_ref(f.rel, sym.start, cite_end))
        if shown:
            items = []
            for m in shown[:MAX_LISTED]:
                cites.append(self._cite(f.rel, m.start, m.end, m.name))
                doc = summarize_doc(m.doc)
                desc = f": {first_sentence(doc)}" if doc else ""
                items.append(
                    f"- `{m.name}` ({m.kind}){desc}\n  {format_source_ref(f.rel, m.start, m.end)}"
                )
            parts.append("Members:\n\n" + "\n".join(items))
        meta["members"] = [m.name for m in members]
        return self._example(
            "class", f, cites, user, "\n\n".join(parts), (sym.qualname, sym.start), meta
        )

    # -- file and module ----------------------------------------------------------------------

    def _top_level(self, f: _File) -> list[Symbol]:
        return [s for s in f.symbols if s.parent is None and s.kind != "impl"]

    def _file_unit(self, f: _File) -> Example | None:
        top = self._top_level(f)
        if not top:
            return None
        lines = self._lines(f.rel)
        rng = self._rng(f.rel, "file")
        question = rng.choice(
            [
                f"Summarise the file `{f.rel}`.",
                f"What is in `{f.rel}`? Give an overview with source references.",
            ]
        )
        user = question
        if len(lines) <= MAX_PROMPT_LINES:
            user += f"\n\n{fenced(numbered(lines, 1, len(lines)), f.lang)}"
        doc = summarize_doc(f.doc)
        parts = [f"`{f.rel}` is a {f.lang} file of {len(lines)} lines."]
        if doc:
            parts.append(doc)
        parts.append(f"It defines {len(top)} top-level item{'s' if len(top) != 1 else ''}:")
        cites = []
        items = []
        for s in top[:MAX_LISTED]:
            cites.append(self._cite(f.rel, s.start, s.end, s.name))
            sdoc = summarize_doc(s.doc)
            desc = f": {first_sentence(sdoc)}" if sdoc else ""
            items.append(
                f"- `{s.name}` ({s.kind}){desc}\n  {format_source_ref(f.rel, s.start, s.end)}"
            )
        parts.append("\n".join(items))
        meta = {"top_level": [s.name for s in top], "doc": bool(doc)}
        return self._example("file", f, cites, user, "\n\n".join(parts), (f.rel,), meta)

    def _module_unit(self, directory: str, files: list[_File]) -> Example | None:
        rng = self._rng(directory, "module")
        files = sorted(files, key=lambda f: f.rel)
        question = rng.choice(
            [
                f"Summarise the module `{directory}/`.",
                f"What does the `{directory}` package contain? Cite the main pieces.",
            ]
        )
        listing = "\n".join(f"- {f.rel}" for f in files)
        user = f"{question}\n\nFiles:\n{listing}"
        langs = sorted({f.lang for f in files})
        parts = [f"`{directory}/` holds {len(files)} parsed {'/'.join(langs)} files."]
        cites = []
        items = []
        for f in files[:MAX_LISTED]:
            top = self._top_level(f)
            doc = summarize_doc(f.doc)
            desc = f" {first_sentence(doc)}" if doc else ""
            key = next((s for s in top if summarize_doc(s.doc)), top[0] if top else None)
            line = f"- `{f.rel}`:{desc} ({len(top)} top-level definitions)"
            if key is not None:
                cites.append(self._cite(f.rel, key.start, key.end, key.name))
                line += f"\n  Key: `{key.name}` ({key.kind}) {format_source_ref(f.rel, key.start, key.end)}"
            items.append(line)
        if not cites:
            return None
        parts.append("\n".join(items))
        if len(files) > MAX_LISTED:
            parts.append(f"({len(files) - MAX_LISTED} more files not listed.)")
        meta = {"files": [f.rel for f in files]}
        return self._example(
            "module", files[0], cites, user, "\n\n".join(parts), (directory,), meta, path=directory
        )

    # -- type ecosystems ----------------------------------------------------------------------

    def _ecosystems(self) -> list[tuple[_File, Symbol, list[tuple[_File, Symbol]]]]:
        types: dict[str, list[tuple[_File, Symbol]]] = defaultdict(list)
        implementors: dict[str, list[tuple[_File, Symbol]]] = defaultdict(list)
        for f in self.index.files.values():
            for s in f.symbols:
                if s.kind in TYPE_KINDS:
                    types[s.name].append((f, s))
                if s.kind in TYPE_KINDS or s.kind == "impl":
                    for b in bases_of(s, f.lang):
                        if b != s.name:
                            implementors[b].append((f, s))
        out = []
        for base, impls in sorted(implementors.items()):
            if len(types.get(base, [])) != 1:
                continue  # unknown or ambiguous base: not ours to describe
            bf, bsym = types[base][0]
            out.append((bf, bsym, sorted(impls, key=lambda p: (p[0].rel, p[1].start))))
        return out

    def _ecosystem_unit(
        self, bf: _File, base: Symbol, impls: list[tuple[_File, Symbol]]
    ) -> Example | None:
        rng = self._rng(bf.rel, "ecosystem", base.qualname)
        word = {"trait": "trait", "interface": "interface"}.get(base.kind, "base class")
        question = rng.choice(
            [
                f"What implements the {word} `{base.name}` (`{bf.rel}`)?",
                f"Describe the type ecosystem around `{base.name}`: the {word} and its implementors.",
            ]
        )
        parts = [f"`{base.name}` is a {base.kind} defined in `{bf.rel}`."]
        doc = summarize_doc(base.doc)
        if doc:
            parts.append(first_sentence(doc))
        parts.append(format_source_ref(bf.rel, base.start, base.end))
        cites = [self._cite(bf.rel, base.start, base.end, base.name)]
        items = []
        for f, s in impls[:MAX_LISTED]:
            cites.append(self._cite(f.rel, s.start, s.end, s.name))
            sdoc = summarize_doc(s.doc)
            desc = f": {first_sentence(sdoc)}" if sdoc else ""
            how = "implements it" if s.kind == "impl" else f"a {s.kind}"
            items.append(
                f"- `{s.name}` in `{f.rel}` ({how}){desc}\n  {format_source_ref(f.rel, s.start, s.end)}"
            )
        parts.append(
            f"{len(impls)} type{'s' if len(impls) != 1 else ''} in this repository "
            f"build on it:\n\n" + "\n".join(items)
        )
        meta = {"base": base.name, "implementors": [s.name for _, s in impls]}
        return self._example(
            "type_ecosystem", bf, cites, question, "\n\n".join(parts), (base.qualname,), meta
        )

    # -- verification and assembly ----------------------------------------------------------

    def _example(
        self,
        unit: str,
        f: _File,
        cites: list[_Cite],
        user: str,
        answer: str,
        key: tuple,
        meta: dict[str, Any],
        path: str | None = None,
    ) -> Example | None:
        for c in cites:
            key_ = (c.path, c.start, c.end, c.symbol)
            if key_ not in self._verified:  # the same callee is cited from many examples
                self._verified[key_] = verify_ref(self.repo, *key_) is None
            if not self._verified[key_]:
                self.stats["ref_rejected"] += 1
                return None
        written = {(m.path, m.start, m.end) for m in parse_refs(answer)}
        if written != {(c.path, c.start, c.end) for c in cites}:
            self.stats["ref_mismatch"] += 1
            return None
        refs: list[Ref] = []
        for c in cites:
            r = Ref(c.path, c.start, c.end)
            if r not in refs:
                refs.append(r)
        self.stats[f"examples_{unit}"] += 1
        return Example(
            id=example_id("code_units", self.repo.id, path or f.rel, unit, key),
            messages=[Message("user", user), Message("assistant", answer)],
            source="code_units",
            category="code_units",
            language=f.lang,
            repo=self.repo.id,
            refs=refs,
            meta={"unit": unit, "path": path or f.rel, **meta},
        )


def _unique_targets(edges: list, side: str) -> list:
    seen = set()
    out = []
    for e in edges:
        d = getattr(e, side)
        if d not in seen:
            seen.add(d)
            out.append(e)
    return out
