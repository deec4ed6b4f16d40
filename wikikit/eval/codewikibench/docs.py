"""A wiki in CodeWikiBench's two shapes: the `docs_tree` outline the judge is shown, and the
`structured_docs` its page-reader tool reads from.

The shapes are those of FSoft-AI4Code/CodeWikiBench (commit 5e728fb,
src/docs_parser/parse_generated_docs.py and the dataset's columns): a root
`{title, description, content: {}, metadata, subpages: [...]}` whose pages are
`{title, description, content, metadata, subpages}`; `content` maps each heading to its text, or
to a mapping of its subheadings. In `docs_tree` every text is replaced by `"<detail_content>"`
and each page carries its `path` (the JSON list of keys that reaches it, e.g. `["subpages", 0]`).
Unlike the markdown_to_json parse upstream uses, text that precedes a page's or a section's
subheadings is kept, under the key `(text)`, so nothing the wiki says is hidden from the judge.

SemanticWiki's wiki is flat (one page per planned file, index.md among them); each page becomes
one subpage, index first, titled by its H1.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wikikit.code.repo import split_lines
from wikikit.errors import InputError
from wikikit.eval.wiki.pages import INDEX_PAGE, headings, read_wiki
from wikikit.tokens import count_tokens

DETAIL = "<detail_content>"
TEXT_KEY = "(text)"


@dataclass
class Docs:
    """One documentation set as the judge sees it."""

    name: str
    tree: dict[str, Any]  # docs_tree
    structured: dict[str, Any]  # structured_docs

    def whole_text(self) -> str:
        """Every page in full, for a judge whose context holds the whole wiki."""
        return render_node(self.structured, 1)

    def whole_tokens(self) -> int:
        return count_tokens(self.whole_text())


def page_content(markdown: str) -> tuple[str | None, dict[str, Any]]:
    """(H1 title, {heading: text | {subheading: ...}}) of one markdown page."""
    lines = split_lines(markdown)
    marks = headings(markdown)
    h1 = next((h for h in marks if h.level == 1), None)
    cuts = [h for h in marks if h is not h1]
    ends = [h.line for h in cuts[1:]] + ([len(lines) + 1] if cuts else [])
    # each section: (level, heading, its own text, children); the page itself is level 1
    page: dict[str, Any] = {"level": 1, "children": []}
    stack = [page]
    start = h1.line if h1 else 0
    first = cuts[0].line if cuts else len(lines) + 1
    page["text"] = "\n".join(lines[start : first - 1]).strip()
    for h, end in zip(cuts, ends, strict=True):
        node = {"level": max(h.level, 2), "title": h.text or "(untitled)", "children": []}
        node["text"] = "\n".join(lines[h.line : end - 1]).strip()
        while stack[-1]["level"] >= node["level"]:
            stack.pop()
        stack[-1]["children"].append(node)
        stack.append(node)
    content = _as_content(page)
    return (h1.text if h1 else None), content if isinstance(content, dict) else {TEXT_KEY: content}


def _as_content(node: dict[str, Any]) -> Any:
    """A section without subsections is its text; one with them maps their titles."""
    if not node["children"]:
        return node["text"]
    out: dict[str, Any] = {TEXT_KEY: node["text"]} if node["text"] else {}
    for child in node["children"]:
        key, n = child["title"], 2
        while key in out:
            key, n = f"{child['title']} ({n})", n + 1
        out[key] = _as_content(child)
    return out


def outline(content: Any) -> Any:
    """docs_tree's view of a content value: the keys, every text replaced by DETAIL."""
    if isinstance(content, dict):
        return {k: outline(v) for k, v in content.items()}
    if isinstance(content, list):
        return DETAIL if all(isinstance(x, str) for x in content) else [outline(x) for x in content]
    return DETAIL if isinstance(content, str) else content


def docs_from_pages(name: str, pages: Mapping[str, str]) -> Docs:
    """A SemanticWiki wiki ({path: markdown}) as CodeWikiBench documentation."""
    order = sorted(pages, key=lambda p: (p != INDEX_PAGE, p))
    subpages, tree_pages = [], []
    for i, path in enumerate(order):
        title, content = page_content(pages[path])
        title = title or Path(path).stem
        subpages.append(
            {
                "title": title,
                "description": None,
                "content": content,
                "metadata": {"source": "semanticwiki", "file": path},
                "subpages": [],
            }
        )
        tree_pages.append(
            {"title": title, "path": json.dumps(["subpages", i]), "content": outline(content)}
        )
    structured = {
        "title": name,
        "description": f"Documentation for {name}",
        "content": {},
        "metadata": {"type": "root", "source": "semanticwiki"},
        "subpages": subpages,
    }
    tree = {"title": name, "description": f"Documentation for {name}", "subpages": tree_pages}
    return Docs(name, tree, structured)


def docs_from_wiki(name: str, wiki_dir: str | Path) -> Docs:
    return docs_from_pages(name, read_wiki(wiki_dir))


def load_docs(folder: str | Path, name: str | None = None) -> Docs:
    """CodeWikiBench's own files: a folder with docs_tree.json and structured_docs.json."""
    folder = Path(folder)
    try:
        tree = json.loads((folder / "docs_tree.json").read_text(encoding="utf-8"))
        structured = json.loads((folder / "structured_docs.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise InputError(
            f"{folder}: cannot read docs_tree.json / structured_docs.json: {e}"
        ) from None
    if not isinstance(tree, dict) or not isinstance(structured, dict):
        raise InputError(f"{folder}: docs_tree and structured_docs must be JSON objects")
    return Docs(name or str(tree.get("title") or folder.name), tree, structured)


# -- the page reader ---------------------------------------------------------------------------


def navigate(root: Any, path: Sequence[Any]) -> Any:
    """The node a key path reaches (keys for mappings, indices for lists); KeyError if none."""
    node = root
    for key in path:
        if isinstance(node, dict):
            if key not in node:
                raise KeyError(f"no key {key!r}")
            node = node[key]
        elif isinstance(node, list):
            try:
                node = node[int(key)]
            except (ValueError, TypeError, IndexError):
                raise KeyError(f"no index {key!r}") from None
        else:
            raise KeyError(f"cannot go into a {type(node).__name__} with {key!r}")
    return node


def read_sections(docs: Docs, paths: Sequence[Sequence[Any]], max_tokens: int) -> str:
    """The tool's answer: each requested path with its content (JSON), cut at max_tokens."""
    parts = []
    for path in paths:
        try:
            content = json.dumps(navigate(docs.structured, path), indent=2, ensure_ascii=False)
        except KeyError as e:
            content = f"(nothing at this path: {e.args[0]})"
        parts.append(f"Path: {json.dumps(list(path), ensure_ascii=False)}\nContent:\n{content}")
    text = "\n\n".join(parts)
    if count_tokens(text) > max_tokens:
        from wikikit.tokens import decode, encode

        text = decode(encode(text)[:max_tokens]) + "\n[cut: ask for deeper paths]"
    return text


def render_node(node: Any, level: int) -> str:
    """structured_docs as markdown: titles and headings by depth, texts as they are."""
    if isinstance(node, dict) and "subpages" in node and "content" in node:
        parts = []
        if node.get("title"):
            parts.append(f"{'#' * min(level, 6)} {node['title']}")
        body = render_node(node.get("content") or {}, level + 1)
        if body:
            parts.append(body)
        parts += [render_node(p, level + 1) for p in node.get("subpages") or []]
        return "\n\n".join(p for p in parts if p)
    if isinstance(node, dict):
        out = []
        for k, v in node.items():
            body = render_node(v, level + 1)
            out.append(body if k == TEXT_KEY else f"{'#' * min(level, 6)} {k}\n\n{body}".strip())
        return "\n\n".join(out)
    if isinstance(node, list):
        return "\n".join(
            render_node(x, level) if isinstance(x, dict | list) else f"- {x}" for x in node
        )
    return "" if node is None else str(node).strip()
