"""End to end on CPU: data-stage JSONL -> tiny gpt-oss -> Axolotl LoRA -> merged model that generates.

The data has every shape the label check knows (a system prompt with thinking, a tool call and its
result, two turns, a text with no user turn); the stage checks the labels before training, and a
configuration without `<|call|>` among the end tokens fails the label check, and the stage stops
before it trains."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
from train_helpers import ANSWER, OFFLINE_ENV, write_data_stage_output

from wikikit.errors import WikikitError
from wikikit.recipe.load import load_recipe
from wikikit.stage import StageContext

pytestmark = pytest.mark.slow

for _k, _v in OFFLINE_ENV.items():
    os.environ.setdefault(_k, _v)


RECIPE = """
wikikit: 1
name: e2e
seed: 3
stages: [train]
model: {base: tiny-gpt-oss, tiny: {num_hidden_layers: 2, hidden_size: 64, num_local_experts: 4, seed: 0}}
train:
  sequence_len: 256
  max_steps: 3
  micro_batch_size: 2
  gradient_accumulation_steps: 1
  optimizer: adamw_torch
  learning_rate: 0.001
  warmup_ratio: 0.0
  save_steps: 2
  gradient_checkpointing: false
  lora: {r: 8, alpha: 16, dropout: 0.0, target_experts: true}
  check_labels: 0  # checked below on its own (and in the demo run, before its training)
"""


# Axolotl's gpt-oss example and wikikit before issue 17 ended turns with <|end|> alone.
WITHOUT_CALL = 'train.axolotl={eot_tokens: ["<|end|>", "<|return|>"]}'


def _context(root: Path, overrides: tuple[str, ...] = ()) -> StageContext:
    return StageContext(
        recipe=load_recipe(root / "recipe.yaml", overrides),
        stage="train",
        run_dir=root,
        out_dir=root / "train",
        cache_dir=root / "cache" / "train",
        inputs={"data": root / "data"},
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    write_data_stage_output(root / "data")
    (root / "recipe.yaml").write_text(RECIPE, encoding="utf-8")
    ctx = _context(root)
    from wikikit.train import stage as train

    result = train.run_stage(ctx)
    return ctx, result


def _prepared_rows(ctx) -> list[dict]:
    from datasets import load_from_disk

    prepared = [p.parent for p in (ctx.cache_dir / "prepared").rglob("dataset_info.json")]
    assert prepared
    return [r for p in prepared for r in load_from_disk(str(p))]


def test_outputs_and_metrics(trained):
    ctx, result = trained
    for rel in result.outputs:
        assert (ctx.out_dir / rel).is_file(), rel
    metrics = json.loads((ctx.out_dir / "metrics.json").read_text())
    assert metrics["steps"] == 3
    assert len(metrics["loss_curve"]) == 3
    assert all(math.isfinite(p["loss"]) for p in metrics["loss_curve"])
    assert metrics["base_model"] == str(ctx.cache_dir / "tiny-gpt-oss")
    assert metrics["tokens_per_second"] and metrics["tokens_per_second"] > 0
    assert (ctx.out_dir / "logs" / "train.log").stat().st_size > 0


def test_adapter_weights_changed(trained):
    from safetensors.torch import load_file

    ctx, _ = trained
    weights = load_file(ctx.out_dir / "adapter" / "adapter_model.safetensors")
    lora_b = {k: v for k, v in weights.items() if "lora_B" in k}
    assert lora_b, sorted(weights)[:5]
    # PEFT initialises every B matrix to zero: a nonzero B is what training wrote.
    assert any(float(v.abs().max()) > 0 for v in lora_b.values())
    assert any("q_proj" in k for k in lora_b)
    assert any("mlp.experts" in k for k in lora_b)  # train.lora.target_experts


def test_merged_model_loads_and_generates(trained):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    ctx, _ = trained
    merged = ctx.out_dir / "merged"
    tok = AutoTokenizer.from_pretrained(merged)
    model = AutoModelForCausalLM.from_pretrained(merged)
    ids = tok.apply_chat_template(
        [{"role": "user", "content": "What does m1.py do?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    out = model.generate(**ids, max_new_tokens=6, do_sample=False)
    assert out.shape[1] > ids["input_ids"].shape[1]


def test_assistant_only_loss_masking(trained):
    """On a prepared (tokenized) example: system and user tokens are masked, the answer trained."""
    from transformers import AutoTokenizer

    ctx, _ = trained
    tok = AutoTokenizer.from_pretrained(ctx.cache_dir / "tiny-gpt-oss")
    rows = _prepared_rows(ctx)
    row = next(r for r in rows if "What does module m1.py do?" in tok.decode(r["input_ids"]))
    trained_text = tok.decode(
        [t for t, lab in zip(row["input_ids"], row["labels"], strict=True) if lab != -100]
    )
    masked_text = tok.decode(
        [t for t, lab in zip(row["input_ids"], row["labels"], strict=True) if lab == -100]
    )
    assert ANSWER.format(k=1, n=6) in trained_text
    assert "What does module m1.py do?" in masked_text and "What does module" not in trained_text
    assert "You document code" in masked_text and "You document code" not in trained_text
    assert "Reasoning: medium" not in trained_text


def test_tool_call_turn_trains_its_call_token_and_channel(trained):
    """On Axolotl's prepared dataset of the real run: the tool call's <|call|> is trained, and so
    is the header the model opens each turn with (<|channel|> right after <|start|>assistant)."""
    from transformers import AutoTokenizer

    ctx, _ = trained
    tok = AutoTokenizer.from_pretrained(ctx.cache_dir / "tiny-gpt-oss")
    call, start, channel = (
        tok.convert_tokens_to_ids(t) for t in ("<|call|>", "<|start|>", "<|channel|>")
    )
    rows = [r for r in _prepared_rows(ctx) if "Read m3.py" in tok.decode(r["input_ids"])]
    assert rows
    for row in rows:
        ids, labels = row["input_ids"], row["labels"]
        trained_ids = [t for t, lab in zip(ids, labels, strict=True) if lab != -100]
        assert call in trained_ids
        k = ids.index(call)
        assert labels[k] == call and labels[k + 1] == -100  # the tool's result is not trained
        first = next(i for i, lab in enumerate(labels) if lab != -100)
        assert ids[first - 2 : first + 1] == [
            start,
            tok.convert_tokens_to_ids("assistant"),
            channel,
        ]
        assert "def f(): pass" not in tok.decode(trained_ids)  # the tool result's text


def test_check_labels_fails_without_the_call_token(trained, monkeypatch):
    """`wikikit train --check-labels` on a config whose end tokens lack <|call|>: exit 1, the
    tool-use rows are the mismatch, decoded with the call outside the trained part, and every
    other shape (system + thinking, two turns, no user turn) passes through Axolotl's own
    preprocessing."""
    from click.testing import CliRunner

    from wikikit.cli import cli

    ctx, _ = trained
    monkeypatch.chdir(ctx.run_dir)
    args = ["train", "recipe.yaml", "--check-labels", "--n", "1", "--run-dir", "."]
    res = CliRunner().invoke(cli, [*args, "--set", WITHOUT_CALL])
    out = res.output
    assert res.exit_code == 1, out
    assert "labels: tool_use: 1 checked, 1 MISMATCH" in out
    for cat in ("cpt", "multi_turn", "qa"):
        assert f"labels: {cat}: 1 checked, ok" in out
    assert "first mismatch: tool_use" in out and "'<|call|>'" in out
    trains = next(line for line in out.splitlines() if "Axolotl trains:" in line)
    assert "⟧<|call|>" in trains  # the call token comes right after the trained part


def test_stage_stops_before_training_on_a_label_mismatch(trained):
    ctx, _ = trained
    from wikikit.train import stage as train

    broken = _context(ctx.run_dir, (WITHOUT_CALL, "train.check_labels=1"))
    broken.out_dir = ctx.run_dir / "train-broken"
    with pytest.raises(WikikitError, match="stopped before training") as err:
        train.run_stage(broken)
    assert "tool_use: 1 checked, 1 MISMATCH" in str(err.value)
    assert "Axolotl trains:" in str(err.value)  # the decoded mismatch
    assert not (broken.out_dir / "logs" / "train.log").exists()
