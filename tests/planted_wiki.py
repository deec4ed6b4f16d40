"""Planted wiki pages with known answers, and the wiki metrics restated from first principles.

Shared by the metric tests on hand-written wikis (test_wiki_metrics.py) and on the wiki the real
client writes (test_semanticwiki_harness.py). Nothing here calls the code under test: file
contents at a commit come from `git show`, definition ranges from Python's ast, references from
a regex of this module's own, links from SemanticWiki's rule restated (verifyWikiCompleteness,
dist/wiki-agent.js 1.2.1).
"""

from __future__ import annotations

import ast
import json
import posixpath
import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

# `📄 [path:line](../path#Lline)`, SemanticWiki's local-mode reference
REF_RE = re.compile(r"📄 \[([^\]:]+):(\d+)\]\(\.\./\1#L\2\)")
REQUIRED = ("Overview", "Key Components", "How It Works")


def at_commit(repo_dir: Path, commit: str, path: str) -> list[str] | None:
    proc = subprocess.run(
        ["git", "show", f"{commit}:{path}"], cwd=repo_dir, capture_output=True, text=True
    )
    return proc.stdout.splitlines() if proc.returncode == 0 else None


def def_ranges(source: str) -> dict[str, list[tuple[int, int]]]:
    """name and Class.name -> [(first line incl. decorators, last line)] from Python's ast."""
    out: dict[str, list[tuple[int, int]]] = {}

    def visit(body, parent):
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                span = (start, node.end_lineno)
                out.setdefault(node.name, []).append(span)
                if parent:
                    out.setdefault(f"{parent}.{node.name}", []).append(span)
                if isinstance(node, ast.ClassDef):
                    visit(node.body, node.name)

    visit(ast.parse(source).body, None)
    return out


def good_page(title: str, related: Sequence[str], components: Sequence[tuple]) -> str:
    """A page with every required section; `components`: (heading, the name its sentence
    gives, path, cited line); one more component carries no reference; one valid and one
    broken Mermaid block."""
    parts = [f"# {title}", "", "## Overview", "", "What this part of the code does.", ""]
    parts += ["## Key Components", ""]
    for heading, name, path, line in components:
        parts += [
            f"### {heading}",
            "",
            f"The `{name}` code does its job 📄 [{path}:{line}](../{path}#L{line}).",
            "",
        ]
    parts += ["### Undocumented", "", "A part with no reference at all.", ""]
    parts += ["## How It Works", "", "```mermaid", "flowchart TD", "  A[cart] --> B[order]", "```"]
    parts += ["", "```mermaid", "flowchart TD", "  A --> ", "```", ""]
    parts += ["## Related Documentation", ""] + [f"- [{r}](./{r.lower()}.md)" for r in related]
    return "\n".join(parts) + "\n"


BAD_PAGE = """Pricing is about money.

Nothing else: no H1, no sections, see [[Refunds]] and [the api](sub/../api.md#top).
"""


def refs(pages: Mapping[str, str]) -> list[tuple[str, str, int]]:
    return [(p, m[1], int(m[2])) for p, t in pages.items() for m in REF_RE.finditer(t)]


def resolved_refs(
    found: Sequence[tuple[str, str, int]], repo_dir: Path, commit: str
) -> list[tuple[str, str, int]]:
    return [
        (p, path, line)
        for p, path, line in found
        if (lines := at_commit(repo_dir, commit, path)) is not None and 1 <= line <= len(lines)
    ]


def links(pages: Mapping[str, str]) -> tuple[int, int]:
    """(resolving, all) internal links by SemanticWiki's rule: `[t](x.md)` and `[[x]]` /
    `[[x|shown]]`, web and source links skipped, resolved from the page's folder, those leaving
    the wiki skipped."""
    ok = total = 0
    for page, text in pages.items():
        targets = [m[1] for m in re.finditer(r"\[[^\]]+\]\(([^)]+)\)", text)]
        for m in re.finditer(r"\[\[([^\]|]+)(?:\|[^\]]+)?\]\]", text):
            name = m[1].strip()
            targets.append(name if name.endswith(".md") else name + ".md")
        for t in targets:
            if re.match(r"(https?://|#|mailto:)", t) or "github.com" in t:
                continue
            if re.search(r"\.(ts|js|py|go|rs|java|tsx|jsx|cbl|cob|cpy|jcl)[:L#]", t, re.I):
                continue
            if not (t.endswith(".md") or ".md#" in t):
                continue
            where = posixpath.normpath(posixpath.join(posixpath.dirname(page), t.split("#")[0]))
            if where == ".." or where.startswith(("../", "/")):
                continue
            total += 1
            ok += where in pages
    return ok, total


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def has_h1(text: str, title: str | None) -> bool:
    top = first_line(text)
    if title is not None:
        return top == f"# {title}"
    return bool(re.match(r"#[ \t]+\S", top))


def sections(text: str) -> int:
    """How many of the three required sections have a heading (level 2 or deeper, outside code
    fences) starting with their name, numbering and marks aside."""
    heads, fenced = [], False
    for line in text.splitlines():
        if re.match(r"[ \t]*(```|~~~)", line):
            fenced = not fenced
            continue
        m = None if fenced else re.match(r"(#{2,6})[ \t]+(.*?)[ \t]*#*[ \t]*$", line)
        if m:
            key = re.sub(r"^\s*(?:\d+[.)]\s*)+", "", m[2])
            heads.append(re.sub(r"\s+", " ", re.sub(r"[`*_:]+", "", key)).strip().lower())
    return sum(any(h.startswith(name.lower()) for h in heads) for name in REQUIRED)


def plan_parses(answer: str) -> bool:
    """SemanticWiki's own parse of a plan answer (a ```json fence stripped, then JSON)."""
    text = answer.strip()
    if text.startswith("```"):
        text = re.sub(r"\n?```$", "", re.sub(r"^```(?:json)?\n?", "", text))
    try:
        return isinstance(json.loads(text).get("pages"), list)
    except (json.JSONDecodeError, AttributeError):
        return False
