"""Dedup: exact duplicates by hash, then near-duplicates with datasketch's MinHash LSH.

Both passes look at the normalized assistant text (lower case, words only), which is what the
model learns to write. Shingles are word n-grams. The first example of each cluster (in stream
order) is kept, so the result is deterministic for a given input order.

Speed (50,000 texts of 2 KB in seconds, see bench/data_stage.py): shingle hashes are computed
with numpy for many texts at once (per-word polynomial hashes from prefix sums, a rolling
polynomial over the window), and the MinHash signatures of a whole batch come from one numpy
expression that is datasketch's own affine32 scheme (its permutations, its fmix pre-mix), so
each signature equals `MinHash.update_batch` on the same hashes (tests/test_dedup.py checks it).
Signatures become datasketch `LeanMinHash`es in a datasketch `MinHashLSH` index. A text whose
LSH band keys are shared with no other text in any band can have no candidate and be no one's
candidate, so only texts that share a band key go through the index (queried, then inserted if
kept): for a corpus with few near-duplicates that skips almost all of the index's per-text
Python work, and the result is the same as sending every text through it. A candidate counts as a duplicate only if the estimated Jaccard
similarity reaches the threshold, so LSH's banding can favour recall without removing unrelated
texts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

# Why 0.5 on word 3-grams: editing a fraction p of the words leaves about (1-p)^k of the k-word
# shingles intact, so the Jaccard similarity is u/(2-u) with u = (1-p)^k. For p = 10% that is
# 0.57 with k=3 (caught at 0.5) but 0.42 with k=5 (missed even at 0.5); unrelated prose shares
# almost no word 3-grams. Measured on the planted set in tests/test_dedup.py.
DEFAULTS = {"method": "minhash", "threshold": 0.5, "num_perm": 128, "shingle": 3}
WORD = re.compile(r"\w+")
_MASK32 = np.uint64(0xFFFFFFFF)
_MULT = np.uint64(0x9E3779B97F4A7C15)


# ASCII byte -> itself for [a-z0-9_], lower case for [A-Z], a space for everything else: the
# same words as WORD.findall(text.lower()) for ASCII text, without making one str per word.
_ASCII_WORDS = bytes(
    c + 32 if 65 <= c <= 90 else c if (48 <= c <= 57 or 97 <= c <= 122 or c == 95) else 32
    for c in range(256)
)


def normalize_words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def normalized_bytes(text: str) -> bytes:
    """`" ".join(normalize_words(text))` as UTF-8, fast for ASCII text."""
    if text.isascii():
        return b" ".join(text.encode("ascii").translate(_ASCII_WORDS).split())
    return " ".join(WORD.findall(text.lower())).encode("utf-8")


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
        return self.word_ids_of(" ".join(words).encode("utf-8"))

    def word_ids_of(self, data: bytes) -> np.ndarray:
        """One 64-bit hash per space-separated word of `data`, all computed at once with numpy.

        A word's hash is the polynomial sum of its UTF-8 bytes, taken from prefix sums and
        shifted back to the word's start with the multiplier's inverse, so it does not depend
        on where the word is: many texts joined by spaces give each text's own word hashes.
        """
        if not data:
            return np.empty(0, dtype=np.uint64)
        arr = np.frombuffer(data, dtype=np.uint8)
        n = len(arr)
        pw, inv = _powers(n)
        acc = np.cumsum(arr.astype(np.uint64) * pw[:n], dtype=np.uint64)
        spaces = np.flatnonzero(arr == 32)
        starts = np.concatenate(([0], spaces + 1))
        ends = np.concatenate((spaces, [n]))  # exclusive
        total = acc[ends - 1]
        before = np.where(starts > 0, acc[np.maximum(starts - 1, 0)], np.uint64(0))
        h = (total - before) * inv[starts]
        return h * _MULT + (ends - starts).astype(np.uint64)

    def window_hashes(self, ids: np.ndarray, k: int) -> np.ndarray:
        """The 32-bit hash (in uint64) of every k-word window of `ids`, with repeats."""
        n = len(ids) - k + 1
        acc = np.zeros(n, dtype=np.uint64)
        for j in range(k):  # uint64 arithmetic wraps: a polynomial hash mod 2^64
            acc += ids[j : j + n] * self._powers[j]
        acc ^= acc >> np.uint64(29)  # fold high bits down before truncating to 32
        acc *= _MULT
        acc ^= acc >> np.uint64(32)
        return acc & _MASK32

    def windows_of_many(self, docs: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
        """Every k-word window hash of several normalized texts of at least k words each, text
        after text, and how many windows each text has."""
        k = self.k
        ids = self.word_ids_of(b" ".join(docs))
        words = np.array([d.count(b" ") + 1 for d in docs], dtype=np.intp)
        owner = np.repeat(np.arange(len(docs)), words)
        hv = self.window_hashes(ids, k)
        return hv[owner[: len(hv)] == owner[k - 1 :]], words - k + 1  # windows inside one text

    def hashes(self, words: list[str]) -> np.ndarray:
        """The distinct shingle hashes of a text (one shingle of all words if it is short)."""
        ids = self.word_ids(words)
        if len(ids) == 0:
            return ids
        return np.unique(self.window_hashes(ids, min(self.k, len(ids))))


_P = 1099511628211  # FNV prime: odd, so invertible mod 2^64
_POW = np.ones(1, dtype=np.uint64)
_INV = np.ones(1, dtype=np.uint64)


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """P^i and P^-i mod 2^64 for i < n (grown on demand by doubling, shared)."""
    global _POW, _INV
    if len(_POW) < n:
        inv_p = pow(_P, -1, 1 << 64)
        pw, iv = _POW, _INV
        while len(pw) < max(n, 4096):
            m = len(pw)  # the second half is the first times P^m (uint64 wraps: mod 2^64)
            pw = np.concatenate((pw, pw * np.uint64(pow(_P, m, 1 << 64))))
            iv = np.concatenate((iv, iv * np.uint64(pow(inv_p, m, 1 << 64))))
        _POW, _INV = pw, iv
    return _POW, _INV


def _identity(x: int) -> int:
    return x


# MurmurHash3's 32-bit finalizer, the pre-mix of datasketch's affine32 scheme.
_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35))
_EMPTY32 = np.uint32(0xFFFFFFFF)  # datasketch's value for "no element seen"
_BATCH_BYTES = 64 * 1024  # texts per numpy batch: the (num_perm x shingles) block stays small


def _fmix32(hv: np.ndarray) -> np.ndarray:
    s1, m1, s2, m2 = _FMIX32
    hv = hv ^ (hv >> s1)
    hv *= m1
    hv ^= hv >> s2
    hv *= m2
    hv ^= hv >> s1
    return hv


class MinHasher:
    """datasketch (affine32) MinHash signatures of normalized texts, computed in batches."""

    scheme = "affine32"

    def __init__(self, num_perm: int, shingle: int, seed: int = 1):
        self.num_perm = num_perm
        self.seed = seed
        self.shingles = ShingleHasher(shingle)
        template = MinHash(num_perm=num_perm, seed=seed, hashfunc=_identity, scheme=self.scheme)
        self.template = template
        self._a, self._b = (np.asarray(p, dtype=np.uint32) for p in template.permutations)

    def _minima(self, shingles: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Per segment of `shingles` (starting at `offsets`), the min of every permutation."""
        hv = _fmix32(shingles.astype(np.uint32))
        # (num_perm, shingles): each permutation's values are contiguous for the reduction.
        phv = np.multiply.outer(self._a, hv)  # uint32 wraps: datasketch's mod 2^32
        phv += self._b[:, None]
        return np.minimum.reduceat(phv, offsets, axis=1).T

    def signatures(self, docs: Sequence[bytes]) -> np.ndarray:
        """One row of `num_perm` hash values per text from `normalized_bytes`.

        Row i equals `MinHash(num_perm, seed, hashfunc=identity, scheme="affine32")` updated
        with text i's shingle hashes; an empty text keeps datasketch's initial values.
        """
        out = np.full((len(docs), self.num_perm), _EMPTY32, dtype=np.uint32)
        k = self.shingles.k
        batch: list[int] = []
        size = 0
        for i, doc in enumerate(docs):
            if not doc:
                continue
            if doc.count(b" ") + 1 < k:  # a short text is one shingle of all its words
                ids = self.shingles.word_ids_of(doc)
                hv = self.shingles.window_hashes(ids, len(ids))
                out[i] = self._minima(hv, np.zeros(1, dtype=np.intp))[0]
                continue
            batch.append(i)
            size += len(doc) + 1
            if size >= _BATCH_BYTES:
                out[batch] = self._batch(docs, batch)
                batch, size = [], 0
        if batch:
            out[batch] = self._batch(docs, batch)
        return out

    def _batch(self, docs: Sequence[bytes], idx: list[int]) -> np.ndarray:
        hv, per_doc = self.shingles.windows_of_many([docs[i] for i in idx])
        offsets = np.concatenate(([0], np.cumsum(per_doc)[:-1]))
        return self._minima(hv, offsets)

    def lean(self, hashvalues: np.ndarray) -> LeanMinHash:
        return LeanMinHash(seed=self.seed, hashvalues=hashvalues, scheme=self.scheme)


def shares_a_band(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """For each signature, whether some other signature has the same values in some LSH band.

    Bands are MinHashLSH's: `rows` consecutive hash values each, from the start. A signature
    for which this is False gets no candidates from the index and is no one's candidate.
    """
    n = len(signatures)
    shared = np.zeros(n, dtype=bool)
    if n < 2:
        return shared
    key = np.dtype((np.void, rows * signatures.itemsize))
    for band in range(bands):
        cols = np.ascontiguousarray(signatures[:, band * rows : (band + 1) * rows])
        _, inverse, counts = np.unique(
            cols.view(key).ravel(), return_inverse=True, return_counts=True
        )
        shared |= counts[inverse.ravel()] > 1
    return shared


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
    normalized: list[bytes] = []
    for i, text in enumerate(wrap(texts, "dedup: exact")):
        data = normalized_bytes(text)
        first = first_by_hash.setdefault(hashlib.blake2b(data, digest_size=16).digest(), i)
        if first == i:
            unique.append(i)
            normalized.append(data)
        else:
            result.clusters.setdefault(first, []).append(i)
            result.exact_removed += 1
    if method == "exact":
        result.kept = unique
        return result

    hasher = MinHasher(num_perm, shingle)
    sigs = hasher.signatures(normalized)
    del normalized
    # Banding that favours recall; the Jaccard check below restores precision.
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=(0.2, 0.8))
    indexed = np.flatnonzero(shares_a_band(sigs, lsh.b, lsh.r)).tolist()
    # Query, then index only what is kept: the index stays as small as the set of kept texts
    # (a heavily duplicated corpus does not make every query return every copy).
    removed = np.zeros(len(unique), dtype=bool)
    for j in wrap(indexed, "dedup: minhash lsh"):
        sketch = hasher.lean(sigs[j])
        for c in sorted(lsh.query(sketch)):  # lowest index first: deterministic cluster choice
            if float(np.count_nonzero(sigs[j] == sigs[c])) / float(num_perm) >= threshold:
                removed[j] = True
                result.clusters.setdefault(unique[c], []).append(unique[j])
                result.near_removed += 1
                break
        else:
            lsh.insert(j, sketch, check_duplication=False)
    result.kept = [i for j, i in enumerate(unique) if not removed[j]]
    for members in result.clusters.values():
        members.sort()
    return result
