"""Cut DeepWiki pages into chunks, each becoming one example; chosen by `chunking.strategy`.

- `heading` (level 1-3): a chunk starts at every heading of that level or higher;
- `h2`: a chunk starts at every H2 only (an H1's intro stays with what precedes the first H2);
- `hr`: a chunk per `---`-separated part;
- `tokens`: chunks sized with the real tokenizer, each drawn from a target size distribution
  (default 25% under 4k, 50% 4k-10k, 25% 10k-16k tokens), with ~200 tokens of overlap. It runs
  over a whole repository's pages in order, since single pages are rarely 10k tokens long.

Chunks are made of whole blocks, so a fenced block (a Mermaid diagram) is never cut; only a
single block longer than `max_tokens` is split by lines. A chunk's refs and diagrams are read
from its own text, so each keeps exactly those it shows.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

from wikikit.deepwiki.markdown import Block, join_blocks
from wikikit.deepwiki.page import Page, refs_in_prose
from wikikit.errors import InputError
from wikikit.example import Ref
from wikikit.tokens import count_tokens, decode, encode

STRATEGIES = ("heading", "h2", "hr", "tokens")
DEFAULT_DISTRIBUTION = (
    {"min_tokens": 1000, "max_tokens": 4000, "weight": 0.25},
    {"min_tokens": 4000, "max_tokens": 10000, "weight": 0.50},
    {"min_tokens": 10000, "max_tokens": 16000, "weight": 0.25},
)


@dataclass
class Chunk:
    blocks: list[Block]
    overlap: str = ""  # text repeated from the previous chunk (tokens strategy)

    @property
    def text(self) -> str:
        body = join_blocks(self.blocks)
        return f"{self.overlap}\n\n{body}".strip() if self.overlap else body

    @property
    def headings(self) -> list[tuple[int, str]]:
        return [(b.level, b.title) for b in self.blocks if b.kind == "heading"]

    @property
    def diagrams(self) -> list[str]:
        return [b.code_body for b in self.blocks if b.is_mermaid]

    @property
    def refs(self) -> list[Ref]:
        prose = [Block("text", self.overlap, 0)] if self.overlap else []
        return refs_in_prose(prose + self.blocks)

    @property
    def tokens(self) -> int:
        return count_tokens(self.text)


def chunk_page(page: Page, strategy: str = "heading", level: int = 2) -> list[Chunk]:
    """Structural strategies (heading, h2, hr) on one page."""
    blocks = page.blocks
    if strategy == "heading":
        starts = lambda b: b.kind == "heading" and b.level <= level  # noqa: E731
    elif strategy == "h2":
        starts = lambda b: b.kind == "heading" and b.level == 2  # noqa: E731
    elif strategy == "hr":
        starts = lambda b: b.kind == "hr"  # noqa: E731
    else:
        raise ValueError(f"not a per-page strategy: {strategy}")
    chunks: list[list[Block]] = [[]]
    for b in blocks:
        if starts(b) and chunks[-1]:
            chunks.append([])
        if b.kind != "hr":
            chunks[-1].append(b)
    return [Chunk(c) for c in chunks if _has_content(c)]


def _has_content(blocks: list[Block]) -> bool:
    return any(b.kind != "heading" for b in blocks)


def chunk_by_tokens(
    blocks: list[Block],
    *,
    distribution: list[dict[str, Any]] | tuple = DEFAULT_DISTRIBUTION,
    max_tokens: int = 16000,
    overlap_tokens: int = 200,
    rng: random.Random | None = None,
) -> list[Chunk]:
    """Pack whole blocks into chunks whose sizes follow `distribution` (a list of buckets)."""
    rng = rng or random.Random(0)
    sized = [(b, count_tokens(b.text)) for b in _split_oversized(blocks, max_tokens)]
    chunks: list[Chunk] = []
    current: list[Block] = []
    size = 0
    target = draw_target(distribution, max_tokens, rng)
    overlap = ""
    for block, n in sized:
        # Close before a heading once the chunk is well on its way: sections stay whole.
        near_target = size >= 0.6 * target and block.kind == "heading"
        if _has_content(current) and (size + n > target or near_target):
            # Headings at the end belong to what follows them, not to this chunk.
            carried: list[Block] = []
            while current and current[-1].kind == "heading":
                carried.insert(0, current.pop())
            chunks.append(Chunk(current, overlap))
            overlap = tail_text(current, overlap_tokens)
            current = carried
            size = count_tokens(overlap) + sum(count_tokens(b.text) for b in carried)
            target = draw_target(distribution, max_tokens, rng)
        current.append(block)
        size += n
    if _has_content(current):
        chunks.append(Chunk(current, overlap))
    return chunks


def draw_target(distribution, max_tokens: int, rng: random.Random) -> int:
    weights = [float(b.get("weight", 1.0)) for b in distribution]
    bucket = rng.choices(list(distribution), weights=weights)[0]
    lo = int(bucket.get("min_tokens", 0))
    hi = min(int(bucket["max_tokens"]), max_tokens)
    return rng.randint(min(lo, hi), hi)


def tail_text(blocks: list[Block], budget: int) -> str:
    """Up to `budget` tokens from the end: whole blocks, then trailing lines or sentences of
    prose. Never part of a fenced block, never a heading (the overlap is context, not a section).
    """
    if budget <= 0:
        return ""
    taken: list[str] = []
    used = 0
    for b in reversed(blocks):
        if b.kind == "heading":
            break
        n = count_tokens(b.text)
        if used + n <= budget:
            taken.insert(0, b.text.strip("\n"))
            used += n
            continue
        if b.kind == "text":
            part = _tail_of_prose(b.text.strip("\n"), budget - used)
            if part:
                taken.insert(0, part)
        break
    return "\n\n".join(t for t in taken if t.strip()).strip()


def _tail_of_prose(text: str, budget: int) -> str:
    pieces = re.split(r"(?<=[.!?])\s+|\n", text)
    taken: list[str] = []
    used = 0
    for piece in reversed(pieces):
        n = count_tokens(piece + " ")
        if used + n > budget:
            break
        taken.insert(0, piece)
        used += n
    return " ".join(taken).strip()


def _split_oversized(blocks: list[Block], max_tokens: int) -> list[Block]:
    out: list[Block] = []
    for b in blocks:
        if count_tokens(b.text) <= max_tokens:
            out.append(b)
            continue
        ids = encode(b.text)
        # Split on token boundaries, then back off to the last newline so lines stay whole.
        start = 0
        while start < len(ids):
            piece = decode(ids[start : start + max_tokens])
            if start + max_tokens < len(ids) and "\n" in piece:
                piece = piece[: piece.rfind("\n") + 1]
            out.append(Block("text", piece, b.line))
            start += max(1, len(encode(piece)))
    return out


def check_chunking(config: dict[str, Any], where: str) -> None:
    strategy = config.get("strategy", "heading")
    if strategy not in STRATEGIES:
        raise InputError(f"{where}.strategy: one of {', '.join(STRATEGIES)}, not {strategy!r}")
    for i, bucket in enumerate(config.get("size_distribution") or []):
        if "max_tokens" not in bucket:
            raise InputError(f"{where}.size_distribution.{i}: needs max_tokens")
