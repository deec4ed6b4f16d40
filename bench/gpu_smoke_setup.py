"""Set-up for bench/gpu_smoke.sh: pick the model, write the smoke data and recipe, read figures.

    python bench/gpu_smoke_setup.py model [--model X]            # prints the base model to use
    python bench/gpu_smoke_setup.py build DIR                    # builds the larger random gpt-oss
    python bench/gpu_smoke_setup.py write OUT --model X --steps N --seq-len N [--offline]
    python bench/gpu_smoke_setup.py figures RUN_DIR [--gpu-mem-log FILE]

The data: 64 rows made from wikikit's own source files in the shapes training sees (a page task
with the code in the prompt and thinking, and a tool-use trajectory ending in a final answer),
long enough to fill the sequences. The recipe: the gpu profile (Axolotl's gpt-oss LoRA example),
a few steps, the label check first, merge, then a q8_0 GGUF with verification.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

GPT_OSS_20B = "openai/gpt-oss-20b"
# The larger random stand-in: ~0.9B parameters (embeddings 0.4B), small enough for any GPU.
RANDOM_SHAPE = {"num_hidden_layers": 8, "hidden_size": 1024, "num_local_experts": 16, "seed": 0}
SYSTEM = (
    "You are a senior technical writer documenting a codebase. Ground every claim in the code "
    "and reference it as [path:line](../path#Lline)."
)


def cached_gpt_oss_20b() -> bool:
    """openai/gpt-oss-20b's config and weights index in the local Hub cache (no download)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    return all(
        isinstance(try_to_load_from_cache(GPT_OSS_20B, f), str)
        for f in ("config.json", "model.safetensors.index.json")
    )


def choose_model(given: str | None, out: Path) -> str:
    if given:
        return given
    return GPT_OSS_20B if cached_gpt_oss_20b() else str(out / "random-gpt-oss")


def build_random(path: Path) -> None:
    from wikikit.train.tinymodel import make_tiny_model

    make_tiny_model(path, **RANDOM_SHAPE)


def _rows(seq_len: int) -> list[dict]:
    from wikikit.data.render import openai_messages
    from wikikit.example import Example, Message, ToolCall

    files = sorted((REPO / "wikikit").rglob("*.py"))
    budget = max(1000, int(seq_len * 2.5))  # characters of code per row, about the sequence
    rows = []
    for i, path in enumerate(files[:64]):
        rel = path.relative_to(REPO).as_posix()
        code = path.read_text(encoding="utf-8")[:budget]
        n = code.count("\n") + 1
        title = rel.removesuffix(".py").replace("/", ".")
        answer = (
            f"# {title}\n\n`{rel}` is {n} lines long; it starts at "
            f"[{rel}:1](../{rel}#L1).\n\n```python\n{code[:400]}\n```\n"
        )
        if i % 4 == 3:
            msgs = [
                Message("system", SYSTEM),
                Message("user", f"Document {rel}."),
                Message(
                    "assistant",
                    "",
                    thinking=f"Read {rel} first.",
                    tool_calls=[ToolCall("read_file", {"path": rel})],
                ),
                Message("tool", code, name="read_file"),
                Message("assistant", answer, thinking="Now write the page."),
            ]
            category = "tool_use"
        else:
            msgs = [
                Message("system", SYSTEM),
                Message("user", f'# Documentation Task: "{title}"\n\n```python\n{code}\n```'),
                Message("assistant", answer, thinking=f"The page is about {rel}."),
            ]
            category = "page"
        ex = Example(f"smoke-{i}", msgs, "gpu-smoke", category)
        rows.append({"messages": openai_messages(ex), "category": category})
    return rows


def write(out: Path, model: str, steps: int, seq_len: int, offline: bool) -> Path:
    """The smoke data and recipe in OUT; returns the recipe's path."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "rows.jsonl", "w", encoding="utf-8") as f:
        for row in _rows(seq_len):
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    raw: dict = {}
    if model != GPT_OSS_20B:
        # A bf16 checkpoint has no MXFP4 weights to dequantise.
        raw.update({"model_quantization_config": None, "model_quantization_config_kwargs": None})
    if offline:
        # The kernels and attention come from the Hub (kernels-community/*) unless cached.
        raw.update({"use_kernels": False, "attn_implementation": "eager"})
    try:
        import cut_cross_entropy  # noqa: F401
    except ImportError:
        raw["plugins"] = []  # Axolotl's GPU extra brings it; without it, plain cross-entropy
    recipe = {
        "wikikit": 1,
        "name": "gpu-smoke",
        "seed": 0,
        "stages": ["data", "train", "package"],
        "model": {"base": model, "format": "harmony"},
        "data": {
            "size": 64,
            "mix": {"all": {"weight": 1.0, "sources": ["smoke"]}},
            "sources": {"smoke": {"kind": "jsonl", "paths": ["rows.jsonl"]}},
            "quality": {"min_chars": 10, "mermaid": "ignore", "require_refs": False},
            "decontaminate": {"enabled": False},
            "split": {"train": 0.9, "validation": 0.1, "test": 0.0},
        },
        "train": {
            "profile": "gpu",
            "launcher": "python",
            "sequence_len": seq_len,
            "sample_packing": True,
            "max_steps": steps,
            "save_steps": steps,
            "micro_batch_size": 1,
            "gradient_accumulation_steps": 1,
            "warmup_ratio": 0.0,
            "check_labels": 2,
            "merge": True,
            "axolotl": raw,
        },
        "package": {"gguf": {"outtype": "q8_0", "verify": True}, "ollama": {"create": False}},
    }
    path = out / "recipe.json"  # JSON is YAML: the recipe loader reads it as is
    path.write_text(json.dumps(recipe, indent=2) + "\n", encoding="utf-8")
    return path


def figures(run_dir: Path, gpu_log: Path | None) -> list[str]:
    """The figures the smoke run prints: throughput, memory, first losses, merge, GGUF."""
    lines = []
    metrics_file = run_dir / "train" / "metrics.json"
    if not metrics_file.is_file():
        return [f"no train/metrics.json in {run_dir}: the train stage did not finish"]
    m = json.loads(metrics_file.read_text())
    losses = ", ".join(f"{p['loss']:.3f}" for p in m["loss_curve"][:5])
    lines.append(f"base model:        {m['base_model']}")
    lines.append(f"steps:             {m['steps']} (train wall {m['train_wall_s']:.0f}s)")
    lines.append(f"tokens/s per GPU:  {m['tokens_per_second'] or 0:.0f}")
    lines.append(f"first losses:      {losses}")
    log = (run_dir / "train" / "logs" / "train.log").read_text(errors="replace")
    axolotl_mem = [
        float(v)
        for v in re.findall(r"memory/max_(?:mem_)?(?:active|allocated)\(gib\)'?: '?([\d.]+)", log)
    ]
    if axolotl_mem:
        lines.append(f"peak memory:       {max(axolotl_mem):.1f} GiB (Axolotl's memory log)")
    if gpu_log and gpu_log.is_file():
        used = [int(x) for x in re.findall(r"^\s*(\d+)\s*MiB", gpu_log.read_text(), re.M)]
        if used:
            lines.append(f"peak GPU memory:   {max(used) / 1024:.1f} GiB (nvidia-smi, every 0.5 s)")
    lines.append(f"label check:       {json.dumps(m.get('label_check'))}")
    lines.append(f"merged:            {(run_dir / 'train' / 'merged' / 'config.json').is_file()}")
    pkg = run_dir / "package" / "package.json"
    if pkg.is_file():
        p = json.loads(pkg.read_text())
        gguf = run_dir / "package" / "model.gguf"
        size = gguf.stat().st_size / 1024**3 if gguf.is_file() else 0
        lines.append(
            f"GGUF:              {size:.2f} GiB, verify {json.dumps(p.get('verify'))[:200]}"
        )
    else:
        lines.append("GGUF:              not written (see the package stage's log)")
    return lines


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("model")
    m.add_argument("--model")
    m.add_argument("--out", default=".")
    b = sub.add_parser("build")
    b.add_argument("dir")
    w = sub.add_parser("write")
    w.add_argument("out")
    w.add_argument("--model", required=True)
    w.add_argument("--steps", type=int, required=True)
    w.add_argument("--seq-len", type=int, required=True)
    w.add_argument("--offline", action="store_true")
    f = sub.add_parser("figures")
    f.add_argument("run_dir")
    f.add_argument("--gpu-mem-log")
    args = ap.parse_args(argv)
    if args.cmd == "model":
        print(choose_model(args.model, Path(args.out)))
    elif args.cmd == "build":
        build_random(Path(args.dir))
    elif args.cmd == "write":
        print(write(Path(args.out), args.model, args.steps, args.seq_len, args.offline))
    else:
        gpu_log = Path(args.gpu_mem_log) if args.gpu_mem_log else None
        print("\n".join(figures(Path(args.run_dir), gpu_log)))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main(sys.argv[1:]))
