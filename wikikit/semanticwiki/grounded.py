"""`answerer: {kind: grounded}`: SemanticWiki's calls answered from the repository's code alone.

No model and no teacher: every answer is built from what a parser shows (wikikit.code.symbols,
wikikit.code.callgraph) and every reference is checked against the file before it is written
(wikikit.code.refs.verify_ref: the line exists and names the symbol).

- plan: the prompt's listed Python files grouped into pages by package folder (split into one
  page per module while there are fewer pages than the prompt's `Required pages: N-M`), an
  `Architecture Overview` page of the packages' `__init__.py`, each page with the fields the
  client's validation reads (title, filename, type, context, files as a list;
  wikikit.semanticwiki.plan_check);
- page: `# <title>`; an overview naming the page's files (and each module docstring's first
  sentence); a section per top-level class and function of the page's files (the planned ones
  and those the prompt's code context shows) with its docstring's first sentence, or a sentence
  built from its definition line, citing `📄 [path:line](../path#Lline)` at the line that names
  it; the call-graph edges among those symbols, in prose with the call's line and as a Mermaid
  flowchart; the related pages the prompt lists;
- index: the project's pages, grouped by type.

What this can teach a model: the client's formats, exact references and the plan's discipline.
It cannot teach what the code is for beyond its docstrings, names and structure.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import posixpath
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from wikikit.code.callgraph import CallGraph, Edge
from wikikit.code.refs import format_local_ref, verify_ref
from wikikit.code.repo import Repo
from wikikit.code.symbols import Symbol, extract_symbols
from wikikit.semanticwiki.convert import slugify
from wikikit.semanticwiki.endpoint import Answer, ChatRequest
from wikikit.semanticwiki.protocol import (
    parse_index_prompt,
    parse_page_prompt,
    parse_plan_prompt,
)

VERSION = 1  # bump when the answers change: it is part of a recording's identity
TOP_KINDS = ("class", "function")
MAX_SECTIONS = 24  # per page: a 4,096-token answer holds about this many
MAX_EDGES = 30
MAX_SENTENCE = 240


@dataclass
class _Page:
    title: str
    filename: str
    type: str
    context: str
    files: list[str] = field(default_factory=list)


def first_sentence(doc: str | None) -> str | None:
    """A docstring's first sentence (its first paragraph up to the first `. `), one line."""
    if not doc:
        return None
    para = " ".join(doc.strip().split("\n\n", 1)[0].split())
    if para.startswith(("..", ">>>", ":")) or not re.search(r"[A-Za-z]{3}", para):
        return None  # a reST directive, a doctest or a field list: no sentence to quote
    m = re.search(r"(?<=[.!?])\s", para)
    text = para[: m.start()] if m else para
    if len(text) > MAX_SENTENCE:
        text = text[: MAX_SENTENCE - 1].rsplit(" ", 1)[0] + "…"
    return text or None


def _module(path: str) -> str:
    mod = path[: -len(".py")] if path.endswith(".py") else path
    mod = mod.replace("/", ".")
    return mod[: -len(".__init__")] if mod.endswith(".__init__") else mod


class _Code:
    """The repository's Python symbols and call graph, read once."""

    def __init__(self, repo: Repo):
        self.repo = repo
        self.symbols: dict[str, list[Symbol]] = {}
        self.module_doc: dict[str, str | None] = {}
        self.trees: dict[str, ast.Module | None] = {}
        self.graph = CallGraph()
        for path in repo.iter_files():
            if not path.endswith(".py"):
                continue
            text = repo.read_text(path)
            syms = extract_symbols(path, text, "python")
            self.symbols[path] = syms
            try:
                self.trees[path] = ast.parse(text)
            except (SyntaxError, ValueError):
                self.trees[path] = None
            tree = self.trees[path]
            self.module_doc[path] = ast.get_docstring(tree) if tree is not None else None
            self.graph.add_file(path, text, "python", syms)
        self.graph.resolve()

    def _module_file(self, path: str, module: str | None, level: int) -> str | None:
        """The repository file an import of `module` (at relative `level`) in `path` reads."""
        if level:
            base = posixpath.dirname(path).split("/") if posixpath.dirname(path) else []
            base = base[: len(base) - (level - 1)] if level > 1 else base
            parts = [*base, *(module.split(".") if module else [])]
        else:
            parts = (module or "").split(".")
        stem = "/".join(p for p in parts if p)
        return next((f for f in (f"{stem}.py", f"{stem}/__init__.py") if f in self.symbols), None)

    def imports(self, path: str) -> list[tuple[Symbol, str, int, str, str | None]]:
        """(symbol, its file, the import's line, the importing file, the local alias) for each
        class or function of this repository a module-level `from ... import` names."""
        tree = self.trees.get(path)
        out = []
        for node in tree.body if tree is not None else []:
            if not isinstance(node, ast.ImportFrom):
                continue
            source = self._module_file(path, node.module, node.level)
            if source is None or source == path:
                continue
            for alias in node.names:
                sym = next((s for s in self.top_level(source) if s.name == alias.name), None)
                line = getattr(alias, "lineno", node.lineno)
                if sym is not None and verify_ref(self.repo, path, line, line, sym.name) is None:
                    out.append((sym, source, line, path, alias.asname))
        return out

    def definition(self, path: str, sym: Symbol) -> ast.AST | None:
        """The module-level `def`/`class` node of a top-level symbol."""
        tree = self.trees.get(path)
        for node in tree.body if tree is not None else []:
            if getattr(node, "name", None) == sym.name and sym.start <= node.lineno <= sym.end:
                return node
        return None

    def top_level(self, path: str) -> list[Symbol]:
        return [s for s in self.symbols.get(path, []) if s.parent is None and s.kind in TOP_KINDS]

    def owner(self, path: str, line: int) -> Symbol | None:
        """The top-level class or function whose lines hold `line`."""
        return next((s for s in self.top_level(path) if s.start <= line <= s.end), None)

    def name_line(self, path: str, sym: Symbol) -> int | None:
        """The line naming `sym` (its `def`/`class` line, after decorators), verified."""
        lines = self.repo.lines(path)
        pattern = re.compile(rf"^\s*(?:async\s+)?(?:def|class)\s+{re.escape(sym.name)}\b")
        for n in range(sym.start, min(sym.end, len(lines)) + 1):
            if pattern.match(lines[n - 1]):
                return n if verify_ref(self.repo, path, n, n, sym.name) is None else None
        return None


def _describe(sym: Symbol, path: str, code: _Code) -> str:
    said = first_sentence(sym.doc)
    if said:
        return said
    if sym.kind == "class":
        node = code.definition(path, sym)
        bases = [ast.unparse(b) for b in node.bases] if isinstance(node, ast.ClassDef) else []
        inside = code.symbols.get(path, [])
        methods = list(
            dict.fromkeys(  # a property's getter and setter are one name
                s.name for s in inside if s.parent == sym.name and sym.start <= s.start <= sym.end
            )
        )
        text = f"`{sym.name}` is a class in `{path}`"
        if bases:
            text += " deriving from " + ", ".join(f"`{b}`" for b in bases)
        if methods:
            shown = ", ".join(f"`{n}`" for n in methods[:6])
            text += f"; it defines {len(methods)} method{'s' * (len(methods) != 1)} ({shown}"
            text += ", …)" if len(methods) > 6 else ")"
        return text + "."
    node = code.definition(path, sym)
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return f"`{sym.name}` is a function in `{path}`."
    a = node.args
    args = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs) if x.arg not in ("self", "cls")]
    args += [f"*{a.vararg.arg}"] if a.vararg else []
    args += [f"**{a.kwarg.arg}"] if a.kwarg else []
    takes = ", ".join(f"`{x}`" for x in args) if args else "no arguments"
    returns = f" and annotated to return `{ast.unparse(node.returns)}`" if node.returns else ""
    return f"`{sym.name}` is a function in `{path}` taking {takes}{returns}."


class GroundedAnswerer:
    name = "grounded"

    def __init__(self, repo: Repo):
        self.repo = repo
        self._code: _Code | None = None
        self._lock = threading.Lock()  # the endpoint may answer page calls concurrently
        self.planned: list[_Page] = []

    @property
    def code(self) -> _Code:
        with self._lock:
            if self._code is None:
                self._code = _Code(self.repo)
            return self._code

    def begin_pass(self) -> None:
        self.planned = []

    # -- plan ----------------------------------------------------------------------------

    def plan(self, listed: list[str], min_pages: int, max_pages: int) -> list[_Page]:
        code = self.code
        python = [f for f in listed if f in code.symbols]
        inits = [f for f in python if f.endswith("__init__.py") and f.count("/") <= 1]
        guide = inits or python[:1]
        groups: dict[str, list[str]] = {}
        for f in python:
            groups.setdefault(posixpath.dirname(f) or ".", []).append(f)
        units: list[tuple[str, list[str]]] = sorted(groups.items())
        # Fewer pages than required: the biggest folder's modules become pages of their own
        # (a package's __init__ is the Getting Started page's already).
        while len(units) + 2 < min_pages:
            splittable = [u for u in units if len([f for f in u[1] if f not in guide]) > 1]
            if not splittable:
                break
            big = max(splittable, key=lambda u: len(u[1]))
            units.remove(big)
            units += [(f, [f]) for f in big[1] if f not in guide]
            units.sort()
        units = units[: max(max_pages - 2, 1)]
        name = self.repo.name.rsplit("/", 1)[-1]
        pages = [
            _Page(
                "Architecture Overview",
                "architecture-overview.md",
                "overview",
                f"The modules of {name}: what each one defines.",
                python,
            ),
            _Page(
                "Getting Started",
                "getting-started.md",
                "guide",
                f"What {name}'s package modules import and export: its public names.",
                guide,
            ),
        ]
        used = {"architecture-overview", "getting-started"}
        for key, files in units:
            single = len(files) == 1 and key == files[0]
            title = f"Module {_module(key)}" if single else f"Package {_module(key)}"
            if key == ".":
                title = "Top-level Modules"
            slug = slugify(title)
            while slug in used:
                slug += "-2"
            used.add(slug)
            classes = sum(1 for f in files for s in code.top_level(f) if s.kind == "class")
            funcs = sum(1 for f in files for s in code.top_level(f) if s.kind == "function")
            pages.append(
                _Page(
                    title,
                    f"{slug}.md",
                    "module" if single else "component",
                    f"{len(files)} file{'s' * (len(files) != 1)} with {classes} classes and "
                    f"{funcs} functions at top level.",
                    files,
                )
            )
        return pages

    def overview(self, title: str, files: Iterable[str], related) -> str:
        """A map of the modules: each one's docstring sentence and what it defines, cited."""
        code = self.code
        files = [f for f in dict.fromkeys(files) if f in code.symbols]
        parts = [
            f"# {title}",
            f"## Overview\n\n`{self.repo.name}` has {len(files)} Python "
            f"file{'s' * (len(files) != 1)}. This page lists, for each module, what its "
            "docstring says and the classes and functions it defines at top level.",
        ]
        sections, count = [], 0
        for f in files:
            said = first_sentence(code.module_doc.get(f))
            rows = []
            for sym in code.top_level(f):
                line = code.name_line(f, sym) if count < 3 * MAX_SECTIONS else None
                if line is not None:
                    rows.append(f"- `{sym.name}` ({sym.kind}) {format_local_ref(f, line)}")
                    count += 1
            if not said and not rows:
                continue
            body = (said or f"Defined in `{f}`:") + (
                "\n\n" + "\n".join(rows) if rows else " It defines no class or function."
            )
            sections.append(f"### `{_module(f)}`\n\n{body}")
        if sections:
            parts.append("## Key Components\n\n" + "\n\n".join(sections))
        if related:
            parts.append(
                "## Related Documentation\n\n" + "\n".join(f"- [{t}](./{fn})" for t, fn in related)
            )
        return "\n\n".join(parts) + "\n"

    # -- page ----------------------------------------------------------------------------

    def page(self, title: str, page_type: str, files: Iterable[str], related) -> str:
        code = self.code
        files = [f for f in dict.fromkeys(files) if f in code.symbols]
        name = self.repo.name
        parts = [f"# {title}"]
        shown = ", ".join(f"`{f}`" for f in files[:8]) or "no Python file"
        overview = [
            f"This {page_type} page documents {shown} of `{name}`, written from the code: "
            "its classes and functions, their docstrings and the calls between them."
        ]
        for f in files[:8]:
            said = first_sentence(code.module_doc.get(f))
            if said:
                overview.append(f"`{_module(f)}`: {said}")
        parts.append("## Overview\n\n" + "\n\n".join(overview))
        sections, cited = [], {}
        for f in files:
            for sym in code.top_level(f):
                if len(sections) >= MAX_SECTIONS:
                    break
                line = code.name_line(f, sym)
                if line is None:
                    continue
                kind = "class" if sym.kind == "class" else "function"
                sections.append(
                    f"### `{sym.name}` ({kind})\n\n{_describe(sym, f, code)} "
                    f"{format_local_ref(f, line)}"
                )
                cited[(f, sym.name)] = (sym, line)
        for f in files:  # what a module takes from the others (a package's __init__ exports)
            for sym, source, line, _, alias in code.imports(f):
                if len(sections) >= MAX_SECTIONS or (source, sym.name) in cited:
                    continue
                defined = code.name_line(source, sym)
                if defined is None:
                    continue
                kind = "class" if sym.kind == "class" else "function"
                named = f" as `{alias}`" if alias else ""
                sections.append(
                    f"### `{sym.name}` ({kind}, imported)\n\n`{_module(f)}` imports `{sym.name}` "
                    f"from `{_module(source)}`{named} {format_local_ref(f, line)}; it is defined "
                    f"there {format_local_ref(source, defined)}. "
                    f"{_describe(sym, source, code)}"
                )
        if sections:
            parts.append("## Key Components\n\n" + "\n\n".join(sections))
        parts.append(self._how_it_works(cited))
        if related:
            parts.append(
                "## Related Documentation\n\n" + "\n".join(f"- [{t}](./{fn})" for t, fn in related)
            )
        return "\n\n".join(parts) + "\n"

    def _edges(self, cited: dict) -> list[tuple[Edge, Symbol, Symbol]]:
        """The call edges among the cited symbols (one per pair of top-level symbols, the
        first call in file order), each with the top-level symbols holding caller and callee."""
        code, out, seen = self.code, [], set()
        edges = sorted(
            (e for es in code.graph.forward.values() for e in es),
            key=lambda e: (e.caller.path, e.line, e.callee.qualname),
        )
        for e in edges:
            a = code.owner(e.caller.path, e.line)
            b = code.owner(e.callee.path, e.callee.start)
            if a is None or b is None or a == b or (a.name, b.name) in seen:
                continue
            if (e.caller.path, a.name) not in cited or (e.callee.path, b.name) not in cited:
                continue
            if verify_ref(code.repo, e.caller.path, e.line, e.line, e.callee.name):
                continue  # the call's line must name what it calls
            seen.add((a.name, b.name))
            out.append((e, a, b))
        return out[:MAX_EDGES]

    def _how_it_works(self, cited: dict) -> str:
        edges = self._edges(cited)
        if not edges:
            return (
                "## How It Works\n\nNone of the classes and functions above calls another of "
                "them by a name the code resolves, so this page shows no call graph."
            )
        prose = [
            f"- `{e.caller.qualname}` calls `{e.callee.qualname}` "
            f"{format_local_ref(e.caller.path, e.line)}"
            for e, _, _ in edges
        ]
        ids: dict[str, str] = {}

        def node(sym: Symbol) -> str:
            if sym.name not in ids:
                ids[sym.name] = f"n{len(ids)}"
                return f'{ids[sym.name]}["{sym.name}"]'
            return ids[sym.name]

        lines = [f"    {node(a)} --> {node(b)}" for _, a, b in edges]
        return (
            "## How It Works\n\nThe calls between these components, as the code makes them "
            "(each at the line of the call, resolved by name where one definition has it; the "
            "diagram draws them between the top-level classes and functions that hold them):\n\n"
            + "\n".join(prose)
            + "\n\n```mermaid\nflowchart TD\n"
            + "\n".join(lines)
            + "\n```"
        )

    # -- index ---------------------------------------------------------------------------

    def index(self, project: str, pages: list[tuple[str, str, str]]) -> str:
        groups = {
            "overview": "Overview",
            "guide": "Guides",
            "component": "Components",
            "module": "Modules",
            "config": "Configuration",
        }
        files = sum(1 for f in self.code.symbols)
        parts = [
            f"# {project or self.repo.name} Documentation",
            f"Documentation of `{self.repo.name}` written from its code: {files} Python "
            f"files, {len(pages)} pages.",
        ]
        for kind, heading in groups.items():
            rows = [(t, f) for t, f, k in pages if k == kind]
            if rows:
                parts.append(f"## {heading}\n\n" + "\n".join(f"- [{t}](./{f})" for t, f in rows))
        other = [(t, f) for t, f, k in pages if k not in groups]
        if other:
            parts.append("## Other Pages\n\n" + "\n".join(f"- [{t}](./{f})" for t, f in other))
        return "\n\n".join(parts) + "\n"

    # -- the endpoint's call ---------------------------------------------------------------

    def answer(self, request: ChatRequest) -> Answer | None:
        call = request.call
        if call == "plan":
            prompt = parse_plan_prompt(request.user)
            self.planned = self.plan(prompt.files, prompt.min_pages, prompt.max_pages)
            body = {
                "projectType": "Python package",
                "pages": [dataclasses.asdict(p) for p in self.planned],
            }
            return Answer(json.dumps(body, indent=2), meta={"pages": len(self.planned)})
        if call == "page":
            prompt = parse_page_prompt(request.user)
            planned = next((p for p in self.planned if p.title == prompt.title), None)
            files = [*(planned.files if planned else []), *prompt.context_files]
            if planned is not None and planned.type == "overview":
                text = self.overview(prompt.title, files, prompt.related)
            else:
                text = self.page(prompt.title, prompt.page_type, files, prompt.related)
            return Answer(text, meta={"planned": planned is not None})
        if call == "index":
            prompt = parse_index_prompt(request.user)
            return Answer(self.index(prompt.project, prompt.pages))
        return Answer("", meta={"declined": f"grounded answers no {call or 'such'} call"})
