"""Dedup on a planted set: exact copies, light edits (5-10% of words) and unrelated texts."""

from __future__ import annotations

import importlib
import inspect
import random
import sys

import pytest

from wikikit.dedup import DEFAULTS, dedup, normalize_words


def _stdlib_docs(limit: int = 360) -> list[str]:
    """Real English prose: long docstrings from the standard library, pairwise dissimilar."""
    docs: list[str] = []
    seen: set[str] = set()
    for name in sorted(sys.stdlib_module_names):
        if name.startswith("_") or name in (
            "antigravity",
            "this",
            "idlelib",
            "turtledemo",
            "tkinter",
            "turtle",
        ):
            continue
        try:
            mod = importlib.import_module(name)
        except Exception:
            continue
        objs = [mod] + [
            o for _, o in sorted(vars(mod).items()) if inspect.isclass(o) or inspect.isfunction(o)
        ]
        for cls in [o for o in objs if inspect.isclass(o)]:
            objs += [f for _, f in sorted(vars(cls).items()) if inspect.isfunction(f)]
        for o in objs:
            d = inspect.getdoc(o)
            if d and len(d.split()) >= 80 and d not in seen:
                seen.add(d)
                docs.append(" ".join(d.split()[:300]))

    # The stdlib itself has near-copies (pickle.load vs Unpickler): keep only texts that share
    # under 20% of word 3-grams with every text kept before them, so "unrelated" is true.
    def grams(t):
        w = normalize_words(t)
        return {tuple(w[i : i + 3]) for i in range(len(w) - 2)}

    unrelated, sets = [], []
    for d in docs:
        g = grams(d)
        if all(len(g & h) / len(g | h) < 0.2 for h in sets):
            unrelated.append(d)
            sets.append(g)
        if len(unrelated) >= limit:
            break
    return unrelated


def _light_edit(text: str, rng: random.Random, vocab: list[str]) -> str:
    words = text.split()
    rate = rng.uniform(0.05, 0.10)
    for i in rng.sample(range(len(words)), max(1, round(rate * len(words)))):
        op = rng.random()
        if op < 0.6:
            words[i] = rng.choice(vocab)  # substitute
        elif op < 0.8:
            words[i] = ""  # delete
        else:
            words[i] += " " + rng.choice(vocab)  # insert
    return " ".join(w for w in words if w)


@pytest.fixture(scope="module")
def planted():
    docs = _stdlib_docs()
    assert len(docs) >= 200, "too few unrelated stdlib docstrings to plant a test set"
    rng = random.Random(7)
    vocab = sorted({w for d in docs for w in d.split()})
    originals = docs[: len(docs) // 3]
    texts = list(docs)
    planted_kind = {}
    for j, t in enumerate(originals):
        planted_kind[len(texts)] = "exact" if j % 3 == 0 else "edit"
        texts.append(t if j % 3 == 0 else _light_edit(t, rng, vocab))
    order = list(range(len(texts)))  # originals first, copies later: the first is kept
    return texts, len(docs), planted_kind, order


def _figures(texts, n_unrelated, planted_kind, **cfg):
    r = dedup(texts, **cfg)
    kept = set(r.kept)
    found = {
        k: sum(1 for i, kind in planted_kind.items() if kind == k and i not in kept)
        for k in ("exact", "edit")
    }
    total = {k: sum(1 for kind in planted_kind.values() if kind == k) for k in ("exact", "edit")}
    recall = (found["exact"] + found["edit"]) / len(planted_kind)
    unrelated_removed = sum(1 for i in range(n_unrelated) if i not in kept)
    return r, recall, found, total, unrelated_removed


def test_planted_near_duplicates_are_found_with_the_defaults(planted):
    texts, n_unrelated, planted_kind, _ = planted
    r, recall, found, total, unrelated_removed = _figures(
        texts, n_unrelated, planted_kind, **DEFAULTS
    )
    print(
        f"\ndedup defaults {DEFAULTS}: {len(texts)} texts, recall {recall:.3f} "
        f"(exact {found['exact']}/{total['exact']}, edited {found['edit']}/{total['edit']}), "
        f"unrelated removed {unrelated_removed}/{n_unrelated}"
    )
    assert recall >= 0.95
    assert unrelated_removed == 0
    assert r.exact_removed == total["exact"]
    # Every removed copy is clustered with its own original (the first occurrence).
    originals = {i: i - n_unrelated for i in planted_kind}
    for keep, members in r.clusters.items():
        for m in members:
            assert originals[m] == keep


def test_figures_for_stricter_settings(planted):
    """Not a gate: shows why the default is 3-grams at 0.5 rather than 5-grams at 0.8."""
    texts, n_unrelated, planted_kind, _ = planted
    _, recall, found, total, unrelated_removed = _figures(
        texts, n_unrelated, planted_kind, threshold=0.8, num_perm=128, shingle=5
    )
    print(
        f"\ndedup threshold 0.8 shingle 5: recall {recall:.3f}, unrelated removed {unrelated_removed}"
    )
    assert found["exact"] == total["exact"]  # exact copies are always caught by hash
    assert unrelated_removed == 0


def test_dedup_is_deterministic_and_keeps_first():
    texts = ["Alpha beta gamma delta epsilon zeta eta theta iota kappa."] * 3 + [
        "Something else entirely here."
    ]
    a = dedup(texts, **DEFAULTS)
    b = dedup(texts, **DEFAULTS)
    assert a.kept == b.kept == [0, 3]
    assert a.clusters == {0: [1, 2]}
    # Case and punctuation do not make a copy unique.
    assert dedup(
        ["Hello, World! again and again", "hello world again AND again"], **DEFAULTS
    ).kept == [0]
    assert dedup(texts, method="none").kept == [0, 1, 2, 3]
    report = a.report(["a", "b", "c", "d"])
    assert report["largest_clusters"] == [{"kept": "a", "removed": ["b", "c"]}]
