"""The dependency direction of ../shared/DESIGN.md ("Layout"), checked on the source tree.

cli -> runner -> stages -> services -> shared pieces. Each module belongs to a *unit*: its
top-level package or module under wikikit/. A unit may import:
- the engine (cli, runner): anything;
- a stage package (data, train, eval, package): services and shared pieces, never another stage,
  the report or the engine;
- the report: services and shared pieces (it reads stage outputs from files, not stage code);
- a service (semanticwiki, deepwiki, teachers, mermaid, synthetic, code): other services and
  shared pieces, with no cycle between services;
- a shared piece: shared pieces only.
Every import counts, including those inside functions and under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
from pathlib import Path

ENGINE = {"cli", "runner"}
STAGES = {"data", "train", "eval", "package"}
REPORT = {"report"}
SERVICES = {"semanticwiki", "deepwiki", "teachers", "mermaid", "synthetic", "code"}
SHARED = {
    "__init__",
    "stage",
    "recipe",
    "example",
    "tokens",
    "vocab",
    "errors",
    "console",
    "atomic",
    "paths",
    "targets",
    "bounded",
    "children",
}
ALLOWED = {
    "engine": {"engine", "stage", "report", "service", "shared"},
    "stage": {"service", "shared"},
    "report": {"service", "shared"},
    "service": {"service", "shared"},
    "shared": {"shared"},
}


def layer_of(unit: str) -> str | None:
    for layer, units in (
        ("engine", ENGINE),
        ("stage", STAGES),
        ("report", REPORT),
        ("service", SERVICES),
        ("shared", SHARED),
    ):
        if unit in units:
            return layer
    return None


def unit_of(module: str) -> str:
    """wikikit.data.sources.jsonl -> data; wikikit.cli -> cli; wikikit -> __init__."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(root: Path, path: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(root: Path, path: Path) -> list[tuple[int, str]]:
    """(line, imported module) for every wikikit import in one file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    here = module_name(root, path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == root.name:  # from wikikit import console: each name is a module
                out += [(node.lineno, f"{target}.{a.name}") for a in node.names]
            else:
                out.append((node.lineno, target))
    return [(line, m) for line, m in out if m == root.name or m.startswith(root.name + ".")]


def violations(root: Path) -> list[str]:
    """Every import that breaks the direction, as `file:line: a (layer) imports b (layer)`."""
    problems: list[str] = []
    service_edges: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        if "node_modules" in path.parts:
            continue
        me = unit_of(module_name(root, path))
        my_layer = layer_of(me)
        rel = path.relative_to(root.parent)
        if my_layer is None:
            problems.append(f"{rel}: unit '{me}' has no place in the layout (add it to a layer)")
            continue
        for line, target in imports_of(root, path):
            other = unit_of(target)
            if other == me:
                continue
            other_layer = layer_of(other)
            if other_layer is None:
                problems.append(
                    f"{rel}:{line}: imports '{target}', which has no place in the layout"
                )
            elif other_layer not in ALLOWED[my_layer]:
                problems.append(f"{rel}:{line}: {me} ({my_layer}) imports {target} ({other_layer})")
            elif my_layer == other_layer == "service":
                service_edges.setdefault(me, set()).add(other)
    problems += [f"service import cycle: {' -> '.join(c)}" for c in _cycles(service_edges)]
    return problems


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(edges.get(node, ())):
            if nxt in path:
                cycle = path[path.index(nxt) :] + [nxt]
                if min(cycle[:-1]) == cycle[0]:  # report each cycle once
                    found.append(cycle)
            else:
                visit(nxt, path + [nxt])

    for start in sorted(edges):
        visit(start, [start])
    return found
