"""`kind: cpt`: continued pre-training text from a repository's files.

Each file becomes `<path>REL</path><file>TEXT</file>`. Files are visited directory by directory
(a module's files stay together) and packed greedily into documents of at most
`target_tokens[1]` tokens, counted with the real o200k tokenizer; a file larger than that is
split at line boundaries into parts (`<path>REL:a-b</path>`). A document is closed once it reaches
`target_tokens[0]` and the next piece would overflow it. Sizes go to
`ctx.artifacts["cpt/<name>/sizes.json"]` as a histogram and summary.

An example is one assistant message holding the packed text (category `cpt`), with a reference
for every file part it contains.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from wikikit.code.repo import Repo
from wikikit.data.sources._repos import iter_source_repos
from wikikit.example import Example, Message, Ref, example_id
from wikikit.tokens import count_tokens

DEFAULT_TARGET = (2048, 16384)
DEFAULT_MIN_FILE_BYTES = 1
SIZE_BUCKETS = (512, 1024, 2048, 4096, 8192, 16384, 32768)
SEPARATOR = "\n\n"


@dataclass
class Piece:
    path: str
    start: int
    end: int
    text: str  # the wrapped text
    tokens: int


def wrap(path: str, body: str, start: int | None = None, end: int | None = None) -> str:
    label = f"{path}:{start}-{end}" if start is not None else path
    return f"<path>{label}</path><file>{body}</file>"


def file_pieces(rel: str, lines: list[str], max_tokens: int) -> list[Piece]:
    """The file wrapped whole, or split at line boundaries into parts of at most max_tokens."""
    body = "\n".join(lines) + "\n"
    whole = wrap(rel, body)
    n = count_tokens(whole)
    if n <= max_tokens:
        return [Piece(rel, 1, len(lines), whole, n)]
    pieces: list[Piece] = []
    overhead = count_tokens(wrap(rel, "", 1, len(lines))) + 1
    budget = max(1, max_tokens - overhead)
    start = 1
    acc: list[str] = []
    acc_tokens = 0
    for i, line in enumerate(lines, start=1):
        t = count_tokens(line + "\n")
        if acc and acc_tokens + t > budget:
            pieces.append(_part(rel, start, i - 1, acc))
            start, acc, acc_tokens = i, [], 0
        if t > budget:
            # One line longer than the budget (minified code): cut it by tokens.
            from wikikit.tokens import decode, encode

            ids = encode(line)
            for k in range(0, len(ids), budget):
                chunk = decode(ids[k : k + budget])
                text = wrap(rel, chunk, i, i)
                pieces.append(Piece(rel, i, i, text, count_tokens(text)))
            start = i + 1
            continue
        acc.append(line)
        acc_tokens += t
    if acc:
        pieces.append(_part(rel, start, len(lines), acc))
    return pieces


def _part(rel: str, start: int, end: int, lines: list[str]) -> Piece:
    text = wrap(rel, "\n".join(lines) + "\n", start, end)
    return Piece(rel, start, end, text, count_tokens(text))


def pack(pieces: list[Piece], lo: int, hi: int) -> list[list[Piece]]:
    """Greedy packing in order: close a document when the next piece would pass `hi` tokens.

    A document under `lo` keeps taking pieces only while they fit; the last one may stay short.
    """
    sep = count_tokens(SEPARATOR)
    docs: list[list[Piece]] = []
    cur: list[Piece] = []
    cur_tokens = 0
    for p in pieces:
        extra = p.tokens + (sep if cur else 0)
        if cur and cur_tokens + extra > hi:
            docs.append(cur)
            cur, cur_tokens, extra = [], 0, p.tokens
        cur.append(p)
        cur_tokens += extra
    if cur:
        docs.append(cur)
    return docs


def size_report(sizes: list[int], lo: int, hi: int) -> dict[str, Any]:
    hist: Counter = Counter()
    for n in sizes:
        bucket = next((f"<={b}" for b in SIZE_BUCKETS if n <= b), f">{SIZE_BUCKETS[-1]}")
        hist[bucket] += 1
    ordered = sorted(sizes)
    return {
        "target_tokens": [lo, hi],
        "documents": len(sizes),
        "tokens": sum(sizes),
        "min": ordered[0] if ordered else 0,
        "median": statistics.median(ordered) if ordered else 0,
        "max": ordered[-1] if ordered else 0,
        "under_min": sum(1 for n in sizes if n < lo),
        "over_max": sum(1 for n in sizes if n > hi),
        "histogram": {
            k: hist[k] for k in [*(f"<={b}" for b in SIZE_BUCKETS), f">{SIZE_BUCKETS[-1]}"]
        },
    }


def generate(name: str, config: dict, ctx: Any) -> Iterator[Example]:
    lo, hi = (int(x) for x in (config.get("target_tokens") or DEFAULT_TARGET))
    if lo > hi:
        lo, hi = hi, lo
    min_bytes = int(config.get("min_file_bytes", DEFAULT_MIN_FILE_BYTES))
    max_file_bytes = int(config.get("max_file_bytes", 1_000_000))
    languages = set(config.get("languages") or [])
    stats = ctx.stats[name]
    sizes: list[int] = []
    try:
        for repo in iter_source_repos(name, config, ctx, max_file_bytes):
            pieces = list(_repo_pieces(repo, languages, min_bytes, hi, stats))
            for doc in pack(pieces, lo, hi):
                text = SEPARATOR.join(p.text for p in doc)
                n = count_tokens(text)
                sizes.append(n)
                stats["documents"] += 1
                yield Example(
                    id=example_id("cpt", repo.id, [(p.path, p.start, p.end) for p in doc]),
                    messages=[Message("assistant", text)],
                    source="cpt",
                    category="cpt",
                    language=_language(repo, doc),
                    repo=repo.id,
                    refs=[Ref(p.path, p.start, p.end) for p in doc],
                    meta={"tokens": n, "files": sorted({p.path for p in doc})},
                )
    finally:
        # Also on early stop (max_examples): the report covers what was produced.
        report = size_report(sizes, lo, hi)
        ctx.artifacts[f"cpt/{name}/sizes.json"] = report
        stats["tokens"] = report["tokens"]
        stats["under_min_tokens"] = report["under_min"]


def _repo_pieces(
    repo: Repo, languages: set[str], min_bytes: int, hi: int, stats: Any
) -> Iterator[Piece]:
    files = [
        rel for rel in repo.iter_files() if not languages or repo.language_of(rel) in languages
    ]
    # Directory order keeps a module's files adjacent, so packing clusters them.
    files.sort(key=lambda rel: (rel.rsplit("/", 1)[0] if "/" in rel else "", rel))
    for rel in files:
        try:
            size = (repo.root / rel).stat().st_size
        except OSError:
            stats["unreadable"] += 1
            continue
        if size < min_bytes:
            stats["too_small"] += 1
            continue
        lines = repo.lines(rel)
        if not lines:
            stats["too_small"] += 1
            continue
        parts = file_pieces(rel, lines, hi)
        stats["files_used"] += 1
        stats["files_split"] += len(parts) > 1
        yield from parts


def _language(repo: Repo, doc: list[Piece]) -> str:
    langs = Counter(repo.language_of(p.path) or "unknown" for p in doc)
    return langs.most_common(1)[0][0]
