"""The data stage end to end (without the runner): jsonl sources -> files on disk."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
from data_stage_helpers import RecipeStandIn, run_data_stage
from harmony_reference import harmony_text

from wikikit.bounded import read_jsonl
from wikikit.errors import StageNotImplemented, WikikitError
from wikikit.semanticwiki.runtimes import DEFAULT_CURRENT_DATE, DEFAULT_RUNTIME

TOPICS = [
    "parser",
    "scheduler",
    "cache",
    "router",
    "storage",
    "auth",
    "metrics",
    "plugin",
    "queue",
    "config",
]

# The whole module shares one stage run and loads `datasets`: about 8 s on 2 busy cores.
pytestmark = pytest.mark.slow


WORDS = [
    "request",
    "worker",
    "queue",
    "retry",
    "cache",
    "token",
    "session",
    "handler",
    "router",
    "schema",
    "index",
    "batch",
    "stream",
    "buffer",
    "lock",
    "shard",
    "replica",
    "ledger",
    "invoice",
    "tenant",
    "policy",
    "quota",
    "budget",
    "trace",
    "span",
    "metric",
    "alert",
    "probe",
    "bucket",
    "window",
    "cursor",
    "page",
    "offset",
    "checksum",
    "digest",
    "cipher",
    "nonce",
    "socket",
    "frame",
    "packet",
]


def _prose(seed: int, n: int = 60) -> str:
    rng = random.Random(seed)  # unrelated texts: dedup must keep every one of them
    return " ".join(rng.choice(WORDS) for _ in range(n)) + "."


def _answer(topic: str, i: int) -> str:
    return (
        f"## The {topic} component ({i})\n\n{_prose(i)}\n\n"
        f"**Source:** [`src/{topic}/mod{i}.py:{i + 1}-{i + 20}`](src/{topic}/mod{i}.py#L{i + 1}-L{i + 20})\n"
    )


def _write_sources(base: Path) -> None:
    real = []
    for i in range(60):
        topic = TOPICS[i % len(TOPICS)]
        real.append(
            {
                "messages": [
                    {"role": "user", "content": f"Document the {topic} component {i}."},
                    {
                        "role": "assistant",
                        "content": _answer(topic, i),
                        "thinking": f"Read mod{i} first.",
                    },
                ],
                "category": "component",
                "language": ["python", "go"][i % 2],
                "repo": f"proj{i % 20}",
            }
        )
    real.append(real[3])  # an exact copy: dedup removes it
    bad = "this line is not JSON"
    (base / "real.jsonl").write_text("\n".join([json.dumps(r) for r in real] + [bad]) + "\n")
    qa = []
    for i in range(40):
        qa.append(
            {
                "question": f"Where is the retry policy of service {i} configured?",
                "thinking_trace": "Look for the retry settings.",
                "answer": f"Service {i}: {_prose(1000 + i)} Contact owner{i}@corp-internal.io for changes.",
                "category": "qa",
                "repo": f"proj{i % 20}",
            }
        )
    qa.append({"question": "Short?", "answer": "Too short.", "category": "qa"})
    (base / "qa.jsonl").write_text("\n".join(json.dumps(r) for r in qa) + "\n")


def _recipe(base: Path, **data_overrides) -> RecipeStandIn:
    data = {
        "wikikit": 1,
        "name": "stage-test",
        "seed": 11,
        "model": {"base": "tiny-gpt-oss", "format": "harmony"},
        "data": {
            "size": 50,
            "mix": {
                "real": {"weight": 0.6, "sources": ["docs"]},
                "qa": {"weight": 0.4, "sources": ["answers"]},
            },
            "sources": {
                "docs": {"kind": "jsonl", "paths": ["real.jsonl"]},
                "answers": {"kind": "jsonl", "paths": ["qa.jsonl"]},
            },
            "quality": {"min_chars": 200, "mermaid": "ignore"},
            "split": {
                "train": 0.8,
                "validation": 0.1,
                "test": 0.1,
                "stratify": ["category"],
                "group_by": "repo",
            },
        },
    }
    data["data"].update(data_overrides)
    return RecipeStandIn(data, base)


def _run(recipe: RecipeStandIn, run_dir: Path):
    return run_data_stage(recipe, run_dir)


@pytest.fixture(scope="module")
def stage_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("recipe")
    _write_sources(base)
    recipe = _recipe(base)
    ctx, result = _run(recipe, tmp_path_factory.mktemp("run1"))
    return base, recipe, ctx, result


def test_outputs_counts_and_quality_report(stage_run):
    _, _, ctx, result = stage_run
    assert set(result.outputs) >= {
        "train.jsonl",
        "validation.jsonl",
        "test.jsonl",
        "README.md",
        "quality.json",
    }
    q = json.loads((ctx.out_dir / "quality.json").read_text())
    assert q["sources"]["docs"]["generated"] == 61 and q["sources"]["answers"]["generated"] == 41
    assert q["source_stats"]["docs"]["malformed"] == 1
    assert q["filters"]["min_chars"]["dropped"] == {"answers": {"too_short": 1}}
    assert q["filters"]["scrub_secrets"]["noted"]["email"] >= 40  # owner{i}@corp-internal.io
    assert q["dedup"]["exact_removed"] >= 1
    assert q["mix"]["planned"] == {"real": 30, "qa": 20}
    assert q["mix"]["actual"] == {"real": 30, "qa": 20} and q["mix"]["shortfalls"] == {}
    total = result.counts["train"] + result.counts["validation"] + result.counts["test"]
    assert total == 50 - result.counts["decontaminated"]
    card = (ctx.out_dir / "README.md").read_text()
    assert card.startswith("---\n") and "configs:" in card and "| qa |" in card and "median" in card


def test_jsonl_loads_with_datasets_and_text_is_harmony(stage_run):
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import datasets

    _, _, ctx, result = stage_run
    files = {
        s: str(ctx.out_dir / f"{s}.jsonl")
        for s in ("train", "validation", "test")
        if result.counts[s]
    }
    ds = datasets.load_dataset("json", data_files=files, cache_dir=str(ctx.run_dir / "hf-cache"))
    assert ds["train"].num_rows == result.counts["train"]
    assert set(ds["train"].column_names) >= {
        "messages",
        "text",
        "source",
        "category",
        "language",
        "refs",
        "id",
        "repo",
    }
    for split in files:
        for row in read_jsonl(files[split]):
            assert row["current_date"] == DEFAULT_CURRENT_DATE  # what Axolotl renders it with
            want = harmony_text(
                row["messages"],
                row.get("tools"),
                current_date=DEFAULT_CURRENT_DATE,
                runtime=DEFAULT_RUNTIME,
            )
            assert row["text"] == want, row["id"]
            assert "@corp-internal.io" not in row["text"]


def test_a_date_range_dates_each_row_inside_it(stage_run, tmp_path):
    """`model.current_date: {from, to}`: the rows' days vary, lie in the range, are what each
    row's text says (harmony's rendering with that day) and come back the same on a rerun."""
    base, _, _, _ = stage_run
    recipe = _recipe(base)
    recipe.data["model"]["current_date"] = {"from": "2026-03-01", "to": "2026-04-30"}
    ctx, _ = _run(recipe, tmp_path / "a")
    rows = [
        r for s in ("train", "validation", "test") for r in read_jsonl(ctx.out_dir / f"{s}.jsonl")
    ]
    days = [r["current_date"] for r in rows]
    assert len(set(days)) >= 10 and all("2026-03-01" <= d <= "2026-04-30" for d in days)
    for row in rows:
        want = harmony_text(
            row["messages"],
            row.get("tools"),
            current_date=row["current_date"],
            runtime=DEFAULT_RUNTIME,
        )
        assert row["text"] == want, row["id"]
    ctx2, _ = _run(recipe, tmp_path / "b")
    assert (ctx2.out_dir / "train.jsonl").read_bytes() == (ctx.out_dir / "train.jsonl").read_bytes()


def test_grouped_split_keeps_repos_apart(stage_run):
    _, _, ctx, _ = stage_run
    where: dict[str, str] = {}
    for split in ("train", "validation", "test"):
        for row in read_jsonl(ctx.out_dir / f"{split}.jsonl"):
            repo = row["repo"]
            assert where.setdefault(repo, split) == split


def test_second_run_from_scratch_is_byte_identical(stage_run, tmp_path):
    base, recipe, ctx, result = stage_run
    ctx2, result2 = _run(recipe, tmp_path)
    assert result2.outputs == result.outputs
    for rel in result.outputs:
        assert (ctx2.out_dir / rel).read_bytes() == (ctx.out_dir / rel).read_bytes(), rel


def test_short_supply_is_reported_and_strict_fails(stage_run, tmp_path):
    base, _, _, _ = stage_run
    ctx, result = _run(_recipe(base, size=200), tmp_path / "a")
    q = json.loads((ctx.out_dir / "quality.json").read_text())
    assert q["mix"]["planned"] == {"real": 120, "qa": 80}
    assert q["mix"]["shortfalls"]["real"] == 120 - q["mix"]["available"]["real"]
    with pytest.raises(WikikitError, match="data.strict"):
        _run(_recipe(base, size=200, strict=True), tmp_path / "b")


def test_unimplemented_source_kind_fails_the_run(stage_run, tmp_path, monkeypatch):
    import wikikit.data.sources as sources

    base, _, _, _ = stage_run
    monkeypatch.setitem(sources.SOURCE_MODULES, "jsonl", "wikikit.data.sources.no_such_module")
    with pytest.raises(StageNotImplemented):
        _run(_recipe(base), tmp_path)


def test_plan_lists_quotas(stage_run):
    from wikikit.data.stage import plan

    _, recipe, ctx, _ = stage_run
    lines = plan(ctx)
    assert any("bucket real" in line and "30 examples" in line for line in lines)


def test_token_lengths_are_reported_and_the_limit_enforced(stage_run, tmp_path):
    from wikikit.tokens import count_tokens

    base, _, ctx, _ = stage_run
    full = json.loads((ctx.out_dir / "quality.json").read_text())["token_lengths"]
    assert set(full["sources"]) == {"jsonl"} and full["all"]["count"] > 0
    limit = int(full["all"]["median"])  # about half the examples are over it
    recipe = _recipe(base, quality={"min_chars": 200, "mermaid": "ignore", "max_tokens": limit})
    ctx2, _ = _run(recipe, tmp_path)
    q = json.loads((ctx2.out_dir / "quality.json").read_text())
    assert q["over_length"]["limit"] == limit and q["over_length"]["dropped"] > 0
    for split in ("train", "validation", "test"):
        for row in read_jsonl(ctx2.out_dir / f"{split}.jsonl"):
            assert count_tokens(row["text"]) <= limit


def test_chatml_family_renders_what_the_runtime_feeds(tmp_path):
    """model.family chatml: every row's text is the chatml renderer's (node-llama-cpp's
    ChatMLChatWrapper form), and a harmony format beside it is a one-line InputError."""
    from wikikit.data.chatml import ChatMLRenderer
    from wikikit.errors import InputError
    from wikikit.example import Example, Message

    _write_sources(tmp_path)
    recipe = _recipe(tmp_path)
    recipe.data["model"] = {"base": "x", "family": "chatml"}
    ctx, _ = _run(recipe, tmp_path / "run")
    rows = read_jsonl(ctx.out_dir / "train.jsonl")
    assert rows
    render = ChatMLRenderer("node-llama-cpp")
    for row in rows:
        ex = Example(
            row["id"], [Message(m["role"], m["content"]) for m in row["messages"]], "s", "c"
        )
        assert row["text"] == render(ex)
        assert row["text"].startswith("<|im_start|>") and row["text"].endswith("<|im_end|>")
        assert "<|start|>" not in row["text"]
    recipe.data["model"] = {"base": "x", "family": "chatml", "format": "harmony"}
    with pytest.raises(InputError, match="^model.format: harmony: a model.family chatml"):
        _run(recipe, tmp_path / "run2")
