"""Token lengths of examples with the real o200k tokenizer: per-source histograms, and a limit.

`scan` measures each example as it will be trained on (its rendered text when a renderer is
given, else its messages' content and thinking) and reports a histogram per source.
`enforce_max_tokens` drops examples over a limit, or splits the splittable ones (a single
message, e.g. `cpt` text) at line boundaries into parts that fit, and counts what it did.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from wikikit.example import Example, Message, Ref, example_id
from wikikit.tokens import count_tokens

BUCKETS = (256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536)
Render = Callable[[Example], str]


def example_tokens(example: Example, render: Render | None = None) -> int:
    if render is not None:
        return count_tokens(render(example))
    return sum(
        count_tokens(m.content) + (count_tokens(m.thinking) if m.thinking else 0)
        for m in example.messages
    )


def bucket_of(n: int) -> str:
    return next((f"<={b}" for b in BUCKETS if n <= b), f">{BUCKETS[-1]}")


def _summary(values: list[int]) -> dict[str, Any]:
    ordered = sorted(values)
    hist = Counter(bucket_of(n) for n in ordered)
    return {
        "count": len(ordered),
        "tokens": sum(ordered),
        "min": ordered[0],
        "median": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "max": ordered[-1],
        "histogram": {
            k: hist[k] for k in [*(f"<={b}" for b in BUCKETS), f">{BUCKETS[-1]}"] if hist[k]
        },
    }


def scan(
    examples: Iterable[Example], render: Render | None = None, lengths: list[int] | None = None
) -> dict[str, Any]:
    """{"sources": {source: summary}, "all": summary}; a summary has a token histogram.

    `lengths`, when the caller has measured already, are the examples' token counts in order."""
    per_source: dict[str, list[int]] = defaultdict(list)
    for i, ex in enumerate(examples):
        per_source[ex.source].append(lengths[i] if lengths else example_tokens(ex, render))
    everything = [n for v in per_source.values() for n in v]
    return {
        "buckets": list(BUCKETS),
        "sources": {s: _summary(v) for s, v in sorted(per_source.items())},
        "all": _summary(everything) if everything else {"count": 0},
    }


def enforce_max_tokens(
    examples: Iterable[Example],
    max_tokens: int,
    mode: str = "drop",
    render: Render | None = None,
    lengths: list[int] | None = None,
) -> tuple[list[Example], dict[str, int]]:
    """(examples that fit, counts). mode "split" cuts single-message examples into parts."""
    if mode not in ("drop", "split"):
        raise ValueError(f"mode must be 'drop' or 'split', not {mode!r}")
    kept: list[Example] = []
    counts: Counter = Counter()
    for i, ex in enumerate(examples):
        n = lengths[i] if lengths else example_tokens(ex, render)
        if n <= max_tokens:
            kept.append(ex)
            counts["kept"] += 1
            continue
        counts["over_limit"] += 1
        parts = _split(ex, max_tokens, render) if mode == "split" else None
        if parts:
            kept.extend(parts)
            counts["split"] += 1
            counts["split_parts"] += len(parts)
        else:
            counts["dropped" if mode == "drop" else "dropped_unsplittable"] += 1
    return kept, dict(counts)


def _split(ex: Example, max_tokens: int, render: Render | None) -> list[Example] | None:
    """Line-boundary parts of a one-message example, each within max_tokens; None if impossible."""
    if len(ex.messages) != 1 or ex.messages[0].tool_calls or ex.messages[0].thinking:
        return None
    msg = ex.messages[0]
    overhead = example_tokens(replace(ex, messages=[Message(msg.role, "")]), render)
    budget = max_tokens - overhead
    if budget <= 0:
        return None
    chunks: list[str] = []
    cur: list[str] = []
    cur_tokens = 0
    for line in msg.content.split("\n"):
        t = count_tokens(line + "\n")
        if t > budget:
            return None  # one line alone does not fit: splitting at lines cannot help
        if cur and cur_tokens + t > budget:
            chunks.append("\n".join(cur))
            cur, cur_tokens = [], 0
        cur.append(line)
        cur_tokens += t
    if cur:
        chunks.append("\n".join(cur))
    parts = []
    open_ref: Ref | None = None  # the file a part continues, when it starts inside one
    for i, text in enumerate(chunks):
        refs = _refs_in(ex.refs, text)
        if open_ref is not None and not text.startswith("<path>") and open_ref not in refs:
            refs.insert(0, open_ref)
        open_ref = _last_opened(ex.refs, text) or open_ref
        part = replace(
            ex,
            id=example_id(ex.id, "part", i),
            messages=[Message(msg.role, text)],
            refs=refs,
            meta={**ex.meta, "split_from": ex.id, "part": i, "parts": len(chunks)},
        )
        if example_tokens(part, render) > max_tokens:
            return None
        parts.append(part)
    return parts


def _refs_in(refs: list[Ref], text: str) -> list[Ref]:
    """The references whose file is named in this part (cpt wraps each file in <path> tags)."""
    return [r for r in refs if f"<path>{r.path}" in text or f"`{r.path}" in text]


def _last_opened(refs: list[Ref], text: str) -> Ref | None:
    """The reference whose <path> tag comes last in this part (the file still open at its end)."""
    best, pos = None, -1
    for r in refs:
        at = text.rfind(f"<path>{r.path}")
        if at > pos:
            best, pos = r, at
    return best
