"""SemanticWiki's eight agent tools: their JSON Schemas and an executor returning their texts.

`TOOLS` lists them in OpenAI function format (what Ollama's `tools` and the harmony developer
message take). `validate_call(name, arguments)` checks one call against its schema. The
`ToolExecutor` runs calls for real against a `wikikit.code.repo.Repo` (reads confined to the repo
root) and a scratch wiki folder (writes confined to it), so tool results in training data are
true. Tool names and arguments follow ../shared/semanticwiki.md.
"""

from __future__ import annotations

import os
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


# Names, descriptions and parameters as SemanticWiki's agent declares them
# (buildDirectApiTools, src/wiki-agent.ts:2889-2985 at commit 438524a).
_REPO_PATH = "Path to the file relative to repository root"
_REPO_DIR = "Path to the directory relative to repository root"

TOOLS: list[dict[str, Any]] = [
    _fn(
        "read_file",
        "Read the contents of a file from the repository",
        {"path": {"type": "string", "description": _REPO_PATH}},
        ["path"],
    ),
    _fn(
        "list_directory",
        "List files and directories in a path",
        {"path": {"type": "string", "description": _REPO_DIR}},
        ["path"],
    ),
    _fn(
        "directory_tree",
        "Get a tree view of the directory structure",
        {
            "path": {"type": "string", "description": _REPO_DIR},
            "depth": {"type": "number", "description": "Maximum depth to traverse (default 3)"},
        },
        ["path"],
    ),
    _fn(
        "search_codebase",
        "Semantic search over the codebase using embeddings. Returns relevant code snippets "
        "with file paths and line numbers.",
        {
            "query": {"type": "string", "description": "Natural language search query"},
            "maxResults": {"type": "number", "description": "Maximum results (default 10)"},
        },
        ["query"],
    ),
    _fn(
        "write_wiki_page",
        "Write a wiki documentation page to the output directory",
        {
            "pagePath": {
                "type": "string",
                "description": 'Path relative to wiki root (e.g., "architecture/overview.md")',
            },
            "title": {"type": "string", "description": "Page title"},
            "content": {
                "type": "string",
                "description": "Full markdown content (excluding H1 title)",
            },
            "description": {"type": "string", "description": "Brief page description"},
            "sources": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Source files referenced",
            },
        },
        ["pagePath", "title", "content"],
    ),
    _fn(
        "analyze_code_structure",
        "Analyze a code file to extract functions, classes, imports, and exports",
        {"filePath": {"type": "string", "description": "Path to the file to analyze"}},
        ["filePath"],
    ),
    _fn(
        "verify_wiki_completeness",
        "Check for broken internal links in the wiki. Returns missing pages that need to be "
        "created.",
        {},
        [],
    ),
    _fn("list_wiki_pages", "List all wiki pages that have been created", {}, []),
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


# analyze_code_structure's patterns, applied to .ts/.tsx/.js/.jsx files only (:3097-3110).
_JS_FUNCTION = re.compile(r"(?:export\s+)?(?:async\s+)?function\s+(\w+)")
_JS_CLASS = re.compile(r"(?:export\s+)?class\s+(\w+)")
_JS_IMPORT = re.compile(r"import\s+.*\s+from\s+['\"]([^'\"]+)['\"]")
_JS_EXPORT = re.compile(
    r"export\s+(?:default\s+)?(?:class|function|const|let|var|interface|type)\s+(\w+)"
)
_JS_SUFFIXES = (".ts", ".tsx", ".js", ".jsx")
# verifyWikiCompleteness (:4200-4296): markdown links and [[wiki links]] to .md pages.
_MD_LINK = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")
_WIKI_LINK = re.compile(r"\[\[([^\]|]+)(?:\|[^\]]+)?\]\]")
_CODE_LINK = re.compile(r"\.(ts|js|py|go|rs|java|tsx|jsx|cbl|cob|cpy|jcl)[:L#]", re.I)
SEARCH_CHUNK_CHARS = 1500


class ToolExecutor:
    """Runs SemanticWiki's tools against one repository and one scratch wiki folder.

    Each result is the text SemanticWiki's own tool returns (executeDirectApiTool,
    src/wiki-agent.ts:2999-3170 at 438524a): read_file the raw file; list_directory
    `[DIR] x` / `[FILE] x`; directory_tree drawn with `├── `; analyze_code_structure its regex
    report; verify_wiki_completeness and list_wiki_pages their reports. Two differences, both
    kept on purpose: paths are confined to the repository (SemanticWiki would read anywhere),
    and search_codebase ranks symbol chunks by query terms instead of embeddings, in
    SemanticWiki's result format.
    """

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
        except ToolError as exc:
            return f"Error: {exc}"
        except InputError as exc:
            return f"Error executing {name}: {exc}"

    # -- repository tools ----------------------------------------------------------------
    def _rel(self, path: str) -> str:
        p = posixpath.normpath((path or "").replace("\\", "/").strip() or ".")
        if p.startswith("/") or p == ".." or p.startswith("../"):
            raise ToolError(f"File not found: {path}")
        return "" if p == "." else p

    def _dir(self, path: str) -> Path | None:
        """The directory `path` names inside the repository, or None."""
        try:
            rel = self._rel(path)
        except ToolError:
            return None
        full = (self.repo.root / rel).resolve() if rel else self.repo.root
        if full != self.repo.root and self.repo.root not in full.parents:
            return None
        return full if full.is_dir() else None

    def _read_file(self, path: str) -> str:
        rel = self._rel(path)
        if not self.repo.exists(rel):
            raise ToolError(f"File not found: {path}")
        return self.repo.read_text(rel)

    def _list_directory(self, path: str) -> str:
        folder = self._dir(path)
        if folder is None:
            raise ToolError(f"Directory not found: {path}")
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
        return "\n".join(
            f"{'[DIR]' if e.is_dir(follow_symlinks=False) else '[FILE]'} {e.name}" for e in entries
        )

    def _directory_tree(self, path: str, depth: float = 3) -> str:
        folder = self._dir(path)
        max_depth = int(depth) or 3  # `input.depth || 3`

        def tree(at: Path, level: int, prefix: str) -> str:
            if at is None or level >= max_depth:
                return ""
            entries = [
                e for e in sorted(os.scandir(at), key=lambda e: e.name)
                if not e.name.startswith(".") and e.name != "node_modules"
            ]  # fmt: skip
            out = []
            for i, entry in enumerate(entries):
                last = i == len(entries) - 1
                out.append(f"{prefix}{'└── ' if last else '├── '}{entry.name}\n")
                if entry.is_dir(follow_symlinks=False):
                    out.append(
                        tree(Path(entry.path), level + 1, prefix + ("    " if last else "│   "))
                    )
            return "".join(out)

        return tree(folder, 0, "")

    def _search_codebase(self, query: str, maxResults: float = 10) -> str:  # noqa: N803
        from wikikit.code.symbols import extract_symbols

        terms = [t for t in re.findall(r"\w+", query.lower()) if len(t) > 1]
        hits: list[tuple[float, str, Any]] = []
        for f in self.repo.iter_files():
            language = self.repo.language_of(f)
            if not language or language in ("markdown", "json", "yaml", "toml"):
                continue
            try:
                text = self.repo.read_text(f)
                symbols = extract_symbols(f, text, language)
            except (InputError, ValueError):
                continue
            lines = text.split("\n")
            for sym in symbols:
                body = "\n".join(lines[sym.start - 1 : sym.end]).lower()
                found = sum(body.count(t) for t in terms)
                if found:
                    hits.append((found / (found + 10), f, sym))
        hits.sort(key=lambda h: (-h[0], h[1], h[2].start))
        hits = hits[: max(1, int(maxResults or 10))]
        if not hits:
            return "No relevant code found for this query."
        results = []
        for i, (score, f, sym) in enumerate(hits, 1):
            lines = self.repo.lines(f)
            code = "\n".join(lines[sym.start - 1 : sym.end])[:SEARCH_CHUNK_CHARS]
            domain = f"\n**Domain Context:**\n- Type: {sym.kind}\n- Name: {sym.name}\n"
            if sym.parent:
                domain += f"- Parent: {sym.parent}\n"
            if sym.signature:
                domain += f"- Signature: `{sym.signature}`\n"
            doc = ""
            if sym.doc:
                more = "..." if len(sym.doc) > 300 else ""
                doc = f"\n**Documentation:**\n```\n{sym.doc[:300]}{more}\n```\n"
            results.append(
                f"### Result {i} (score: {score:.3f})\n**Source:** `{f}:{sym.start}-{sym.end}`\n"
                f"{domain}{doc}\n```{self.repo.language_of(f) or ''}\n{code}\n```"
            )
        return f"Found {len(results)} relevant code snippets:\n\n" + "\n\n".join(results)

    def _analyze_code_structure(self, filePath: str) -> str:  # noqa: N803
        rel = self._rel(filePath)
        if not self.repo.exists(rel):
            raise ToolError(f"File not found: {filePath}")
        lines = self.repo.read_text(rel).split("\n")
        functions, classes, imports, exports = [], [], [], []
        if rel.endswith(_JS_SUFFIXES):
            for n, line in enumerate(lines, 1):
                for pattern, found, fmt in (
                    (_JS_FUNCTION, functions, "{0}:{1}"),
                    (_JS_CLASS, classes, "{0}:{1}"),
                    (_JS_IMPORT, imports, "{0}"),
                    (_JS_EXPORT, exports, "{0}"),
                ):
                    m = pattern.search(line)
                    if m:
                        found.append(fmt.format(m.group(1), n))
        return (
            f"# Code Analysis: {filePath}\nLines: {len(lines)}\n\n"
            f"Functions ({len(functions)}): {', '.join(functions)}\n"
            f"Classes ({len(classes)}): {', '.join(classes)}\n"
            f"Imports ({len(imports)}): {', '.join(imports)}\n"
            f"Exports ({len(exports)}): {', '.join(exports)}"
        )

    # -- wiki tools ----------------------------------------------------------------------
    def _wiki_path(self, page: str) -> Path:
        p = posixpath.normpath(page.replace("\\", "/").strip())
        if p.startswith("/") or p == ".." or p.startswith("../"):
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
        # Front matter as gray-matter writes it, minus SemanticWiki's `generated` timestamp
        # (it never reaches a tool result; leaving it out keeps trajectories reproducible).
        import yaml

        target = self._wiki_path(pagePath)
        target.parent.mkdir(parents=True, exist_ok=True)
        front = {"title": title, "description": description, "sources": sources}
        front = {k: v for k, v in front.items() if v is not None}
        head = yaml.safe_dump(front, sort_keys=False, allow_unicode=True)
        target.write_text(f"---\n{head}---\n{content}\n", encoding="utf-8")
        return f"Successfully wrote wiki page: {pagePath}"

    def pages(self) -> list[str]:
        return sorted(
            p.relative_to(self.wiki_dir).as_posix()
            for p in self.wiki_dir.rglob("*.md")
            if not any(part.startswith(".") for part in p.relative_to(self.wiki_dir).parts[:-1])
        )

    def _list_wiki_pages(self) -> str:
        pages = self.pages()
        return f"Wiki Pages ({len(pages)} total):\n" + "\n".join(f"- {p}" for p in pages)

    def _verify_wiki_completeness(self) -> str:
        existing = set(self.pages())
        broken: list[tuple[str, str]] = []  # (link as written, page it is on)
        seen: set[str] = set()
        referenced: set[str] = set()
        for page in sorted(existing):
            text = (self.wiki_dir / page).read_text(encoding="utf-8")
            links = [m.group(2) for m in _MD_LINK.finditer(text)]
            links += [
                t if t.endswith(".md") else f"{t}.md"
                for t in (m.group(1).strip() for m in _WIKI_LINK.finditer(text))
            ]
            for target in links:
                if (
                    target.startswith(("http://", "https://", "#", "mailto:"))
                    or "github.com" in target
                    or _CODE_LINK.search(target)
                ):
                    continue
                if not (target.endswith(".md") or ".md#" in target):
                    continue
                clean = target.split("#", 1)[0]
                resolved = posixpath.normpath(posixpath.join(posixpath.dirname(page), clean))
                if resolved.startswith(".."):
                    continue
                referenced.add(resolved)
                if resolved not in existing and resolved not in seen:
                    seen.add(resolved)
                    broken.append((clean, page))
        missing = referenced - existing
        report = (
            f"# Wiki Completeness Report\n\nTotal pages: {len(existing)}\n"
            f"Missing pages: {len(missing)}\nBroken links: {len(broken)}\n\n"
        )
        if not broken:
            return report + "✅ All internal links are valid! The wiki is complete."
        return (
            report
            + "❌ Missing Pages (MUST CREATE):\n\n"
            + "".join(f"- {target} (referenced from {source})\n" for target, source in broken)
        )
