"""SemanticWiki's eight agent tools: their JSON Schemas and a real executor.

`TOOLS` lists them in OpenAI function format (what Ollama's `tools` and the harmony developer
message take). `validate_call(name, arguments)` checks one call against its schema. The
`ToolExecutor` runs calls for real against a `wikikit.code.repo.Repo` (reads confined to the repo
root) and a scratch wiki folder (writes confined to it), so tool results in training data are
true. Tool names and arguments follow ../shared/semanticwiki.md.
"""

from __future__ import annotations

import posixpath
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema

from wikikit.errors import InputError

if TYPE_CHECKING:
    from wikikit.code.repo import Repo


def _fn(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": False,
            },
        },
    }


_PATH = {"type": "string", "description": "Path relative to the repository root."}

TOOLS: list[dict[str, Any]] = [
    _fn("read_file", "Read a file from the repository.", {"path": _PATH}, ["path"]),
    _fn("list_directory", "List the entries of a directory.", {"path": _PATH}, ["path"]),
    _fn(
        "directory_tree",
        "Show the directory tree under a path.",
        {"path": _PATH, "depth": {"type": "number", "description": "Levels to show (default 3)."}},
        ["path"],
    ),
    _fn(
        "search_codebase",
        "Search the codebase for code relevant to a query.",
        {
            "query": {"type": "string", "description": "What to look for."},
            "maxResults": {"type": "number", "description": "Results to return (default 10)."},
        },
        ["query"],
    ),
    _fn(
        "write_wiki_page",
        "Write a markdown page into the wiki.",
        {
            "pagePath": {
                "type": "string",
                "description": 'Page path in the wiki, e.g. "architecture/overview.md".',
            },
            "title": {"type": "string", "description": "Page title (rendered as the H1)."},
            "content": {"type": "string", "description": "Markdown body without the H1 title."},
            "description": {"type": "string", "description": "One-line summary of the page."},
            "sources": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Source files the page documents.",
            },
        },
        ["pagePath", "title", "content"],
    ),
    _fn(
        "analyze_code_structure",
        "List the classes, functions and methods a file defines, with line ranges.",
        {"filePath": {"type": "string", "description": "File to analyse, relative to the root."}},
        ["filePath"],
    ),
    _fn(
        "verify_wiki_completeness",
        "Find internal wiki links that point to pages that do not exist.",
        {},
        [],
    ),
    _fn("list_wiki_pages", "List the pages written so far.", {}, []),
]

TOOL_NAMES = tuple(t["function"]["name"] for t in TOOLS)


@cache
def _validator(name: str) -> jsonschema.Draft202012Validator | None:
    for t in TOOLS:
        if t["function"]["name"] == name:
            return jsonschema.Draft202012Validator(t["function"]["parameters"])
    return None


def validate_call(name: str, arguments: Any) -> str | None:
    """None if `arguments` satisfy the tool's schema, else a one-line reason."""
    validator = _validator(name)
    if validator is None:
        return f"unknown tool '{name}'"
    if not isinstance(arguments, dict):
        return "arguments must be a JSON object"
    errors = sorted(validator.iter_errors(arguments), key=lambda e: list(e.path))
    if not errors:
        return None
    e = errors[0]
    where = "/".join(str(p) for p in e.path)
    return f"{where + ': ' if where else ''}{e.message}"


class ToolError(Exception):
    """A call that ran but failed (missing file, path outside the root): its text is the result."""


MAX_READ_CHARS = 60_000
_LINK_RE = re.compile(r"\[[^\]]*\]\(([^)\s#]+\.md)(?:#[^)]*)?\)")


class ToolExecutor:
    """Runs SemanticWiki's tools against one repository and one scratch wiki folder."""

    def __init__(self, repo: Repo, wiki_dir: Path):
        self.repo = repo
        self.wiki_dir = Path(wiki_dir).resolve()
        self.wiki_dir.mkdir(parents=True, exist_ok=True)

    def execute(self, name: str, arguments: dict[str, Any]) -> str:
        """The tool's result text. Invalid calls raise ValueError; failed runs return an error
        text (as the real agent sees it), so the trajectory stays true."""
        reason = validate_call(name, arguments)
        if reason:
            raise ValueError(f"{name}: {reason}")
        try:
            return getattr(self, f"_{name}")(**arguments)
        except (ToolError, InputError) as exc:
            return f"Error: {exc}"

    # -- repository tools ----------------------------------------------------------------
    def _rel(self, path: str) -> str:
        p = posixpath.normpath(path.replace("\\", "/").strip() or ".")
        if p.startswith("/") or p == ".." or p.startswith("../"):
            raise ToolError(f"path outside the repository: {path}")
        return "" if p == "." else p

    def _files(self) -> list[str]:
        return list(self.repo.iter_files())

    def _read_file(self, path: str) -> str:
        rel = self._rel(path)
        if not self.repo.exists(rel):
            raise ToolError(f"file not found: {path}")
        lines = self.repo.lines(rel)
        width = len(str(len(lines)))
        body = "\n".join(f"{i:>{width}} | {line}" for i, line in enumerate(lines, 1))
        if len(body) > MAX_READ_CHARS:
            body = body[:MAX_READ_CHARS] + "\n... (truncated)"
        return f"File: {rel} ({len(lines)} lines)\n{body}"

    def _children(self, rel: str) -> tuple[list[str], list[str]]:
        prefix = f"{rel}/" if rel else ""
        dirs, files = set(), set()
        for f in self._files():
            if not f.startswith(prefix):
                continue
            rest = f[len(prefix) :]
            if "/" in rest:
                dirs.add(rest.split("/", 1)[0])
            else:
                files.add(rest)
        return sorted(dirs), sorted(files)

    def _list_directory(self, path: str) -> str:
        rel = self._rel(path)
        dirs, files = self._children(rel)
        if not dirs and not files:
            raise ToolError(f"directory not found or empty: {path}")
        return "\n".join([f"{d}/" for d in dirs] + files)

    def _directory_tree(self, path: str, depth: float = 3) -> str:
        rel = self._rel(path)
        depth = max(1, int(depth))
        out: list[str] = [f"{rel or '.'}/"]

        def walk(at: str, level: int) -> None:
            dirs, files = self._children(at)
            for d in dirs:
                out.append(f"{'  ' * level}{d}/")
                if level < depth:
                    walk(f"{at}/{d}" if at else d, level + 1)
            for f in files:
                out.append(f"{'  ' * level}{f}")

        walk(rel, 1)
        if len(out) == 1:
            raise ToolError(f"directory not found or empty: {path}")
        return "\n".join(out[:400]) + ("\n... (truncated)" if len(out) > 400 else "")

    def _search_codebase(self, query: str, maxResults: float = 10) -> str:  # noqa: N803
        # Lexical stand-in for SemanticWiki's embedding search: rank lines by query-term hits.
        terms = [t for t in re.findall(r"\w+", query.lower()) if len(t) > 1]
        if not terms:
            raise ToolError("empty query")
        hits: list[tuple[int, str, int, str]] = []
        for f in self._files():
            try:
                lines = self.repo.lines(f)
            except InputError:
                continue
            for i, line in enumerate(lines, 1):
                low = line.lower()
                score = sum(low.count(t) for t in terms)
                if score:
                    hits.append((-score, f, i, line.strip()[:200]))
        hits.sort()
        hits = hits[: max(1, int(maxResults))]
        if not hits:
            return f"No results for: {query}"
        return "\n".join(f"{f}:{i}: {text}" for _, f, i, text in hits)

    def _analyze_code_structure(self, filePath: str) -> str:  # noqa: N803
        from wikikit.code.symbols import extract_symbols

        rel = self._rel(filePath)
        if not self.repo.exists(rel):
            raise ToolError(f"file not found: {filePath}")
        language = self.repo.language_of(rel)
        if not language:
            raise ToolError(f"unsupported file type: {filePath}")
        symbols = extract_symbols(rel, self.repo.read_text(rel), language)
        if not symbols:
            return f"{rel} ({language}): no classes or functions found"
        rows = [f"{rel} ({language}):"]
        for s in symbols:
            indent = "  " if s.parent else ""
            rows.append(f"{indent}{s.kind} {s.qualname} (lines {s.start}-{s.end}): {s.signature}")
        return "\n".join(rows)

    # -- wiki tools ----------------------------------------------------------------------
    def _wiki_path(self, page: str) -> Path:
        p = posixpath.normpath(page.replace("\\", "/").strip())
        if p.startswith("/") or p == ".." or p.startswith("../") or not p.endswith(".md"):
            raise ToolError(f"invalid wiki page path: {page}")
        return self.wiki_dir / p

    def _write_wiki_page(
        self,
        pagePath: str,  # noqa: N803
        title: str,
        content: str,
        description: str | None = None,
        sources: list[str] | None = None,
    ) -> str:
        target = self._wiki_path(pagePath)
        target.parent.mkdir(parents=True, exist_ok=True)
        front = []
        if description:
            front.append(f"description: {description}")
        if sources:
            front.append("sources: [" + ", ".join(sources) + "]")
        head = ("---\n" + "\n".join(front) + "\n---\n\n") if front else ""
        target.write_text(f"{head}# {title}\n\n{content.rstrip()}\n", encoding="utf-8")
        return f"Wrote {pagePath} ({len(content)} characters)"

    def pages(self) -> list[str]:
        return sorted(p.relative_to(self.wiki_dir).as_posix() for p in self.wiki_dir.rglob("*.md"))

    def _list_wiki_pages(self) -> str:
        pages = self.pages()
        return "\n".join(pages) if pages else "No wiki pages yet."

    def _verify_wiki_completeness(self) -> str:
        existing = set(self.pages())
        missing: dict[str, list[str]] = {}
        for page in sorted(existing):
            text = (self.wiki_dir / page).read_text(encoding="utf-8")
            for target in _LINK_RE.findall(text):
                if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):
                    continue  # external link
                resolved = posixpath.normpath(posixpath.join(posixpath.dirname(page), target))
                if resolved not in existing:
                    missing.setdefault(resolved, []).append(page)
        if not missing:
            return f"Wiki complete: {len(existing)} pages, no broken internal links."
        rows = [f"Missing pages ({len(missing)}):"]
        rows += [f"- {m} (linked from {', '.join(sorted(set(src)))})" for m, src in missing.items()]
        return "\n".join(rows)
