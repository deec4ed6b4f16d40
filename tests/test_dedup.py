"""Dedup on a planted set: exact copies, light edits (5-10% of words) and unrelated texts."""

from __future__ import annotations

import importlib
import inspect
import random
from collections import Counter

import pytest

from wikikit.data.dedup import DEFAULTS, dedup, normalize_words

# A fixed set of well-documented standard-library modules (importing every stdlib module made
# the corpus slow to build and dependent on what happens to be importable).
STDLIB_MODULES = (
    "argparse", "ast", "asyncio", "base64", "bdb", "bisect", "calendar", "cmd", "codecs",
    "collections", "concurrent.futures", "configparser", "contextlib", "copy", "csv",
    "dataclasses", "datetime", "decimal", "difflib", "doctest", "email.message", "email.utils",
    "enum", "filecmp", "fileinput", "fnmatch", "fractions", "ftplib", "functools", "getopt",
    "gettext", "glob", "graphlib", "gzip", "hashlib", "heapq", "hmac", "http.client",
    "http.cookiejar", "imaplib", "inspect", "io", "ipaddress", "itertools", "json", "locale",
    "logging", "logging.handlers", "lzma", "mailbox", "mimetypes", "modulefinder",
    "multiprocessing", "netrc", "numbers", "operator", "optparse", "os", "pathlib", "pdb",
    "pickle", "pkgutil", "platform", "plistlib", "poplib", "pprint", "pydoc", "queue", "random",
    "re", "runpy", "sched", "secrets", "selectors", "shelve", "shlex", "shutil", "signal",
    "smtplib", "socket", "socketserver", "sqlite3", "ssl", "stat", "statistics", "string",
    "struct", "subprocess", "symtable", "sysconfig", "tarfile", "tempfile", "textwrap",
    "threading", "timeit", "tokenize", "trace", "traceback", "tracemalloc", "types", "typing",
    "unittest", "urllib.parse", "urllib.request", "uuid", "warnings", "wave", "weakref",
    "xml.dom.minidom", "xml.etree.ElementTree", "xml.sax.saxutils", "xmlrpc.client", "zipfile",
    "zipimport", "zoneinfo",
)  # fmt: skip


def _stdlib_docs(limit: int = 360) -> list[str]:
    """Real English prose: long docstrings from the standard library, pairwise dissimilar."""
    docs: list[str] = []
    seen: set[str] = set()
    for name in STDLIB_MODULES:
        try:
            mod = importlib.import_module(name)
        except ImportError:
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

    unrelated: list[str] = []
    sizes: list[int] = []
    owners: dict[tuple[str, ...], list[int]] = {}  # 3-gram -> kept texts holding it
    for d in docs:
        g = grams(d)
        shared = Counter(j for gram in g for j in owners.get(gram, ()))
        if all(n / (len(g) + sizes[j] - n) < 0.2 for j, n in shared.items()):
            for gram in g:
                owners.setdefault(gram, []).append(len(sizes))
            unrelated.append(d)
            sizes.append(len(g))
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


def test_signatures_are_datasketch_minhashes_of_the_shingles(planted):
    """The batched numpy signatures equal datasketch's own MinHash.update_batch, text by text."""
    from datasketch import MinHash

    from wikikit.data.dedup import MinHasher, normalized_bytes

    texts = planted[0][:60] + ["", "one", "two words", "Ünïcödé wörds, İstanbul ǅ ß", "a b c d"]
    for t in texts:  # the fast ASCII path and the regex path normalize alike
        assert normalized_bytes(t) == " ".join(normalize_words(t)).encode("utf-8")
    for num_perm, shingle in ((128, 3), (64, 5)):
        hasher = MinHasher(num_perm, shingle)
        sigs = hasher.signatures([normalized_bytes(t) for t in texts])
        for t, row in zip(texts, sigs, strict=True):
            m = MinHash(num_perm=num_perm, seed=1, hashfunc=lambda x: x)
            hv = hasher.shingles.hashes(normalize_words(t))
            if len(hv):
                m.update_batch(hv.tolist())
            assert (m.hashvalues == row).all(), t[:40]


def test_recipe_threshold_and_num_perm_are_honoured(planted, tmp_path, monkeypatch):
    """data.dedup's threshold and num_perm reach datasketch and change what is removed."""
    import json

    from data_stage_helpers import RecipeStandIn, run_data_stage

    import wikikit.data.dedup as dedup

    texts, n_unrelated, planted_kind, _ = planted
    edited = [i for i, kind in planted_kind.items() if kind == "edit"][:20]
    chosen = list(range(40)) + edited  # 40 originals (the edited ones among them) + 20 edits
    rows = [
        {"question": f"Explain item {i}.", "answer": texts[i], "category": "qa"} for i in chosen
    ]
    (tmp_path / "qa.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")

    built = []

    class SpyLSH(dedup.MinHashLSH):
        def __init__(self, threshold, num_perm, **kw):
            built.append((threshold, num_perm))
            super().__init__(threshold=threshold, num_perm=num_perm, **kw)

    monkeypatch.setattr(dedup, "MinHashLSH", SpyLSH)

    def run(threshold, num_perm):
        data = {
            "name": "dedup-honoured",
            "seed": 3,
            "model": {"format": "harmony"},
            "data": {
                "size": 10,
                "sources": {"qa": {"kind": "jsonl", "paths": ["qa.jsonl"]}},
                "quality": {"mermaid": "ignore"},
                "dedup": {"threshold": threshold, "num_perm": num_perm},
            },
        }
        run_dir = tmp_path / f"run-{threshold}-{num_perm}"
        ctx, _ = run_data_stage(RecipeStandIn(data, tmp_path), run_dir)
        return json.loads((ctx.out_dir / "quality.json").read_text())["dedup"]

    loose, strict = run(0.5, 64), run(0.95, 256)
    assert built == [(0.5, 64), (0.95, 256)]
    assert (loose["threshold"], loose["num_perm"]) == (0.5, 64)
    assert (strict["threshold"], strict["num_perm"]) == (0.95, 256)
    print(
        f"\nnear-duplicates removed: {loose['near_removed']} at 0.5, {strict['near_removed']} at 0.95"
    )
    # 5-10% word edits are about 0.6-0.75 similar: found at 0.5, not at 0.95.
    assert loose["near_removed"] >= 15 and strict["near_removed"] == 0
    assert loose["exact_removed"] == strict["exact_removed"] == 0
