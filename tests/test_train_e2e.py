"""End to end on CPU: data-stage JSONL -> tiny gpt-oss -> Axolotl LoRA -> merged model that generates."""

from __future__ import annotations

import json
import math
import os

import pytest
from train_helpers import ANSWER, OFFLINE_ENV, write_data_stage_output

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
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    write_data_stage_output(root / "data")
    (root / "recipe.yaml").write_text(RECIPE, encoding="utf-8")
    recipe = load_recipe(root / "recipe.yaml")
    ctx = StageContext(
        recipe=recipe,
        stage="train",
        run_dir=root,
        out_dir=root / "train",
        cache_dir=root / "cache" / "train",
        inputs={"data": root / "data"},
    )
    from wikikit.train import stage as train

    result = train.run_stage(ctx)
    return ctx, result


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
    from datasets import load_from_disk
    from transformers import AutoTokenizer

    ctx, _ = trained
    prepared = [p.parent for p in (ctx.cache_dir / "prepared").rglob("dataset_info.json")]
    assert prepared
    tok = AutoTokenizer.from_pretrained(ctx.cache_dir / "tiny-gpt-oss")
    rows = [r for p in prepared for r in load_from_disk(str(p))]
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
