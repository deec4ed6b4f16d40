"""Decontamination: drop training examples that overlap held-out text.

Held-out text is the validation and test examples and, when shipped, the eval tasks' data
files. A training example is dropped when the share of its word n-grams found anywhere in the
held-out text exceeds the threshold. n-grams are hashed like dedup's shingles.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from wikikit.dedup import ShingleHasher, normalize_words
from wikikit.example import Example

DEFAULTS = {"enabled": True, "ngram": 8, "threshold": 0.5}


def example_text(example: Example) -> str:
    """What counts as the example's text: every user and assistant turn."""
    return "\n".join(
        m.content for m in example.messages if m.role in ("user", "assistant") and m.content
    )


def _strings(obj: Any) -> Iterable[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k in sorted(obj):
            yield from _strings(obj[k])
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


def eval_task_texts(eval_dir: Path) -> list[str]:
    """Every string in the JSON/JSONL data files shipped under eval_tasks/<task>/."""
    texts: list[str] = []
    if not eval_dir.is_dir():
        return texts
    for path in sorted(eval_dir.rglob("*")):
        if path.suffix == ".jsonl":
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    texts.append("\n".join(_strings(json.loads(line))))
                except json.JSONDecodeError:
                    continue
        elif path.suffix == ".json":
            try:
                texts.append("\n".join(_strings(json.loads(path.read_text(encoding="utf-8")))))
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
    return texts


class HeldOut:
    """A set of n-gram hashes from held-out text."""

    def __init__(self, ngram: int):
        self.hasher = ShingleHasher(ngram)
        self.ngram = ngram
        self._parts: list[np.ndarray] = []
        self._all: np.ndarray | None = None

    def add(self, text: str) -> None:
        words = normalize_words(text)
        if len(words) >= self.ngram:
            self._parts.append(self.hasher.hashes(words))
            self._all = None

    def overlap(self, text: str) -> float:
        """Share of `text`'s n-grams that occur in the held-out text."""
        words = normalize_words(text)
        if len(words) < self.ngram:
            return 0.0
        if self._all is None:
            self._all = (
                np.unique(np.concatenate(self._parts)) if self._parts else np.empty(0, np.uint64)
            )
        grams = self.hasher.hashes(words)
        return float(np.isin(grams, self._all, assume_unique=True).mean()) if len(grams) else 0.0


def decontaminate(
    train: Sequence[Example],
    held_out: Iterable[str],
    ngram: int = 8,
    threshold: float = 0.5,
) -> tuple[list[int], list[dict[str, Any]]]:
    """(indices of `train` to keep, one record per dropped example with its overlap)."""
    ref = HeldOut(ngram)
    for text in held_out:
        ref.add(text)
    kept: list[int] = []
    dropped: list[dict[str, Any]] = []
    for i, ex in enumerate(train):
        share = ref.overlap(example_text(ex))
        if share > threshold:
            dropped.append({"id": ex.id, "source": ex.source, "overlap": round(share, 4)})
        else:
            kept.append(i)
    return kept, dropped
