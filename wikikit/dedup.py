"""Dedup: exact duplicates by hash, then near-duplicates with datasketch's MinHash LSH.

Both passes look at the normalized assistant text (lower case, words only), which is what the
model learns to write. Shingles are word n-grams. The first example of each cluster (in stream
order) is kept, so the result is deterministic for a given input order.

Speed: a shingle's 32-bit hash is computed with numpy from per-word polynomial hashes (a
rolling polynomial over the window), and datasketch applies its permutations to the whole batch at
once (`MinHash.update_batch`, identity hash function). A candidate from the LSH index counts as
a duplicate only if the estimated Jaccard similarity reaches the threshold, so LSH's banding can
favour recall without removing unrelated texts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from datasketch import MinHash, MinHashLSH

# Why 0.5 on word 3-grams: editing a fraction p of the words leaves about (1-p)^k of the k-word
# shingles intact, so the Jaccard similarity is u/(2-u) with u = (1-p)^k. For p = 10% that is
# 0.57 with k=3 (caught at 0.5) but 0.42 with k=5 (missed even at 0.5); unrelated prose shares
# almost no word 3-grams. Measured on the planted set in tests/test_dedup.py.
DEFAULTS = {"method": "minhash", "threshold": 0.5, "num_perm": 128, "shingle": 3}
WORD = re.compile(r"\w+")
_MASK32 = np.uint64(0xFFFFFFFF)
_MULT = np.uint64(0x9E3779B97F4A7C15)


def normalize_words(text: str) -> list[str]:
    return WORD.findall(text.lower())


@dataclass
class DedupResult:
    kept: list[int]  # indices into the input, in input order
    # kept index -> indices of the duplicates it absorbed (exact and near), for the report
    clusters: dict[int, list[int]] = field(default_factory=dict)
    exact_removed: int = 0
    near_removed: int = 0

    def report(self, ids: Sequence[str] | None = None, limit: int = 50) -> dict[str, Any]:
        """A JSON-able summary: totals, cluster sizes and the largest clusters (by id)."""
        sizes: dict[str, int] = {}
        for members in self.clusters.values():
            key = str(len(members) + 1)
            sizes[key] = sizes.get(key, 0) + 1
        largest = sorted(self.clusters.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:limit]
        name = (lambda i: ids[i]) if ids is not None else (lambda i: i)
        return {
            "exact_removed": self.exact_removed,
            "near_removed": self.near_removed,
            "kept": len(self.kept),
            "clusters": len(self.clusters),
            "cluster_sizes": dict(sorted(sizes.items(), key=lambda kv: int(kv[0]))),
            "largest_clusters": [
                {"kept": name(k), "removed": [name(i) for i in members]} for k, members in largest
            ],
        }


class ShingleHasher:
    """32-bit hashes of word n-gram shingles, deterministic across processes and machines."""

    def __init__(self, shingle: int):
        self.k = shingle
        # Powers of the multiplier for the rolling polynomial over a k-word window.
        self._powers = np.array(
            [pow(0x9E3779B97F4A7C15, j, 1 << 64) for j in range(shingle)], dtype=np.uint64
        )

    def word_ids(self, words: list[str]) -> np.ndarray:
        """One 64-bit hash per word, computed for all words at once with numpy.

        A word's hash is the polynomial sum of its UTF-8 bytes, taken from prefix sums over the
        space-joined words and shifted back to the word's start with the multiplier's inverse.
        """
        if not words:
            return np.empty(0, dtype=np.uint64)
        data = np.frombuffer(" ".join(words).encode("utf-8"), dtype=np.uint8)
        n = len(data)
        pw, inv = _powers(n)
        acc = np.cumsum(data.astype(np.uint64) * pw[:n], dtype=np.uint64)
        spaces = np.flatnonzero(data == 32)
        starts = np.concatenate(([0], spaces + 1))
        ends = np.concatenate((spaces, [n]))  # exclusive
        total = acc[ends - 1]
        before = np.where(starts > 0, acc[np.maximum(starts - 1, 0)], np.uint64(0))
        h = (total - before) * inv[starts]
        return h * _MULT + (ends - starts).astype(np.uint64)

    def hashes(self, words: list[str]) -> np.ndarray:
        ids = self.word_ids(words)
        if len(ids) == 0:
            return ids
        k = min(self.k, len(ids))
        n = len(ids) - k + 1
        acc = np.zeros(n, dtype=np.uint64)
        for j in range(k):  # uint64 arithmetic wraps: a polynomial hash mod 2^64
            acc += ids[j : j + n] * self._powers[j]
        acc ^= acc >> np.uint64(29)  # fold high bits down before truncating to 32
        acc *= _MULT
        acc ^= acc >> np.uint64(32)
        return np.unique(acc & _MASK32)


_P = 1099511628211  # FNV prime: odd, so invertible mod 2^64
_POW = np.ones(1, dtype=np.uint64)
_INV = np.ones(1, dtype=np.uint64)


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """P^i and P^-i mod 2^64 for i < n (grown on demand, shared)."""
    global _POW, _INV
    if len(_POW) < n:
        size = max(n, 2 * len(_POW), 4096)
        inv_p = pow(_P, -1, 1 << 64)
        pw = [1] * size
        iv = [1] * size
        for i in range(1, size):
            pw[i] = pw[i - 1] * _P & 0xFFFFFFFFFFFFFFFF
            iv[i] = iv[i - 1] * inv_p & 0xFFFFFFFFFFFFFFFF
        _POW = np.array(pw, dtype=np.uint64)
        _INV = np.array(iv, dtype=np.uint64)
    return _POW, _INV


def _identity(x: int) -> int:
    return x


class MinHasher:
    """datasketch MinHashes of texts, sharing one set of permutations."""

    def __init__(self, num_perm: int, shingle: int, seed: int = 1):
        self.num_perm = num_perm
        self.shingles = ShingleHasher(shingle)
        self._template = MinHash(num_perm=num_perm, seed=seed, hashfunc=_identity)
        self.seed = seed

    def minhash(self, text: str, words: list[str] | None = None) -> MinHash:
        m = self._template.copy()
        hv = self.shingles.hashes(normalize_words(text) if words is None else words)
        if len(hv):
            m.update_batch(hv.tolist())
        return m


def dedup(
    texts: Sequence[str],
    *,
    method: str = "minhash",
    threshold: float = 0.8,
    num_perm: int = 128,
    shingle: int = 5,
    progress: Callable[[Any, str], Any] | None = None,
) -> DedupResult:
    """Indices of `texts` to keep (first of each exact / near-duplicate cluster)."""
    result = DedupResult(kept=[])
    wrap = progress or (lambda it, _desc: it)
    if method == "none":
        result.kept = list(range(len(texts)))
        return result

    first_by_hash: dict[bytes, int] = {}
    unique: list[int] = []
    words_of: dict[int, list[str]] = {}
    for i, text in enumerate(texts):
        words = normalize_words(text)
        digest = hashlib.blake2b(" ".join(words).encode("utf-8"), digest_size=16).digest()
        first = first_by_hash.setdefault(digest, i)
        if first == i:
            unique.append(i)
            if method != "exact":
                words_of[i] = words
        else:
            result.clusters.setdefault(first, []).append(i)
            result.exact_removed += 1
    if method == "exact":
        result.kept = unique
        return result

    hasher = MinHasher(num_perm, shingle)
    # Banding that favours recall; the Jaccard check below restores precision.
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=(0.2, 0.8))
    kept_sketch: dict[int, MinHash] = {}
    for i in wrap(unique, "dedup: minhash"):
        m = hasher.minhash(texts[i], words_of.pop(i))
        dup_of = None
        for cand in sorted(lsh.query(m)):  # lowest index first: deterministic cluster choice
            if m.jaccard(kept_sketch[cand]) >= threshold:
                dup_of = cand
                break
        if dup_of is None:
            lsh.insert(i, m, check_duplication=False)
            kept_sketch[i] = m
            result.kept.append(i)
        else:
            result.clusters.setdefault(dup_of, []).append(i)
            result.near_removed += 1
    for members in result.clusters.values():
        members.sort()
    return result
