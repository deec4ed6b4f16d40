"""Decontamination: drop training examples that overlap held-out text.

Held-out text is the validation and test examples and, when shipped, the eval tasks' data
files. A training example is dropped when the share of its word n-grams found anywhere in the
held-out text exceeds the threshold. n-grams are hashed like dedup's shingles.

The benchmark's own documentation is held-out text too: the `docs_tree` and `structured_docs`
of every CodeWikiBench row that `data.holdout` holds out (read from the datasets the recipe's
sources name: `kind: codewikibench`, and a semanticwiki source's `codewikibench:`). Every
example of every source is compared with it before the mix, on its answer (the assistant
turns: what the model learns to write; a page prompt's ~3,400 tokens of code would otherwise
dilute a copied answer below any threshold), and dropped above the threshold, counted per
source (quality.json `decontaminate.benchmark`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from wikikit.bounded import JsonlError, iter_jsonl
from wikikit.data.dedup import ShingleHasher, normalized_bytes
from wikikit.errors import InputError
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
            try:
                texts.extend("\n".join(_strings(row)) for _, row in iter_jsonl(path))
            except JsonlError as exc:
                # an eval item that cannot be read cannot be decontaminated against: say so
                raise InputError(f"decontamination: {exc}") from None
        elif path.suffix == ".json":
            try:
                texts.append("\n".join(_strings(json.loads(path.read_text(encoding="utf-8")))))
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
    return texts


_BATCH_BYTES = 256 * 1024  # normalized text per numpy batch


def _batches(docs: list[bytes], ngram: int) -> Iterator[list[int]]:
    """Indices of the texts with at least `ngram` words, in batches of about _BATCH_BYTES."""
    batch: list[int] = []
    size = 0
    for i, doc in enumerate(docs):
        if doc and doc.count(b" ") + 1 >= ngram:
            batch.append(i)
            size += len(doc) + 1
            if size >= _BATCH_BYTES:
                yield batch
                batch, size = [], 0
    if batch:
        yield batch


class HeldOut:
    """A set of n-gram hashes from held-out text, and the share of a text's n-grams in it.

    Texts are hashed in numpy batches (dedup's shingle hashes); a text with fewer than n words
    has no n-grams and overlaps nothing.
    """

    def __init__(self, ngram: int):
        self.hasher = ShingleHasher(ngram)
        self.ngram = ngram
        self._parts: list[np.ndarray] = []
        self._all: np.ndarray | None = None  # sorted, distinct

    def add_many(self, texts: Iterable[str]) -> None:
        docs = [normalized_bytes(t) for t in texts]
        for batch in _batches(docs, self.ngram):
            hv, _ = self.hasher.windows_of_many([docs[i] for i in batch])
            self._parts.append(np.unique(hv))
            self._all = None

    def add(self, text: str) -> None:
        self.add_many([text])

    def overlaps(self, texts: Sequence[str]) -> list[float]:
        """For each text, the share of its distinct n-grams that occur in the held-out text."""
        if self._all is None:
            self._all = (
                np.unique(np.concatenate(self._parts)) if self._parts else np.empty(0, np.uint64)
            )
        shares = [0.0] * len(texts)
        if not len(self._all):
            return shares
        docs = [normalized_bytes(t) for t in texts]
        for batch in _batches(docs, self.ngram):
            hv, per_doc = self.hasher.windows_of_many([docs[i] for i in batch])
            # (text, n-gram) pairs in one uint64 each: sorted, a pair equal to the one before
            # is a repeat within the text. A binary search in the sorted held-out set says
            # which n-grams occur there (queries in sorted order: far fewer cache misses).
            owner = np.repeat(np.arange(len(batch), dtype=np.uint64), per_doc)
            pairs = np.sort((owner << np.uint64(32)) | hv)
            pairs = pairs[np.concatenate(([True], pairs[1:] != pairs[:-1]))]
            grams = pairs & np.uint64(0xFFFFFFFF)
            order = np.argsort(grams, kind="stable")
            grams = grams[order]
            at = np.searchsorted(self._all, grams)
            at[at == len(self._all)] = 0
            found = self._all[at] == grams
            text_of = (pairs[order] >> np.uint64(32)).astype(np.intp)
            total = np.bincount(text_of, minlength=len(batch)).astype(np.float64)
            hits = np.bincount(text_of, weights=found, minlength=len(batch))
            for j, i in enumerate(batch):
                shares[i] = float(hits[j] / total[j])
        return shares

    def overlap(self, text: str) -> float:
        return self.overlaps([text])[0]


def decontaminate(
    train: Sequence[Example],
    held_out: Iterable[str],
    ngram: int = 8,
    threshold: float = 0.5,
    text: Callable[[Example], str] = example_text,
) -> tuple[list[int], list[dict[str, Any]]]:
    """(indices of `train` to keep, one record per dropped example with its overlap); `text`
    says what of an example is compared."""
    ref = HeldOut(ngram)
    ref.add_many(held_out)
    shares = ref.overlaps([text(ex) for ex in train])
    kept: list[int] = []
    dropped: list[dict[str, Any]] = []
    for i, (ex, share) in enumerate(zip(train, shares, strict=True)):
        if share > threshold:
            dropped.append({"id": ex.id, "source": ex.source, "overlap": round(share, 4)})
        else:
            kept.append(i)
    return kept, dropped


# -- the benchmark's documentation -----------------------------------------------------------


def _datasets(recipe: Any) -> list[tuple[tuple, dict[str, Any]]]:
    """(key path, config) of each distinct CodeWikiBench dataset the recipe's sources read."""
    sources = ((getattr(recipe, "data", None) or {}).get("data") or {}).get("sources") or {}
    found: dict[str, tuple[tuple, dict[str, Any]]] = {}
    for name, cfg in sources.items():
        if not isinstance(cfg, dict):
            continue
        at = ("data", "sources", name)
        if cfg.get("kind") == "codewikibench":
            where, bench = at, cfg
        elif isinstance(cfg.get("codewikibench"), dict):
            where, bench = (*at, "codewikibench"), cfg["codewikibench"]
        else:
            continue
        keep = ("dataset", "revision", "path", "split")
        found.setdefault(
            json.dumps({k: bench.get(k) for k in keep}, sort_keys=True), (where, bench)
        )
    return list(found.values())


def benchmark_texts(recipe: Any, cache_dir: Path, holdout: Any) -> tuple[list[str], list[str]]:
    """(the docs_tree and structured_docs text of each held-out benchmark row, their
    repo_names), from every CodeWikiBench dataset the recipe reads; ([], []) when none."""
    from wikikit.data.sources import SourceContext
    from wikikit.data.sources.codewikibench import BadRow, decode_json, load_rows

    texts: list[str] = []
    repos: list[str] = []
    if not holdout:
        return texts, repos
    for key_path, bench in _datasets(recipe):
        ctx = SourceContext(recipe=recipe, cache_dir=cache_dir, key_path=key_path)
        where = ".".join(map(str, key_path))
        for row in load_rows(bench, ctx, where):
            name = str(row.get("repo_name") or "")
            if not holdout.matches(name) or name in repos:
                continue
            for field in ("docs_tree", "structured_docs"):
                try:
                    value = decode_json(row.get(field), field, name, where)
                except BadRow:
                    continue  # the source reports a malformed row; nothing to compare here
                if value is not None:
                    texts.append("\n".join(_strings(value)))
            repos.append(name)
    return texts, repos


def assistant_text(example: Example) -> str:
    return example.assistant_text
