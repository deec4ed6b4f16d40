"""--dry-run's training estimates: tokens in the data, packing, steps, GPU memory, waste warning."""

from __future__ import annotations

import json

from train_helpers import write_data_stage_output

from wikikit.train import estimate
from wikikit.train.tinymodel import harmony_encoding


def test_first_fit_decreasing_packing():
    assert estimate.pack([600, 500, 400, 300, 200], 1000) == (2, 1.0)
    assert estimate.pack([200, 700, 600], 1000) == (2, 0.75)
    assert estimate.pack([900, 900, 900], 1000) == (3, 0.9)
    assert estimate.pack([], 1000) == (0, 0.0)
    assert estimate.pack([5000], 1000) == (1, 1.0)  # longer rows are cut to the sequence


def test_gpt_oss_20b_shape_and_memory_calibration():
    shape = estimate.Shape.from_config(estimate.GPT_OSS_20B)
    assert 20.8e9 < shape.params() < 21.0e9  # gpt-oss-20b: 20.9B parameters
    kw = dict(world=1, sharded=False, lora_r=8, experts=False)
    one = estimate.memory_gib(shape, tokens=4096, **kw)
    assert 44 <= one < 44.2  # the measured figure it is calibrated on (+ the LoRA states)
    assert estimate.memory_gib(shape, tokens=16384, **kw) > 58  # the flagship: an 80 GB GPU
    sharded = estimate.memory_gib(shape, tokens=4096, **{**kw, "world": 8, "sharded": True})
    assert sharded < one - 30  # FSDP2 / ZeRO-3 shard the weights over 8 GPUs
    assert shape.lora_params(8, True) > 10 * shape.lora_params(8, False)


def test_plan_counts_tokens_steps_and_warns_on_waste(tmp_path):
    write_data_stage_output(tmp_path / "data")
    rows = [json.loads(line) for line in (tmp_path / "data" / "train.jsonl").open()]
    enc = harmony_encoding()
    total = sum(len(enc.encode(r["text"], allowed_special="all")) for r in rows)
    recipe = {
        "model": {"base": "tiny-gpt-oss"},
        "train": {"sequence_len": 256, "micro_batch_size": 2, "gradient_accumulation_steps": 2},
    }
    lines, warnings = estimate.plan_lines(recipe, tmp_path / "data", "unused")
    assert f"{len(rows)} rows, ~{total:,} tokens" in lines[0]
    lengths = [len(enc.encode(r["text"], allowed_special="all")) for r in rows]
    bins, filled = estimate.pack(lengths, 256)
    assert f"{bins} sequences, {filled:.0%} of each filled" in lines[1]
    assert f"train: {-(-bins // 4)} optimizer steps" in lines[2]
    assert not warnings and not any("GPU memory" in x for x in lines)  # cpu profile

    recipe["train"]["sequence_len"] = 16384
    recipe["train"]["profile"] = "multi_gpu"
    recipe["train"]["num_processes"] = 4
    lines, warnings = estimate.plan_lines(recipe, tmp_path / "data", "openai/gpt-oss-20b")
    _, filled = estimate.pack(
        [len(enc.encode(r["text"], allowed_special="all")) for r in rows], 16384
    )
    assert warnings == [
        f"train.sequence_len: 16384 wastes {1 - filled:.0%} of each packed sequence (rows: "
        f"median {sorted(lengths)[len(lengths) // 2]}, p95 {sorted(lengths)[int(len(lengths) * 0.95)]} tokens); "
        "a shorter sequence_len, or longer rows, would fill them"
    ]
    assert any("GPU memory ~" in x and "4 process(es)" in x for x in lines)


def test_train_stage_plan_has_the_estimates(tmp_path, capsys):
    """What `wikikit run --dry-run` prints for the train stage, and its warning."""
    from wikikit import runner
    from wikikit.recipe.load import load_recipe
    from wikikit.train import stage

    write_data_stage_output(tmp_path / "run" / "data")
    (tmp_path / "r.yaml").write_text(
        "wikikit: 1\nname: est\nstages: [train]\nmodel: {base: openai/gpt-oss-20b}\n"
        "train: {sequence_len: 8192}\n",
        encoding="utf-8",
    )
    ctx = runner.make_context(load_recipe(tmp_path / "r.yaml"), tmp_path / "run", "train")
    lines = stage.plan(ctx)
    assert any("optimizer steps" in x for x in lines)
    assert any("GPU memory ~" in x for x in lines)
    assert "train.sequence_len: 8192 wastes" in capsys.readouterr().err
