"""`kind: codewikibench` through the real `datasets` loading path, on datasets written here."""

from __future__ import annotations

import json
import os
from collections import Counter

import pytest
from codewikibench_data import TINY_RUBRICS, real_row, rows, tiny_row, write_checkout, write_dataset

from wikikit.code.holdout import Holdout
from wikikit.data.sources import SourceContext
from wikikit.data.sources.codewikibench import generate
from wikikit.errors import InputError
from wikikit.example import Ref

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def ctx_for(tmp_path) -> SourceContext:
    return SourceContext(
        recipe=None, cache_dir=tmp_path / "cache", key_path=("data", "sources", "cwb")
    )


@pytest.mark.parametrize("fmt", ["disk", "parquet", "json"])
def test_tiny_dataset_every_local_format(tmp_path, fmt):
    path = write_dataset(tmp_path / "ds", [tiny_row()], fmt)
    ctx = ctx_for(tmp_path)
    examples = list(generate("cwb", {"kind": "codewikibench", "path": str(path)}, ctx))
    by_heading = {e.meta["heading"]: e for e in examples}
    # Architecture, data flow and component sections; getting started and the rest are not kept.
    assert sorted(by_heading) == ["Architecture Overview", "Core Components", "Data Flow"]
    assert by_heading["Data Flow"].category == "data_flow"
    assert by_heading["Core Components"].category == "component"
    arch = by_heading["Architecture Overview"]
    assert arch.category == "architecture"
    assert arch.repo == "acme/widgets@0123abc"
    assert arch.refs == [Ref("widgets/app.py", 1, 3), Ref("widgets/store.py", 1, 4)]
    assert arch.language == "python"
    # CodeWikiBench drops the fence tag; the example's diagram is labelled mermaid again.
    assert "```mermaid\ngraph TD" in arch.assistant_text
    assert '"Architecture Overview"' in arch.messages[0].content
    assert (
        "Page outline:" in arch.messages[0].content
        and "Getting Started" in arch.messages[0].content
    )
    flow = by_heading["Data Flow"].assistant_text
    assert (
        "- A request reaches `widgets.app.handle`." in flow
        and "  - The app validates the id" in flow
    )
    # Rubrics are kept for the eval stage, never in a training example.
    assert ctx.artifacts["rubrics/acme__widgets.json"] == TINY_RUBRICS
    assert all("In-memory dict" not in e.to_json() for e in examples)


def test_checkout_puts_referenced_code_in_the_prompt(tmp_path):
    path = write_dataset(tmp_path / "ds", [tiny_row()])
    checkout = write_checkout(tmp_path / "widgets")
    ctx = ctx_for(tmp_path)
    config = {
        "kind": "codewikibench",
        "path": str(path),
        "repos": {"acme/widgets": {"path": str(checkout)}},
    }
    examples = {e.meta["heading"]: e for e in generate("cwb", config, ctx)}
    prompt = examples["Architecture Overview"].messages[0].content
    assert "widgets/app.py:1-4" in prompt and "    3 | def handle(request):" in prompt
    assert "Page outline:" not in prompt
    # No ref in "Data Flow", but it names `widgets.app.handle`: that module's code is given.
    assert "    1 | from widgets.store import Store" in examples["Data Flow"].messages[0].content
    assert "class Store:" in examples["Core Components"].messages[0].content


def test_holdout_repos_give_no_examples_but_keep_rubrics(tmp_path):
    path = write_dataset(tmp_path / "ds", [tiny_row(), tiny_row("other/repo")])
    ctx = ctx_for(tmp_path)
    ctx.holdout = Holdout(["https://github.com/acme/widgets.git"])  # data.holdout, any naming
    config = {"kind": "codewikibench", "path": str(path)}
    examples = list(generate("cwb", config, ctx))
    assert examples and {e.repo for e in examples} == {"other/repo@0123abc"}
    assert set(ctx.artifacts) == {
        "rubrics/acme__widgets.json",
        "rubrics/other__repo.json",
        "codewikibench/rows.json",
    }
    # every row's commit, held out or not: where eval.heldout.benchmark checks each out
    assert ctx.artifacts["codewikibench/rows.json"] == {
        "acme/widgets": {"commit_id": "0123abc"},
        "other/repo": {"commit_id": "0123abc"},
    }
    assert ctx.stats["cwb"]["holdout_repos"] == 1


def test_categories_and_max_examples(tmp_path):
    path = write_dataset(tmp_path / "ds", [tiny_row()])
    config = {"kind": "codewikibench", "path": str(path), "categories": ["getting_started"]}
    assert [e.meta["heading"] for e in generate("cwb", config, ctx_for(tmp_path))] == [
        "Getting Started"
    ]
    config = {"kind": "codewikibench", "path": str(path), "max_examples": 2}
    assert len(list(generate("cwb", config, ctx_for(tmp_path)))) == 2


def test_bad_rows_are_skipped_and_counted_bad_paths_are_input_errors(tmp_path, capsys):
    bad = dict(tiny_row(), structured_docs="{not json")
    deep = dict(tiny_row(), repo_name="deep/repo", rubrics="[" * 100_000 + "]" * 100_000)
    path = write_dataset(tmp_path / "ds", [bad, deep, tiny_row()])
    ctx = ctx_for(tmp_path)
    examples = list(generate("cwb", {"kind": "codewikibench", "path": str(path)}, ctx))
    assert examples and ctx.stats["cwb"]["rows_malformed"] == 2
    err = capsys.readouterr().err
    assert "structured_docs is not JSON" in err and "rubrics is nested deeper than 100" in err
    with pytest.raises(InputError, match="not found"):
        list(
            generate(
                "cwb", {"kind": "codewikibench", "path": str(tmp_path / "nope")}, ctx_for(tmp_path)
            )
        )
    path = write_dataset(tmp_path / "ds2", [{"repo_name": "x", "commit_id": "1"}], "json")
    with pytest.raises(InputError, match="lacks columns"):
        list(generate("cwb", {"kind": "codewikibench", "path": str(path)}, ctx_for(tmp_path)))


@pytest.mark.skipif(
    real_row() is None, reason="needs ../shared (real OpenHands CodeWikiBench files)"
)
def test_real_openhands_row(tmp_path):
    path = write_dataset(tmp_path / "ds", rows(), "parquet")
    ctx = ctx_for(tmp_path)
    examples = [
        e
        for e in generate("cwb", {"kind": "codewikibench", "path": str(path)}, ctx)
        if e.repo.startswith("OpenHands")
    ]
    docs = json.loads(real_row()["structured_docs"])
    assert len(docs["subpages"]) == len({e.meta["page"].split(" / ")[0] for e in examples})
    counts = Counter(e.category for e in examples)
    assert set(counts) == {"architecture", "component", "data_flow"} and min(counts.values()) >= 20
    assert len({e.id for e in examples}) == len(examples)
    # Diagrams come back as ```mermaid fences; combined rubrics go to the eval stage.
    assert sum("```mermaid" in e.assistant_text for e in examples) >= 20
    assert (
        ctx.artifacts["rubrics/OpenHands.json"]["rubrics"][0]["requirements"]
        == "Core AI Agent Architecture"
    )
