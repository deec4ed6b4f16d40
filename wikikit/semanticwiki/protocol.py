"""SemanticWiki's local mode as the model sees it: which call a request is and what it holds.

Read from GhostScientist/semanticwiki at commit 438524a (package 1.2.1), src/wiki-agent.ts, and
checked against what a real run sent (../shared/fixtures/semanticwiki-prompts/):

- plan (user prompt :1439-1481, system :1490, maxTokens 8192, temperature 0.3): the project's
  file list (`path (.ext, small|medium|large)`, one a line) and a page count; the answer is raw
  JSON `{"projectType", "pages": [{title, filename, type, context, files}]}`. Files the client
  did not list are dropped from a page (:1535-1548);
- page (user :2715-2754, system :2760, maxTokens 4096, temperature 0.3, retried at 0.1 when the
  answer is 200 characters or fewer :2768-2790): `# Documentation Task: "<title>"`, the page
  type, the code context its retrieval picked (:2644-2700) and up to five related pages;
- index (:2817-2842, maxTokens 2048, temperature 0.7): the project name and every page.

Code context chunks are headed `### <chunkType>: <name> (<file>:<startLine>)` or
`### <file>:<start>-<end>` (then optional `**Documentation:**` / `**Signature:**` lines and the
code, unnumbered, cut at 1,500 characters, in a fence); the fallback when retrieval gives under
500 characters is `### File: <path>` with the first 1,500 characters of up to five planned files.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field

CLIENT_NAME = "semanticwiki"
CLIENT_VERSION = "1.2.1"
CLIENT_COMMIT = "438524a5093555c1dbc8b8ea64302df7f8dd5520"
# What an example's meta.protocol says: the client, its version and the mode that asked.
PROTOCOL = f"{CLIENT_NAME}-{CLIENT_VERSION}/full-local"

CALLS = ("plan", "page", "index")
PLAN_OPENING = (
    "You are analyzing a software project to create comprehensive architectural documentation."
)
PAGE_OPENING = '# Documentation Task: "'
INDEX_OPENING = "Generate an index page for a technical wiki documentation site."
# The sampling each call asks for (wiki-agent.ts :1489-1492, :2769-2772, :2837-2840).
CALL_OPTIONS = {
    "plan": {"num_predict": 8192, "temperature": 0.3},
    "page": {"num_predict": 4096, "temperature": 0.3},
    "index": {"num_predict": 2048, "temperature": 0.7},
}
PAGE_RETRY_CHARS = 200  # a page answer of at most this many characters is asked again
PAGE_TYPES = ("overview", "component", "module", "guide", "config")

# The plan prompt's file list: the client's own scan (gatherProjectFiles, wiki-agent.js :1508-1580):
# every file with one of these extensions (lower-cased), folders named here or starting with a
# dot skipped; files whose extension is a documentation one are not source files, and the
# source-file count sets the required page count (analyzeProjectWithLLM :1044-1047).
PLAN_IGNORED_DIRS = frozenset({"node_modules", ".git", "dist", "build", ".next", "coverage",
                               "__pycache__", "venv", ".venv", "vendor", ".cache", ".turbo"})  # fmt: skip
PLAN_EXTENSIONS = frozenset({
    ".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".vue", ".svelte", ".c", ".h", ".cpp", ".hpp",
    ".cc", ".cxx", ".rs", ".go", ".java", ".kt", ".kts", ".scala", ".groovy", ".gradle", ".py",
    ".rb", ".php", ".pl", ".pm", ".lua", ".r", ".cs", ".fs", ".vb", ".cbl", ".cob", ".cpy",
    ".jcl", ".prc", ".bms", ".asm", ".s", ".pli", ".pl1", ".rpg", ".rpgle", ".clp", ".clle",
    ".dspf", ".pf", ".hs", ".lhs", ".ml", ".mli", ".erl", ".ex", ".exs", ".elm", ".clj",
    ".cljs", ".sh", ".bash", ".zsh", ".ps1", ".psm1", ".bat", ".cmd", ".json", ".yaml", ".yml",
    ".toml", ".xml", ".ini", ".conf", ".cfg", ".sql", ".ddl", ".dml", ".plsql", ".pgsql", ".md",
    ".mdx", ".rst", ".txt", ".css", ".scss", ".less", ".sass", ".swift", ".m", ".mm", ".dart",
    ".proto", ".graphql", ".gql", ".tf", ".hcl",
})  # fmt: skip
DOC_EXTENSIONS = frozenset({".md", ".txt", ".rst", ".adoc"})


def plan_files(root: str | os.PathLike) -> list[str]:
    """The files the client lists in its plan prompt for a checkout (paths relative to it)."""
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d for d in dirnames if d not in PLAN_IGNORED_DIRS and not d.startswith(".")
        )
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            if os.path.isfile(full) and os.path.splitext(name)[1].lower() in PLAN_EXTENSIONS:
                out.append(os.path.relpath(full, root).replace(os.sep, "/"))
    return out


def required_pages(source_files: int) -> tuple[int, int]:
    """The page range the plan prompt requires: max(5, min(25, ceil(files / 8))) and 10 more."""
    least = max(5, min(25, math.ceil(source_files / 8)))
    return least, least + 10


def source_file_count(files: list[str]) -> int:
    return sum(1 for f in files if os.path.splitext(f)[1].lower() not in DOC_EXTENSIONS)


_PLAN_FILE = re.compile(r"^(?P<path>.+) \((?P<ext>[^,()]*), (?P<size>small|medium|large)\)$")
_REQUIRED = re.compile(r"\*\*Required pages: (?P<lo>\d+)-(?P<hi>\d+)\*\*")
_PAGE_HEAD = re.compile(
    r'^# Documentation Task: "(?P<title>.*)"\n\nYou are documenting a (?P<type>.+?) for a'
)
_RELATED = re.compile(
    r"^- \[(?P<title>[^\]\n]*)\]\(\./(?P<file>[^)\n]+)\)(?: - (?P<type>\S+))?$", re.M
)
_CHUNK_NAMED = re.compile(
    r"^### (?P<kind>[^:\n]+): (?P<name>.*) \((?P<path>[^()\n]+):(?P<start>\d+)\)$"
)
_CHUNK_RANGE = re.compile(r"^### (?P<path>\S+):(?P<start>\d+)-(?P<end>\d+)$")
_CHUNK_FILE = re.compile(r"^### File: (?P<path>.+)$")
_CONTEXT_START = "## Source Code Context\n"
_CONTEXT_END = "\n## Documentation Requirements\n"


@dataclass(frozen=True)
class ContextChunk:
    """One block of the page prompt's code context: which lines of which file it shows."""

    path: str
    start: int
    end: int  # last line shown (for a cut chunk: the last line that made it into the prompt)
    header: str
    code: str


@dataclass
class PlanPrompt:
    files: list[str]
    min_pages: int
    max_pages: int


@dataclass
class PagePrompt:
    title: str
    page_type: str
    chunks: list[ContextChunk] = field(default_factory=list)
    related: list[tuple[str, str]] = field(default_factory=list)  # (title, filename)

    @property
    def context_files(self) -> list[str]:
        return list(dict.fromkeys(c.path for c in self.chunks))

    def shows(self, path: str, line: int | None = None) -> bool:
        """True when the context shows `path` (and, given `line`, that line of it)."""
        return any(
            c.path == path and (line is None or c.start <= line <= c.end) for c in self.chunks
        )


@dataclass
class IndexPrompt:
    project: str
    pages: list[tuple[str, str, str]]  # (title, filename, type)


def call_kind(user: str) -> str | None:
    """'plan', 'page' or 'index' for a local-mode user prompt; None for anything else."""
    if user.startswith(PLAN_OPENING):
        return "plan"
    if user.startswith(PAGE_OPENING):
        return "page"
    if user.startswith(INDEX_OPENING):
        return "index"
    return None


def _section(text: str, heading: str) -> str:
    """The lines under `## heading` up to the next `## ` heading."""
    start = text.find(f"\n## {heading}\n")
    if start < 0:
        return ""
    body = text[start + len(heading) + 5 :]
    end = body.find("\n## ")
    return body if end < 0 else body[:end]


def parse_plan_prompt(user: str) -> PlanPrompt:
    files = []
    for line in _section(user, "Project Files").splitlines():
        m = _PLAN_FILE.match(line)
        if m:
            files.append(m["path"])
    m = _REQUIRED.search(user)
    lo, hi = (int(m["lo"]), int(m["hi"])) if m else (5, 15)
    return PlanPrompt(files=files, min_pages=lo, max_pages=hi)


def _fence_body(lines: list[str]) -> list[str]:
    """The code lines of one chunk: after the opening fence, before the closing one."""
    opening = next((i for i, s in enumerate(lines) if s.startswith("```")), None)
    if opening is None:
        return []
    body = lines[opening + 1 :]
    while body and body[-1].strip() == "":
        body.pop()
    if body and body[-1] == "```":
        body.pop()
    while body and body[-1] in ("", "... (truncated)"):  # the file fallback's marker
        body.pop()
    return body


def parse_context(user: str) -> list[ContextChunk]:
    """The chunks of a page prompt's `## Source Code Context`, in order."""
    start = user.find(_CONTEXT_START)
    if start < 0:
        return []
    end = user.find(_CONTEXT_END, start)
    lines = user[start + len(_CONTEXT_START) : end if end >= 0 else None].split("\n")
    # A header opens a chunk only at the start or right after the previous chunk's closing
    # fence, so `### ...` lines inside quoted markdown are never taken for headers.
    heads: list[tuple[int, re.Match, str]] = []
    for i, line in enumerate(lines):
        after_fence = i <= 1 or (lines[i - 1] == "" and lines[i - 2] == "```")
        if not line.startswith("### ") or not after_fence:
            continue
        for kind, pattern in (
            ("named", _CHUNK_NAMED),
            ("range", _CHUNK_RANGE),
            ("file", _CHUNK_FILE),
        ):
            m = pattern.match(line)
            if m:
                heads.append((i, m, kind))
                break
    chunks = []
    for n, (i, m, kind) in enumerate(heads):
        stop = heads[n + 1][0] if n + 1 < len(heads) else len(lines)
        code = _fence_body(lines[i + 1 : stop])
        first = 1 if kind == "file" else int(m["start"])
        last = int(m["end"]) if kind == "range" else first + max(len(code), 1) - 1
        chunks.append(ContextChunk(m["path"], first, last, lines[i], "\n".join(code)))
    return chunks


def parse_page_prompt(user: str) -> PagePrompt:
    m = _PAGE_HEAD.match(user)
    if not m:
        raise ValueError("not a SemanticWiki page prompt")
    related_part = _section(user, "Documentation Requirements").split(
        "### 4. Related Documentation", 1
    )
    related = (
        [(r["title"], r["file"]) for r in _RELATED.finditer(related_part[-1])]
        if len(related_part) > 1
        else []
    )
    return PagePrompt(
        title=m["title"], page_type=m["type"], chunks=parse_context(user), related=related
    )


def parse_index_prompt(user: str) -> IndexPrompt:
    project = re.search(r"^Project: (.*)$", user, re.M)
    pages_part = user.split("Available Pages:\n", 1)[-1].split("\n\nRequirements:", 1)[0]
    pages = [(r["title"], r["file"], r["type"] or "") for r in _RELATED.finditer(pages_part)]
    return IndexPrompt(project=project.group(1) if project else "", pages=pages)


def page_has_title(answer: str, title: str) -> bool:
    """The page prompt's first rule: the answer starts with `# <title>`."""
    first = next((line.strip() for line in answer.splitlines() if line.strip()), "")
    return first == f"# {title}".strip()


def plan_pages(answer: str) -> list[dict] | None:
    """The pages of a plan answer as the client parses it (:1505-1519), or None when it would
    fall back to its own pattern-based plan."""
    text = answer.strip()
    if text.startswith("```"):
        text = re.sub(r"^```(?:json)?\n?", "", text)
        text = re.sub(r"\n?```$", "", text)
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        return None
    pages = obj.get("pages") if isinstance(obj, dict) else None
    if not isinstance(pages, list) or not all(isinstance(p, dict) for p in pages):
        return None
    return pages
