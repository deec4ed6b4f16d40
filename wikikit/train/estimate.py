"""What a training run will need, before it starts (`wikikit run RECIPE --dry-run`).

- Tokens: the data stage's rows (`text`, counted with the harmony encoding; a spread sample of
  4,000 rows for larger files), per row and in all.
- Packing: with `sample_packing`, rows are packed first-fit-decreasing into `sequence_len` bins,
  as Axolotl's multipack sampler does; the share of each packed sequence left empty is the
  waste, and a warning says so when it is most of it.
- Steps: packed sequences (or rows) / (micro batch x gradient accumulation x processes).
- GPU memory, an estimate: the weights in bf16 (MXFP4 dequantised, as the gpu profiles load
  them; sharded over the processes under FSDP2 and ZeRO-3), the LoRA weights with their
  gradients and Adam moments, and activations per token of a micro batch, calibrated on the one
  measured figure there is: Axolotl's gpt-oss-20b LoRA example, 4,096 tokens on one GPU, ~44 GiB
  (axolotl examples/gpt-oss/README.md, `device_mem_reserved`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wikikit.bounded import iter_jsonl

SAMPLE_ROWS = 4000
GIB = 1024**3
# openai/gpt-oss-20b's config.json, for when no config is readable offline.
GPT_OSS_20B = {
    "hidden_size": 2880,
    "num_hidden_layers": 24,
    "num_attention_heads": 64,
    "num_key_value_heads": 8,
    "head_dim": 64,
    "intermediate_size": 2880,
    "num_local_experts": 32,
    "vocab_size": 201088,
}
# Calibration: 44 GiB measured - the bf16 weights of gpt-oss-20b, over 4,096 tokens.
MEASURED_GIB, MEASURED_TOKENS = 44.0, 4096


@dataclass
class Shape:
    hidden: int
    layers: int
    q_out: int
    kv_out: int
    inter: int
    experts: int
    vocab: int

    @classmethod
    def from_config(cls, c: dict[str, Any]) -> Shape:
        head_dim = c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]
        return cls(
            hidden=c["hidden_size"],
            layers=c["num_hidden_layers"],
            q_out=c["num_attention_heads"] * head_dim,
            kv_out=c.get("num_key_value_heads", c["num_attention_heads"]) * head_dim,
            inter=c.get("intermediate_size", c["hidden_size"]),
            experts=c.get("num_local_experts", 1),
            vocab=c["vocab_size"],
        )

    def attention_params(self) -> int:
        h = self.hidden
        return 2 * h * self.q_out + 2 * h * self.kv_out  # q, o; k, v

    def expert_params(self) -> int:
        return self.experts * (self.hidden * 2 * self.inter + self.inter * self.hidden)

    def params(self) -> int:
        per_layer = self.attention_params() + self.expert_params() + self.hidden * self.experts
        return self.layers * per_layer + 2 * self.vocab * self.hidden

    def lora_params(self, r: int, experts: bool) -> int:
        h = self.hidden
        attn = r * ((h + self.q_out) * 2 + (h + self.kv_out) * 2)
        moe = r * self.experts * ((h + 2 * self.inter) + (self.inter + h)) if experts else 0
        return self.layers * (attn + moe)


def model_shape(base: str) -> tuple[Shape, str]:
    """The base model's shape from its config.json (a folder, or the local Hub cache)."""
    cfg_file = Path(base) / "config.json"
    source = str(cfg_file)
    if not cfg_file.is_file():
        try:
            from huggingface_hub import try_to_load_from_cache

            hit = try_to_load_from_cache(base, "config.json")
        except Exception:  # noqa: BLE001 - not a Hub id: use the known shape
            hit = None
        cfg_file = Path(hit) if isinstance(hit, str) else None
        source = str(cfg_file) if cfg_file else "openai/gpt-oss-20b's published config"
    data = json.loads(cfg_file.read_text(encoding="utf-8")) if cfg_file else GPT_OSS_20B
    return Shape.from_config(data), source


def row_lengths(data_dir: Path) -> tuple[list[int], int]:
    """Token lengths of (a spread sample of) train.jsonl's rows, and how many rows there are."""
    from wikikit.train.tinymodel import harmony_encoding

    path = Path(data_dir) / "train.jsonl"
    rows = sum(1 for _ in iter_jsonl(path))  # two passes: never all of train.jsonl in memory
    step = max(1, math.ceil(rows / SAMPLE_ROWS))
    enc = harmony_encoding()
    lengths = [
        len(enc.encode(row.get("text") or "", allowed_special="all"))
        for i, (_, row) in enumerate(iter_jsonl(path))
        if i % step == 0
    ]
    return lengths, rows


def pack(lengths: list[int], seq_len: int) -> tuple[int, float]:
    """First-fit-decreasing packing: (number of packed sequences, share of them filled)."""
    bins: list[int] = []
    for n in sorted((min(n, seq_len) for n in lengths), reverse=True):
        for i, free in enumerate(bins):
            if free >= n:
                bins[i] -= n
                break
        else:
            bins.append(seq_len - n)
    if not bins:
        return 0, 0.0
    return len(bins), sum(min(n, seq_len) for n in lengths) / (len(bins) * seq_len)


def memory_gib(
    shape: Shape, *, tokens: int, world: int, sharded: bool, lora_r: int, experts: bool
) -> float:
    """Peak GPU memory per device, an estimate (see the module docstring)."""
    ref = Shape.from_config(GPT_OSS_20B)
    ref_weights = ref.params() * 2 / GIB
    per_token = (MEASURED_GIB - ref_weights) * GIB / MEASURED_TOKENS
    # Activations grow with the width and depth of the model.
    per_token *= (shape.hidden * shape.layers) / (ref.hidden * ref.layers)
    weights = shape.params() * 2 / (world if sharded else 1)
    lora = shape.lora_params(lora_r, experts) * (2 + 2 + 8)  # bf16 weight + grad, fp32 moments
    return (weights + lora + per_token * tokens) / GIB


def plan_lines(recipe: Any, data_dir: Path, base: str) -> tuple[list[str], list[str]]:
    """(estimate lines, warnings) for the train stage's --dry-run."""
    from wikikit.train.axolotl_config import DISTRIBUTED, launcher_args, profile_of, recipe_data

    train = recipe_data(recipe).get("train") or {}
    seq = int(train.get("sequence_len", 4096))
    mb = int(train.get("micro_batch_size", 1))
    ga = int(train.get("gradient_accumulation_steps", 8))
    args = launcher_args(recipe)
    world = int(args[1]) if args[:1] in (["--num_processes"], ["--nproc_per_node"]) else 1
    packing = bool(train.get("sample_packing", True))
    lines, warnings = [], []
    if (Path(data_dir) / "train.jsonl").is_file():
        lengths, rows = row_lengths(data_dir)
        scale = rows / max(1, len(lengths))
        total = int(sum(lengths) * scale)
        ordered = sorted(lengths)
        p50, p95 = ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.95)]
        lines.append(
            f"train: data: {rows} rows, ~{total:,} tokens (per row: median {p50}, p95 {p95}, "
            f"max {ordered[-1]})" + ("" if scale == 1 else f"; counted on {len(lengths)} rows")
        )
        if packing:
            bins, filled = pack(lengths, seq)
            sequences = math.ceil(bins * scale)
            lines.append(
                f"train: packing into {seq}-token sequences: {sequences} sequences, "
                f"{filled:.0%} of each filled"
            )
            if filled < 0.5:
                warnings.append(
                    f"train.sequence_len: {seq} wastes {1 - filled:.0%} of each packed sequence "
                    f"(rows: median {p50}, p95 {p95} tokens); a shorter sequence_len, or longer "
                    "rows, would fill them"
                )
        else:
            sequences = rows
        per_step = mb * ga * world
        per_epoch = max(1, math.ceil(sequences / per_step))
        epochs = float(train.get("num_epochs", 1))
        steps = math.ceil(per_epoch * epochs)
        if train.get("max_steps"):
            steps = min(steps, int(train["max_steps"]))
        lines.append(
            f"train: {steps} optimizer steps ({per_epoch} per epoch; {per_step} sequences per "
            f"step = micro batch {mb} x accumulation {ga} x {world} process(es))"
        )
    else:
        lines.append("train: no data yet: steps and tokens are estimated after the data stage")
    profile = profile_of(recipe)
    if profile != "cpu":
        shape, source = model_shape(base)
        lora = train.get("lora") or {}
        gib = memory_gib(
            shape,
            tokens=seq * mb,
            world=world,
            sharded=profile in DISTRIBUTED,
            lora_r=int(lora.get("r", 8)),
            experts=bool(lora.get("target_experts")),
        )
        lines.append(
            f"train: GPU memory ~{gib:.0f} GiB per device (profile {profile}, {world} process(es), "
            f"{seq * mb} tokens per micro batch; {shape.params() / 1e9:.1f}B parameters from "
            f"{source}; an estimate calibrated on Axolotl's gpt-oss-20b LoRA example)"
        )
    return lines, warnings
