"""Single-skill eval items in SemanticWiki's own prompt format: page prompts for held-out repos.

One place builds them, from either source:
- `items_from_exchanges(path, repo, commit)`: the page prompts SemanticWiki really sent, from a
  run's recorded exchanges (wikikit.eval.wiki.exchanges' shape) — the way to build them once
  the client runs on held-out repos;
- `items_from_repo(repo, limit)`: until then, page prompts built the way SemanticWiki 1.2.1 builds
  them (dist/wiki-agent.js `generateSinglePage`; the captured prompts in
  ../shared/fixtures/semanticwiki-prompts are reproduced byte for byte by `page_prompt`), with
  code context in its chunk format (dist/ast-chunker.js `chunkPython` for Python; top-level
  symbols from wikikit.code.symbols for other languages), taken from the page's own files
  instead of its embedding search, and one page per source file plus an architecture overview
  instead of the model's plan.

An item: {id, kind: "page", repo, commit, title, type, system, user, related: [filenames],
files?: {path: text}} — `files` only when the item must be scored without a checkout. A compact
item (the ones shipped in eval_tasks/) has `context` and `related_pages` instead of `system` and
`user`; `prompt_of` rebuilds them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wikikit.code.repo import Repo, language_of

# generateSinglePage's system prompt (dist/wiki-agent.js), as the fixtures captured it
PAGE_SYSTEM = (
    "You are a senior technical writer creating internal documentation for a software "
    "development team. Your documentation is thorough, accurate, and always grounded in the "
    "actual source code. You explain not just WHAT the code does, but HOW it works and WHY it's "
    "designed that way. You include clickable source file references using this format: "
    "📄 [path/file.ts:line](../path/file.ts#Lline)"
)
PAGE_OPTIONS = {"temperature": 0.3, "max_tokens": 4096}  # then 0.1 on a retry
CONTEXT_CHARS = 12_000  # the retrieval loop stops once the context passes this
CHUNK_CHARS = 1_500  # each chunk's code is cut here
MAX_RELATED = 5
PAGE_TYPES = ("overview", "component", "module", "guide", "config")
# languages whose definitions wikikit.code.symbols finds (docs and data files make no page)
CODE_LANGUAGES = ("python", "typescript", "javascript", "go", "java", "rust", "c", "cpp", "csharp")
_CLASS = re.compile(r"^class\s+(\w+).*?:")
_DEF = re.compile(r"^(?:async\s+)?def\s+(\w+)\s*\(")
_DECORATOR = re.compile(r"^@(\w+)")
_TITLE_LINE = re.compile(r'\A# Documentation Task: "(?P<title>.*)"\n')
_RELATED = re.compile(r"^- \[[^\]]*\]\(\./(?P<file>[^)]+)\)$", re.M)


@dataclass(frozen=True)
class Chunk:
    path: str
    start: int  # 1-based
    kind: str  # SemanticWiki's chunkType: class, function, file, ...
    name: str
    content: str
    language: str


def chunk_header(chunk: Chunk) -> str:
    return f"### {chunk.kind}: {chunk.name} ({chunk.path}:{chunk.start})"


def render_chunk(chunk: Chunk) -> str:
    """One retrieval result as generateSinglePage appends it to the context."""
    return f"\n{chunk_header(chunk)}\n```{chunk.language}\n{chunk.content[:CHUNK_CHARS]}\n```\n"


def python_chunks(path: str, text: str) -> list[Chunk]:
    """SemanticWiki's pattern-based Python chunks: each class (at any indent) and each top-level
    def starts a chunk that runs to the next one, the next one's decorators excluded."""
    lines = text.split("\n")
    chunks: list[Chunk] = []
    current: tuple[int, str, str] | None = None  # (start index, name, kind)
    decorators = 0

    def close(end: int, next_decorators: int) -> None:
        if current is not None:
            start, name, kind = current
            content = "\n".join(lines[start : end - next_decorators])
            chunks.append(Chunk(path, start + 1, kind, name, content, "python"))

    for i, line in enumerate(lines):
        stripped = line.lstrip()
        if _DECORATOR.match(stripped):
            decorators += 1
            continue
        m = _CLASS.match(stripped)
        kind = "class"
        if m is None and len(line) == len(stripped):
            m, kind = _DEF.match(stripped), "function"
        if m is None:
            continue
        close(i, decorators)
        current = (i - decorators, m.group(1), kind)
        decorators = 0
    close(len(lines), 0)
    if not chunks and text.strip():
        chunks.append(Chunk(path, 1, "file", Path(path).stem, text, "python"))
    return chunks


def symbol_chunks(repo: Repo, path: str) -> list[Chunk]:
    """Top-level definitions of a non-Python file, each running to the next (tree-sitter)."""
    from wikikit.code.symbols import extract_symbols

    language = language_of(path) or ""
    text = repo.read_text(path)
    lines = text.split("\n")
    tops = (
        [s for s in extract_symbols(path, text, language) if s.parent is None] if language else []
    )
    chunks = []
    for s, nxt in zip(tops, [*tops[1:], None], strict=False):
        end = (nxt.start - 1) if nxt else len(lines)
        content = "\n".join(lines[s.start - 1 : end])
        chunks.append(Chunk(path, s.start, s.kind, s.name, content, language))
    if not chunks and text.strip():
        chunks.append(Chunk(path, 1, "file", Path(path).stem, text, language or "unknown"))
    return chunks


def file_chunks(repo: Repo, path: str) -> list[Chunk]:
    if language_of(path) == "python":
        return python_chunks(path, repo.read_text(path))
    return symbol_chunks(repo, path)


def code_context(chunks: Sequence[Chunk]) -> str:
    """The page's source context: chunks in order until it passes 12,000 characters."""
    context = ""
    for chunk in chunks:
        context += render_chunk(chunk)
        if len(context) > CONTEXT_CHARS:
            break
    return context


def page_prompt(
    title: str, page_type: str, context: str, related: Sequence[tuple[str, str]]
) -> str:
    """generateSinglePage's user prompt for one page; `related`: (title, filename) pairs."""
    links = "\n".join(f"- [{t}](./{f})" for t, f in related[:MAX_RELATED]) or "none"
    return f"""# Documentation Task: "{title}"

You are documenting a {page_type} for a software project. Based on the source code below, write comprehensive technical documentation.

## Source Code Context
{context or "No source code available"}

## Documentation Requirements

Write a well-structured Markdown page with the following sections:

### 1. Overview (required)
- Start with `# {title}`
- Write 3-4 sentences explaining what this {page_type} does and why it exists
- Mention the key technologies used (React, TypeScript, etc.)

### 2. Key Components (required)
For each important file, function, or class you see in the code:
- Explain its purpose and responsibility
- Describe how it works at a high level
- Add a clickable source reference using this exact format: `📄 [path/to/file.ts:line](../path/to/file.ts#Lline)`
  Example: `📄 [src/hooks/useAuth.ts:42](../src/hooks/useAuth.ts#L42)`

### 3. How It Works (required)
- Explain the data flow or control flow
- Describe any patterns used (e.g., hooks, state management)
- Include code snippets where helpful
- Reference source files using the clickable link format above

### 4. Related Documentation
Link to these related pages:
{links}

## Important Rules
- Base ALL content on the actual source code shown above
- ALWAYS use clickable source references: `📄 [path/file.ts:line](../path/file.ts#Lline)`
- Do not invent features or files not shown in the code
- Write for developers who need to understand and work with this code

Generate the documentation now:"""


def to_slug(text: str) -> str:
    """SemanticWiki's toSlug: lower case, runs of other characters to one dash, trimmed."""
    return re.sub(r"^-+|-+$", "", re.sub(r"[^a-z0-9]+", "-", text.lower()))


def page_title(path: str) -> str:
    """`shop/order_store.py` -> `Order Store`."""
    return " ".join(w.capitalize() for w in re.split(r"[_\-.\s]+", Path(path).stem) if w) or path


def _item(repo_name: str, commit: str | None, title: str, page_type: str, user: str,
          related: Sequence[tuple[str, str]]) -> dict[str, Any]:  # fmt: skip
    digest = hashlib.sha256(f"{repo_name}\n{commit}\n{user}".encode()).hexdigest()[:16]
    return {
        "id": f"page-{digest}",
        "kind": "page",
        "repo": repo_name,
        "commit": commit,
        "title": title,
        "type": page_type,
        "system": PAGE_SYSTEM,
        "user": user,
        "related": [f for _, f in related[:MAX_RELATED]],
    }


def compact(
    item: dict[str, Any], context: str, related: Sequence[tuple[str, str]]
) -> dict[str, Any]:
    """An item without SemanticWiki's fixed prompt text, rebuilt by `prompt_of` when read: what
    an item file shipped in eval_tasks/ holds, so that decontaminating training data against it
    matches the item's own code, not the template every real page prompt shares."""
    out = {k: v for k, v in item.items() if k not in ("system", "user")}
    out["context"] = context
    out["related_pages"] = [list(x) for x in related[:MAX_RELATED]]
    return out


def prompt_of(item: dict[str, Any]) -> tuple[str, str]:
    """(system, user) of an item, full or compact."""
    if item.get("user"):
        return item.get("system") or PAGE_SYSTEM, item["user"]
    related = [(t, f) for t, f in item.get("related_pages") or []]
    user = page_prompt(item["title"], item.get("type", "module"), item.get("context", ""), related)
    return PAGE_SYSTEM, user


def items_from_repo(
    repo: Repo, limit: int | None = None, compact_items: bool = False
) -> list[dict[str, Any]]:
    """Page items for one repository: an architecture overview, then one page per source file."""
    code = set(CODE_LANGUAGES)
    sources = [p for p in repo.iter_files() if language_of(p) in code]
    per_file = [(p, file_chunks(repo, p)) for p in sources]
    # a file without any definition (an empty __init__.py) makes no page of its own
    per_file = [(p, c) for p, c in per_file if any(x.kind != "file" for x in c)]
    pages: list[tuple[str, str, list[Chunk]]] = []  # (title, type, chunks)
    if per_file:
        overview = [c for _, cs in per_file[:8] for c in cs[:2]]
        pages.append(("Architecture Overview", "overview", overview))
    seen: set[str] = {"architecture-overview"}
    for path, chunks in per_file:
        title = page_title(path)
        while to_slug(title) in seen:
            title = f"{title} ({Path(path).parent.name or 'root'})"
        seen.add(to_slug(title))
        pages.append((title, "module", chunks))
    files = [(t, f"{to_slug(t)}.md") for t, _, _ in pages]
    items = []
    for i, (title, page_type, chunks) in enumerate(pages[: limit or None]):
        related = [x for j, x in enumerate(files) if j != i]
        context = code_context(chunks)
        user = page_prompt(title, page_type, context, related)
        item = _item(repo.name, repo.commit, title, page_type, user, related)
        items.append(compact(item, context, related) if compact_items else item)
    return items


def items_from_exchanges(
    exchanges: Sequence[Any], repo: str, commit: str | None
) -> Iterator[dict[str, Any]]:
    """Page items from a run's recorded page calls (first call per title; a retry asks again)."""
    seen: set[str] = set()
    for x in exchanges:
        m = _TITLE_LINE.match(x.user) if x.kind == "page" else None
        if m is None or m["title"] in seen:
            continue
        seen.add(m["title"])
        related = [("", f) for f in _RELATED.findall(x.user)]
        page_type = re.search(r"You are documenting an? (\w+) for", x.user)
        item = _item(
            repo, commit, m["title"], page_type[1] if page_type else "module", x.user, related
        )
        item["system"] = x.system or PAGE_SYSTEM
        yield item
