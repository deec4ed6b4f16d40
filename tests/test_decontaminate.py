"""Decontamination: training examples that overlap held-out text are dropped and counted."""

from __future__ import annotations

import json
import random
import re

from data_stage_helpers import RecipeStandIn, run_data_stage

from wikikit.bounded import read_jsonl
from wikikit.data.decontaminate import decontaminate
from wikikit.example import Example, Message

VOCAB = [f"{a}{b}" for a in ("re", "pro", "con", "sub", "trans") for b in ("quest", "cess", "form")]
VOCAB += ["lexer", "parser", "planner", "router", "ledger", "budget", "tenant", "replica", "shard"]


def _words(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice(VOCAB) for _ in range(n)]


def _example(i: int, text: str) -> Example:
    return Example(
        id=f"ex{i}",
        messages=[Message("user", "Explain it."), Message("assistant", text)],
        source="jsonl",
        category="qa",
    )


def _grams(text: str, n: int = 8) -> set[tuple[str, ...]]:
    w = re.findall(r"\w+", text.lower())
    return {tuple(w[i : i + n]) for i in range(len(w) - n + 1)}


def _share(text: str, held: str, n: int = 8) -> float:
    """Share of text's distinct word n-grams found in held: computed here without wikikit."""
    mine = _grams(text, n)
    return len(mine & _grams(held, n)) / len(mine)


def test_overlap_above_the_threshold_is_dropped_below_is_kept():
    held = " ".join(_words(1, 100))
    words = held.split()
    above = " ".join(words[:80] + _words(2, 20))  # 73 of 93 8-grams are held-out ones
    below = " ".join(words[:30] + _words(3, 70))  # 23 of 93
    unrelated = " ".join(_words(4, 100))
    train = [_example(0, above), _example(1, below), _example(2, unrelated), _example(3, held)]

    keep, dropped = decontaminate(train, [held], ngram=8, threshold=0.5)

    assert keep == [1, 2]
    assert [d["id"] for d in dropped] == ["ex0", "ex3"]
    # The reported overlap is the share of the whole example's (user + assistant) n-grams.
    whole = [f"Explain it.\n{t}" for t in (above, held)]
    for record, text in zip(dropped, whole, strict=True):
        assert abs(record["overlap"] - _share(text, held)) < 1e-3
    print(
        f"\noverlap above {dropped[0]['overlap']}, below {_share(below, held):.3f} (threshold 0.5)"
    )
    assert _share(below, held) < 0.5 < _share(above, held)
    # The threshold is honoured: at 0.9 the 80%-copy stays, the full copy still goes.
    keep, dropped = decontaminate(train, [held], ngram=8, threshold=0.9)
    assert keep == [0, 1, 2] and [d["id"] for d in dropped] == ["ex3"]


def test_stage_drops_train_copies_of_held_out_items_and_counts_them(tmp_path):
    """Families of 3 copies (same answer, different question) land in different splits; a train
    copy of a validation/test item must go, and quality.json must count it. Single texts stay."""
    families, singles = 25, 25
    rows = []
    for f in range(families):
        answer = " ".join(_words(100 + f, 90)) + "."
        for c in range(3):
            rows.append({"question": f"Family {f} copy {c}?", "answer": answer, "category": "qa"})
    for s in range(singles):
        rows.append({"question": f"Single {s}?", "answer": " ".join(_words(500 + s, 90)) + "."})
    (tmp_path / "qa.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    total = len(rows)
    data = {
        "name": "decontam",
        "seed": 5,
        "model": {"format": "harmony"},
        "data": {
            "size": total,  # take every example: each one ends in a split or is dropped
            "sources": {"qa": {"kind": "jsonl", "paths": ["qa.jsonl"]}},
            "quality": {"mermaid": "ignore"},
            "dedup": {"method": "none"},  # keep the copies so that they can straddle splits
            "split": {"train": 0.6, "validation": 0.2, "test": 0.2},
        },
    }
    ctx, result = run_data_stage(RecipeStandIn(data, tmp_path), tmp_path / "run")

    def answers(split: str) -> list[str]:
        return [
            row["messages"][-1]["content"] for row in read_jsonl(ctx.out_dir / f"{split}.jsonl")
        ]

    train = answers("train")
    held = answers("validation") + answers("test")
    q = json.loads((ctx.out_dir / "quality.json").read_text())["decontaminate"]

    assert not set(train) & set(held), "a train answer is a copy of a held-out one"
    # Expected drops, counted from the output alone: a family with a held-out copy loses
    # every copy that went to train (3 minus the copies still visible).
    visible = train + held
    expected = 0
    for f in range(families):
        answer = " ".join(_words(100 + f, 90)) + "."
        if answer in held:
            expected += 3 - visible.count(answer)
        else:
            assert train.count(answer) == 3  # no held-out copy: nothing dropped
    print(f"\ndecontaminate: {q['dropped']} of {total} dropped (expected {expected})")
    assert expected > 0 and q["dropped"] == expected == result.counts["decontaminated"]
    assert len(q["dropped_examples"]) == expected
    assert all(d["overlap"] > q["threshold"] for d in q["dropped_examples"])
    assert len(visible) + q["dropped"] == total
    for s in range(singles):  # below the threshold: every single text is somewhere
        assert " ".join(_words(500 + s, 90)) + "." in visible


def test_overlaps_in_many_batches_match_an_independent_count(monkeypatch):
    """Batched hashing (forced tiny batches) gives each text its own share, short texts 0."""
    import wikikit.data.decontaminate as dc

    monkeypatch.setattr(dc, "_BATCH_BYTES", 200)
    held = [" ".join(_words(10 + i, 60)) for i in range(5)] + ["Größe naïve İstanbul " * 5]
    rng = random.Random(9)
    texts = []
    for i in range(40):
        source = rng.choice(held).split()
        k = rng.randrange(len(source))
        texts.append(" ".join(source[:k] + _words(200 + i, rng.choice([0, 3, 30]))))
    texts += ["too short", "", "Größe naïve İstanbul Größe naïve İstanbul Größe naïve"]
    ref = dc.HeldOut(8)
    ref.add_many(held)
    got = ref.overlaps(texts)
    held_grams = set().union(*(_grams(h) for h in held))
    for text, share in zip(texts, got, strict=True):
        mine = _grams(text)
        if not mine:  # fewer than 8 words
            assert share == 0.0
            continue
        assert abs(share - len(mine & held_grams) / len(mine)) < 1e-9, text[:40]
    assert any(s > 0.5 for s in got) and any(0 < s < 0.5 for s in got)


def test_against_benchmark_docs_the_answer_is_compared_not_the_code_prompt():
    from wikikit.data.decontaminate import assistant_text

    docs = " ".join(_words(11, 300))  # a held-out benchmark row's documentation
    code = " ".join(_words(12, 3000))  # a page prompt's code context dwarfs the answer
    copied = Example(
        id="page",
        messages=[Message("user", code), Message("assistant", docs)],
        source="semanticwiki",
        category="page",
    )
    own = Example(
        id="own",
        messages=[Message("user", code), Message("assistant", " ".join(_words(13, 300)))],
        source="semanticwiki",
        category="page",
    )
    # over the whole example the copy is diluted below the threshold ...
    keep_all, _ = decontaminate([copied, own], [docs], ngram=8, threshold=0.5)
    assert keep_all == [0, 1]
    # ... over its answer it is a copy, and dropped
    keep, dropped = decontaminate(
        [copied, own], [docs], ngram=8, threshold=0.5, text=assistant_text
    )
    assert keep == [1] and dropped[0]["id"] == "page" and dropped[0]["overlap"] == 1.0
