"""The label check's own rules, on the data stage's harmony text (Axolotl's side: test_train_e2e)."""

from __future__ import annotations

import pytest
from train_helpers import example, write_data_stage_output

from wikikit.bounded import read_jsonl
from wikikit.data.render import HarmonyRenderer
from wikikit.errors import InputError
from wikikit.train import labels
from wikikit.train.tinymodel import make_tokenizer

RENDER = HarmonyRenderer()


def _trained_text(k: int) -> list[str]:
    text = RENDER(example(k))
    return [text[a:b] for a, b in labels.trained_ranges(text)]


def test_trained_parts_are_what_the_model_writes():
    # tool use: thinking, the call with <|call|>; then, after the tool's result, the answer
    assert _trained_text(3) == [
        "<|channel|>analysis<|message|>Read it first.<|end|><|start|>assistant to=functions.read_file"
        '<|channel|>commentary <|constrain|>json<|message|>{"path": "m3.py"}<|call|>',
        "<|channel|>final<|message|>`m3.py` defines f (`m3.py:1`).<|return|>",
    ]
    # two turns: only the last one (the first is history, re-rendered without its thinking)
    assert _trained_text(5) == [
        "<|channel|>analysis<|message|>Mirror it.<|end|><|start|>assistant<|channel|>final"
        "<|message|>In `tests/test_m5.py` (`m5.py:1`).<|return|>"
    ]
    # no user turn: the whole text after the system block's generation prompt
    assert _trained_text(7) == [
        "<|channel|>final<|message|><path>m7.py</path><file>def f():\n    pass\n</file><|return|>"
    ]


def test_expected_labels_mark_whole_tokens():
    tok = make_tokenizer()
    text = RENDER(example(3))
    ids, mask = labels.expected_labels(text, tok)
    assert ids == tok.encode(text, add_special_tokens=False)
    trained = tok.decode([t for t, m in zip(ids, mask, strict=True) if m])
    assert trained == "".join(_trained_text(3))
    assert mask[ids.index(tok.convert_tokens_to_ids("<|call|>"))]


def _prepared_like(row: dict, tok, flip: str | None = None) -> dict:
    ids, mask = labels.expected_labels(row["text"], tok)
    if flip:
        k = ids.index(tok.convert_tokens_to_ids(flip))
        mask[k] = not mask[k]
    return {tuple(ids): {"labels": [t if m else -100 for t, m in zip(ids, mask, strict=True)]}}


def test_check_row_ok_mismatch_and_rendering_difference():
    tok = make_tokenizer()
    row = {"id": "e3", "category": "tool_use", "text": RENDER(example(3))}
    assert labels.check_row(row, _prepared_like(row, tok), tok).ok
    bad = labels.check_row(row, _prepared_like(row, tok, flip="<|call|>"), tok)
    assert not bad.ok and "('<|call|>') is the model's but not trained" in bad.problem
    assert "⟧<|call|>" in bad.detail[0] and "<|call|>⟧" in bad.detail[1]
    other = {"id": "e3", "category": "tool_use", "text": RENDER(example(6))}
    diff = labels.check_row(row, _prepared_like(other, tok), tok)
    assert not diff.ok and "differ from the data's text from token" in diff.problem
    report = labels.LabelReport([bad, labels.check_row(row, _prepared_like(row, tok), tok)])
    assert report.summary() == {"tool_use": {"checked": 2, "ok": 1}}
    assert report.lines()[0] == "labels: tool_use: 2 checked, 1 MISMATCH"
    assert report.lines()[1].startswith("labels: first mismatch: tool_use row e3: token ")


def test_sample_takes_n_rows_of_every_category(tmp_path):
    write_data_stage_output(tmp_path / "data")
    rows = labels.sample_rows(tmp_path / "data", 2)
    cats = [r["category"] for r in rows]
    assert {c: cats.count(c) for c in set(cats)} == {
        "qa": 2,
        "tool_use": 2,
        "multi_turn": 2,
        "cpt": 2,
    }
    all_rows = read_jsonl(tmp_path / "data" / "train.jsonl")
    assert {r["id"] for r in rows} <= {r["id"] for r in all_rows} | {"e100", "e101", "e102"}


def test_check_labels_refuses_what_it_cannot_check(tmp_path):
    recipe = {"model": {"base": "tiny-gpt-oss"}, "train": {}}
    with pytest.raises(InputError, match="no train.jsonl in .*run the data stage first"):
        labels.check_labels(recipe, tmp_path / "nodata", tmp_path / "w", "unused")
    chatml = {"model": {"base": "tiny-gpt-oss", "format": "chatml"}}
    with pytest.raises(InputError, match="^model.format: chatml: --check-labels reads"):
        labels.check_labels(chatml, tmp_path, tmp_path / "w", "unused")
    with pytest.raises(ValueError, match="not harmony"):
        labels.harmony_messages("<|im_start|>user\nhi<|im_end|>")


def test_axolotl_renders_each_row_with_its_own_date(tmp_path):
    """`model.current_date` as a range: the rows carry different days, and wikikit's Axolotl
    strategy (in process, with the generated config's chat fields) tokenizes each row to the
    data's text with that day, its labels passing the label check; the same row without its
    `current_date` is rendered with the config's date and the check sees the difference."""
    from axolotl.utils.dict import DictDefault

    from wikikit.data.render import openai_messages, openai_tools
    from wikikit.train import harmony_turns
    from wikikit.train.axolotl_config import CHAT_FIELDS, END_TOKENS, chat_template_kwargs
    from wikikit.train.tinymodel import TEMPLATE_PATH

    span = {"from": "2026-01-01", "to": "2026-12-31"}

    class Recipe:
        data = {"model": {"current_date": span}}

    kwargs = chat_template_kwargs(Recipe())
    assert "current_date" not in kwargs  # no one day for all: each row's own
    tok = make_tokenizer()
    cfg = DictDefault(
        {
            "chat_template": "jinja",
            "chat_template_jinja": TEMPLATE_PATH.read_text(encoding="utf-8"),
            "chat_template_kwargs": {**kwargs, "current_date": "2026-02-04"},
            "eot_tokens": END_TOKENS,
            "sequence_len": 2048,
            "train_on_inputs": False,
        }
    )
    strategy = harmony_turns.load(tok, cfg, ds_cfg=DictDefault(dict(CHAT_FIELDS)))
    render = HarmonyRenderer(current_date=span)
    days = set()
    rows = []
    for k in (1, 3, 5, 7, 11, 13):
        ex = example(k)
        row = {"id": ex.id, "category": ex.category, "messages": openai_messages(ex)}
        row |= {"text": render(ex), "current_date": render.date_for(ex)}
        if any(m.tool_calls for m in ex.messages):
            row["tools"] = openai_tools(ex)
        days.add(row["current_date"])
        out = strategy.tokenize_prompt(dict(row))
        prepared = {tuple(out["input_ids"]): {"labels": out["labels"]}}
        assert labels.check_row(row, prepared, tok).ok, (k, row["current_date"])
        undated = strategy.tokenize_prompt({k: v for k, v in row.items() if k != "current_date"})
        other = {tuple(undated["input_ids"]): {"labels": undated["labels"]}}
        check = labels.check_row(row, other, tok)
        assert not check.ok and "differ from the data's text" in check.problem
        rows.append(row)
    assert len(days) >= 4
    # Axolotl reads train.jsonl with datasets' JSON loader, which types a column of ISO days as
    # timestamps: the rows it hands the strategy carry datetimes, and must tokenize the same.
    import datasets

    from wikikit.atomic import write_jsonl

    write_jsonl(tmp_path / "train.jsonl", rows)
    loaded = datasets.load_dataset("json", data_files=str(tmp_path / "train.jsonl"))["train"]
    assert not isinstance(loaded[0]["current_date"], str)  # what made this test necessary
    for row, got in zip(rows, loaded, strict=True):
        out = strategy.tokenize_prompt(dict(got))
        prepared = {tuple(out["input_ids"]): {"labels": out["labels"]}}
        assert labels.check_row(row, prepared, tok).ok, row["current_date"]
