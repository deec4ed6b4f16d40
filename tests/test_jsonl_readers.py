"""Every JSONL reader splits on "\\n" only.

json.dumps(..., ensure_ascii=False) and node's JSON.stringify (the bundled recorder) leave U+2028,
U+2029 and U+0085 unescaped inside strings, and str.splitlines() cuts a line at each of them (and
at \\x0b, \\x0c, \\x1c-\\x1e, which JSON writers escape): a model's answer holding one used to
break the reader (seen on one CPU's llama.cpp output).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wikikit.atomic import write_jsonl
from wikikit.bounded import JsonlError, iter_jsonl, read_jsonl
from wikikit.example import Example, Message

SEPARATORS = ["\u2028", "\u2029", "\u0085", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"]
RAW = SEPARATORS[:3]  # written as they are; JSON writers escape the control characters


def rows_with_separators() -> list[dict]:
    return [
        {"id": f"r{i}", "text": f"before{sep}after {i}", "category": "page", "repo": "o/r"}
        for i, sep in enumerate(SEPARATORS)
    ]


@pytest.fixture
def jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "rows.jsonl"
    write_jsonl(path, rows_with_separators())
    text = path.read_text(encoding="utf-8")
    # the trap is real: the file holds the raw characters, and splitlines() would cut there
    assert all(sep in text for sep in RAW)
    assert len(text.splitlines()) == len(SEPARATORS) + len(RAW)
    return path


def test_the_shared_reader_keeps_every_separator(jsonl):
    assert read_jsonl(jsonl) == rows_with_separators()
    assert [n for n, _ in iter_jsonl(jsonl)] == list(range(1, len(SEPARATORS) + 1))


def test_a_bad_line_is_named_by_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1}\n\n{"a": \n')
    with pytest.raises(JsonlError, match=r"bad\.jsonl:3: not a JSON line"):
        read_jsonl(path)
    assert read_jsonl(path, skip_bad=True) == [{"a": 1}]
    assert read_jsonl(tmp_path / "missing.jsonl", missing_ok=True) == []


def test_eval_task_rows(jsonl):
    from wikikit.eval.metrics.taskdata import read_rows

    assert [r["text"] for r in read_rows(jsonl)] == [r["text"] for r in rows_with_separators()]


def test_training_data_readers(jsonl, tmp_path):
    from wikikit.report.data_section import sample_token_lengths
    from wikikit.train.labels import sample_rows

    data = tmp_path / "data"
    data.mkdir()
    (data / "train.jsonl").write_bytes(jsonl.read_bytes())
    assert {r["id"] for r in sample_rows(data, 100)} == {r["id"] for r in rows_with_separators()}
    lengths, seen = sample_token_lengths(data / "train.jsonl")
    assert seen == len(SEPARATORS) and len(lengths) == len(SEPARATORS) and min(lengths) > 0


def test_recorded_exchanges_and_crawl_records(jsonl, tmp_path):
    from wikikit.data.sources.semanticwiki import _read_exchanges
    from wikikit.deepwiki.spider import read_items
    from wikikit.deepwiki.store import CrawlStore

    assert _read_exchanges(jsonl) == rows_with_separators()
    store = CrawlStore(tmp_path / "store")
    statuses = [{"repo": f"o/r{i}", "status": f"fetched{sep}"} for i, sep in enumerate(SEPARATORS)]
    write_jsonl(store.status_path, statuses)
    assert {e["status"] for e in store.statuses().values()} == {s["status"] for s in statuses}
    pages = [
        {"url": f"http://127.0.0.1/o/r/{i}", "markdown": f"a{sep}b"}
        for i, sep in enumerate(SEPARATORS)
    ]
    crawl = tmp_path / "crawl"
    crawl.mkdir()
    from wikikit.deepwiki.spider import ITEMS_FILE

    write_jsonl(crawl / ITEMS_FILE, pages)
    assert sorted(p["markdown"] for p in read_items(crawl).values()) == sorted(
        p["markdown"] for p in pages
    )


def test_an_eval_item_holding_u2028_is_decontaminated(tmp_path):
    """The held-out item reaches decontamination whole, and a training copy of it is dropped."""
    from wikikit.data.decontaminate import decontaminate, eval_task_texts

    words = " ".join(f"word{i}" for i in range(60))
    item = {"id": "i1", "prompt": f"Document the ledger.\u2028{words}", "answer": "ok"}
    task = tmp_path / "eval_tasks" / "some_task"
    task.mkdir(parents=True)
    (task / "test.jsonl").write_text(json.dumps(item, ensure_ascii=False) + "\n", encoding="utf-8")
    held = eval_task_texts(tmp_path / "eval_tasks")
    assert len(held) == 1 and "\u2028" in held[0] and words in held[0]
    copy = Example(
        id="copy",
        messages=[Message("user", "Explain."), Message("assistant", words)],
        source="jsonl",
        category="qa",
    )
    other = Example(
        id="other",
        messages=[Message("user", "Explain."), Message("assistant", "unrelated " * 40)],
        source="jsonl",
        category="qa",
    )
    keep, dropped = decontaminate([copy, other], held, ngram=8, threshold=0.5)
    assert keep == [1] and [d["id"] for d in dropped] == ["copy"]
