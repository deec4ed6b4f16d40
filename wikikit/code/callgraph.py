"""Forward and reverse call edges across a repository, resolved by name where that is unambiguous.

Call sites come from a real parser (Python's `ast`; tree-sitter for the other languages). A call
`x.y.save(...)` names `save`; it resolves to a function or method defined in the repository when
exactly one definition has that name, preferring one in the caller's own file (then its own
class). Anything else (library calls, names defined several times) stays unresolved and is counted,
never guessed.
"""

from __future__ import annotations

import ast
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from wikikit.code.symbols import Symbol, tree_sitter_parser

CALLABLE_KINDS = frozenset({"function", "method", "constructor"})
# tree-sitter node types of a call, per grammar family.
_CALL_TYPES = frozenset(
    {"call_expression", "call", "method_invocation", "invocation_expression", "new_expression"}
)
_NAME_RE = re.compile(r"[A-Za-z_$][\w$]*")


@dataclass(frozen=True)
class Def:
    """A callable definition: where it is and what it is called."""

    path: str
    name: str
    qualname: str
    parent: str | None
    start: int
    end: int

    @classmethod
    def of(cls, path: str, sym: Symbol) -> Def:
        return cls(path, sym.name, sym.qualname, sym.parent, sym.start, sym.end)


@dataclass(frozen=True)
class Edge:
    caller: Def
    callee: Def
    line: int  # the call's line in the caller's file


def call_sites(path: str, text: str, language: str) -> list[tuple[int, str]]:
    """(line, called name) for every call in the file, in order; [] if it does not parse."""
    if language == "python":
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            return []
        out = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = (
                    func.id
                    if isinstance(func, ast.Name)
                    else func.attr
                    if isinstance(func, ast.Attribute)
                    else None
                )
                if name:
                    out.append((func.end_lineno or node.lineno, name))  # the name's own line
        return sorted(out)
    parser = tree_sitter_parser(language, path)
    if parser is None:
        return []
    source = text.encode("utf-8")
    tree = parser.parse(source)
    out = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type in _CALL_TYPES:
            target = (
                node.child_by_field_name("function")
                or node.child_by_field_name("name")
                or node.child_by_field_name("constructor")
            )
            if target is not None:
                names = _NAME_RE.findall(
                    source[target.start_byte : target.end_byte].decode("utf-8", "replace")
                )
                if names:
                    out.append((target.end_point.row + 1, names[-1]))
        stack.extend(node.named_children)
    return sorted(out)


def innermost(symbols: list[Symbol], line: int) -> Symbol | None:
    """The smallest callable symbol whose range contains `line`."""
    best = None
    for s in symbols:
        inside = s.kind in CALLABLE_KINDS and s.start <= line <= s.end
        if inside and (best is None or s.line_count < best.line_count):
            best = s
    return best


class CallGraph:
    """Add every file's symbols and call sites, then `resolve()` once."""

    def __init__(self) -> None:
        self.by_name: dict[str, list[Def]] = defaultdict(list)
        self._sites: list[tuple[Def, str, int]] = []
        self.forward: dict[Def, list[Edge]] = defaultdict(list)
        self.reverse: dict[Def, list[Edge]] = defaultdict(list)
        self.stats: Counter = Counter()

    def add_file(self, path: str, text: str, language: str, symbols: list[Symbol]) -> None:
        for s in symbols:
            if s.kind in CALLABLE_KINDS:
                self.by_name[s.name].append(Def.of(path, s))
        if not any(s.kind in CALLABLE_KINDS for s in symbols):
            return
        for line, name in call_sites(path, text, language):
            caller = innermost(symbols, line)
            if caller is not None:
                self._sites.append((Def.of(path, caller), name, line))

    def resolve(self) -> None:
        seen: set[tuple[Def, Def, int]] = set()
        for caller, name, line in self._sites:
            callee = self._resolve_one(caller, name)
            if callee is None:
                self.stats["calls_unresolved"] += 1
                continue
            if (caller, callee, line) in seen or callee == caller:
                continue  # recursion teaches nothing about structure
            seen.add((caller, callee, line))
            edge = Edge(caller, callee, line)
            self.forward[caller].append(edge)
            self.reverse[callee].append(edge)
            self.stats["calls_resolved"] += 1
        self._sites = []

    def _resolve_one(self, caller: Def, name: str) -> Def | None:
        candidates = self.by_name.get(name) or []
        if len(candidates) == 1:
            return candidates[0]
        same_file = [d for d in candidates if d.path == caller.path]
        same_class = [d for d in same_file if caller.parent and d.parent == caller.parent]
        for group in (same_class, same_file):
            if len(group) == 1:
                return group[0]
        return None

    def callers_of(self, d: Def) -> list[Edge]:
        return self.reverse.get(d, [])

    def callees_of(self, d: Def) -> list[Edge]:
        return self.forward.get(d, [])


def graph_report(graph: CallGraph) -> dict[str, Any]:
    return {
        "edges": sum(len(v) for v in graph.forward.values()),
        "unresolved": graph.stats["calls_unresolved"],
    }
