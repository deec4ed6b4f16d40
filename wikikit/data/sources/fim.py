"""`kind: fim`: fill-in-the-middle samples cut at syntactic boundaries, as gpt-oss instructions.

o200k/harmony has no FIM special tokens, so a sample is a chat turn: the user message carries the
code before and after the gap between plain-text `<fim_prefix>` / `<fim_suffix>` tags and the
assistant answers with exactly the missing middle. The middle is the exact text of one parse-tree
node (a function body, a statement block, or one statement inside a block), so gaps start and end
where a programmer's edit would.

Files are read as bytes and decoded as strict UTF-8 without any newline rewriting, so
`meta.prefix + meta.middle + meta.suffix == text[meta.window[0]:meta.window[1]]` of the file's
exact text, and equals the whole file whenever it fits in `max_chars`. Files that are not valid
UTF-8 are skipped and counted.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterator
from typing import Any

from wikikit.code.refs import verify_ref
from wikikit.code.repo import Repo
from wikikit.code.symbols import tree_sitter_parser
from wikikit.data.sources._repos import iter_source_repos
from wikikit.data.sources.traceability import LANGUAGES
from wikikit.example import Example, Message, Ref, example_id

DEFAULT_PER_FILE = 2
DEFAULT_MAX_CHARS = 8000
MAX_MIDDLE_LINES = 40
# Nodes whose text is a block of statements (bodies of functions, classes, loops, branches).
BLOCK_TYPES = frozenset(
    {
        "block",
        "statement_block",
        "compound_statement",
        "class_body",
        "declaration_list",
        "field_declaration_list",
        "constructor_body",
        "switch_body",
        "interface_body",
        "enum_body",
    }
)
_SKIP_CHILD_TYPES = frozenset({"comment", "line_comment", "block_comment", "{", "}"})
TAGS = ("<fim_prefix>", "</fim_prefix>", "<fim_suffix>", "</fim_suffix>")
_LONE_CR = re.compile(r"\r(?!\n)")


def generate(name: str, config: dict, ctx: Any) -> Iterator[Example]:
    languages = set(config.get("languages") or (*LANGUAGES, "python"))
    per_file = int(config.get("per_file", DEFAULT_PER_FILE))
    max_chars = int(config.get("max_chars", DEFAULT_MAX_CHARS))
    max_file_bytes = int(config.get("max_file_bytes", 1_000_000))
    stats = ctx.stats[name]
    for repo in iter_source_repos(name, config, ctx, max_file_bytes):
        files = [rel for rel in repo.iter_files() if repo.language_of(rel) in languages]
        _rng(ctx.seed, repo.id, "file-order").shuffle(files)
        for rel in files:
            yield from file_samples(repo, rel, per_file, max_chars, ctx.seed, stats)


def _rng(*parts: Any) -> random.Random:
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def read_exact(repo: Repo, rel: str) -> str | None:
    """The file's exact text (strict UTF-8, newlines untouched), or None if it is not UTF-8."""
    try:
        data = (repo.root / rel).read_bytes()
    except OSError:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def candidate_spans(source: bytes, tree: Any, max_middle_bytes: int) -> list[tuple[int, int]]:
    """Byte spans of block nodes and of the statements inside them, de-duplicated, in order."""
    spans: set[tuple[int, int]] = set()
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type in BLOCK_TYPES:
            children = [c for c in node.named_children if c.type not in _SKIP_CHILD_TYPES]
            for n in [node, *children]:
                size = n.end_byte - n.start_byte
                rows = n.end_point.row - n.start_point.row + 1
                fits = 0 < size <= max_middle_bytes and rows <= MAX_MIDDLE_LINES
                if fits and source[n.start_byte : n.end_byte].strip():
                    spans.add((n.start_byte, n.end_byte))
        stack.extend(node.named_children)
    return sorted(spans)


def window(text: str, start: int, end: int, max_chars: int) -> tuple[int, int]:
    """Character window around [start, end) of at most max_chars, cut at line boundaries."""
    if len(text) <= max_chars:
        return 0, len(text)
    room = max(0, max_chars - (end - start))
    before = room * 2 // 3
    ws = max(0, start - before)
    if ws > 0:
        nl = text.find("\n", ws, start)
        ws = nl + 1 if nl != -1 else start
    we = min(len(text), end + (room - (start - ws)))
    if we < len(text):
        nl = text.rfind("\n", end, we)
        we = nl + 1 if nl != -1 else end
    return ws, we


def file_samples(
    repo: Repo, rel: str, per_file: int, max_chars: int, seed: int, stats: Any
) -> Iterator[Example]:
    lang = repo.language_of(rel) or "unknown"
    parser = tree_sitter_parser(lang, rel)
    if parser is None:
        stats["no_parser"] += 1
        return
    text = read_exact(repo, rel)
    if text is None:
        stats["not_utf8"] += 1
        return
    if _LONE_CR.search(text) or any(t in text for t in TAGS):
        # Line numbers would disagree with editors, or the tags would be ambiguous.
        stats["unsuitable_text"] += 1
        return
    source = text.encode("utf-8")
    tree = parser.parse(source)
    stats["files_parsed"] += 1
    spans = candidate_spans(source, tree, max_middle_bytes=max(16, max_chars // 4))
    if not spans:
        stats["files_without_spans"] += 1
        return
    rng = _rng(seed, repo.id, rel, "fim")
    chosen = rng.sample(spans, min(per_file, len(spans)))
    for sb, eb in sorted(chosen):
        # Byte offsets from the parser → character offsets in the exact text.
        s = len(source[:sb].decode("utf-8"))
        e = s + len(source[sb:eb].decode("utf-8"))
        ex = _sample(repo, rel, lang, text, s, e, max_chars, stats)
        if ex is not None:
            stats["examples"] += 1
            yield ex


def _sample(
    repo: Repo, rel: str, lang: str, text: str, s: int, e: int, max_chars: int, stats: Any
) -> Example | None:
    ws, we = window(text, s, e, max_chars)
    prefix, middle, suffix = text[ws:s], text[s:e], text[e:we]
    first = text.count("\n", 0, s) + 1
    last = text.count("\n", 0, e) + 1
    if verify_ref(repo, rel, first, last) is not None:
        stats["ref_rejected"] += 1
        return None
    user = (
        f"Fill in the missing middle of `{rel}` ({lang}). The code before the gap is between "
        "<fim_prefix> and </fim_prefix>, the code after it between <fim_suffix> and "
        "</fim_suffix>. Reply with exactly the missing code and nothing else.\n\n"
        f"<fim_prefix>{prefix}</fim_prefix>\n<fim_suffix>{suffix}</fim_suffix>"
    )
    return Example(
        id=example_id("fim", repo.id, rel, s, e, ws, we),
        messages=[Message("user", user), Message("assistant", middle)],
        source="fim",
        category="fim",
        language=lang,
        repo=repo.id,
        refs=[Ref(rel, first, last)],
        meta={
            "path": rel,
            "prefix": prefix,
            "middle": middle,
            "suffix": suffix,
            "window": [ws, we],
            "span": [s, e],
            "whole_file": ws == 0 and we == len(text),
        },
    )
