"""Token scan with the real o200k tokenizer: histograms per source, drop or split over a limit."""

from __future__ import annotations

import pytest

from wikikit.data.sources.cpt import wrap
from wikikit.data.token_scan import enforce_max_tokens, scan
from wikikit.example import Example, Message, Ref
from wikikit.tokens import count_tokens


def _ex(i: int, source: str, messages: list[Message], refs=()) -> Example:
    return Example(
        id=f"{source}-{i}", messages=messages, source=source, category=source, refs=list(refs)
    )


def test_scan_reports_per_source_histograms():
    short = [
        _ex(i, "qa", [Message("user", "hi"), Message("assistant", "word " * i)])
        for i in range(1, 6)
    ]
    long = [_ex(0, "cpt", [Message("assistant", "token " * 3000)])]
    report = scan(short + long)
    qa = report["sources"]["qa"]
    expected = [count_tokens("hi") + count_tokens("word " * i) for i in range(1, 6)]
    assert qa["count"] == 5 and qa["max"] == max(expected) and qa["tokens"] == sum(expected)
    assert qa["histogram"] == {"<=256": 5}
    assert report["sources"]["cpt"]["histogram"] == {"<=4096": 1}
    assert report["all"]["count"] == 6


def test_scan_uses_the_renderer_when_given():
    ex = _ex(0, "qa", [Message("user", "a"), Message("assistant", "b")])
    plain = scan([ex])["sources"]["qa"]["max"]
    rendered = scan([ex], render=lambda e: "<|start|>user<|message|>a<|end|>" * 10)
    assert rendered["sources"]["qa"]["max"] > plain


def test_drop_mode_counts():
    fits = _ex(0, "qa", [Message("user", "q"), Message("assistant", "short")])
    too_long = _ex(1, "qa", [Message("user", "q"), Message("assistant", "x " * 500)])
    kept, counts = enforce_max_tokens([fits, too_long], 100)
    assert kept == [fits] and counts == {"kept": 1, "over_limit": 1, "dropped": 1}


def test_split_mode_cuts_cpt_text_at_lines_and_keeps_refs():
    body_a = "".join(f"alpha_{i} = {i}\n" for i in range(200))
    body_b = "".join(f"beta_{i} = {i}\n" for i in range(200))
    text = wrap("a.py", body_a) + "\n\n" + wrap("b.py", body_b)
    ex = _ex(0, "cpt", [Message("assistant", text)], [Ref("a.py", 1, 200), Ref("b.py", 1, 200)])
    chat = _ex(1, "qa", [Message("user", "q"), Message("assistant", "y " * 2000)])
    kept, counts = enforce_max_tokens([ex, chat], 500, mode="split")
    assert counts["split"] == 1 and counts["dropped_unsplittable"] == 1
    assert counts["split_parts"] == len(kept) > 2
    assert all(count_tokens(p.messages[0].content) <= 500 for p in kept)
    assert "\n".join(p.messages[0].content for p in kept) == text  # nothing lost or reordered
    assert len({p.id for p in kept}) == len(kept)
    assert kept[0].refs == [Ref("a.py", 1, 200)] and kept[-1].refs == [Ref("b.py", 1, 200)]
    assert all(p.meta["split_from"] == "cpt-0" for p in kept)


def test_bad_mode():
    with pytest.raises(ValueError):
        enforce_max_tokens([], 10, mode="truncate")
