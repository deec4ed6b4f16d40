"""The train stage: the recipe -> a validated axolotl.yaml -> `axolotl preprocess/train/merge-lora`.

Outputs in the stage directory: axolotl.yaml, logs/ (Axolotl's full output per command),
adapter/ (the LoRA), merged/ (base + LoRA, unless train.merge is false) and metrics.json (steps,
loss curve, tokens/s, wall time, base model) that the eval, package and report stages read.
Checkpoints and Axolotl's prepared dataset live in the stage's cache directory, so a re-run after
an interrupted training resumes from the last checkpoint.

The Axolotl config is built in axolotl_config.py, Axolotl runs in axolotl_run.py, resumable
checkpoints are checkpoints.py; this module puts them in order.
"""

from __future__ import annotations

import math
import os
import shutil
import time
from pathlib import Path
from typing import Any

from wikikit import console
from wikikit.atomic import write_json, write_text
from wikikit.errors import InputError, WikikitError
from wikikit.stage import StageContext, StageResult
from wikikit.train.axolotl_config import (
    CHATML_TEMPLATE_PATH,
    TINY_BASE,
    axolotl_config,
    check_config,
    config_yaml,
    launcher_args,
    launcher_of,
    profile_of,
)
from wikikit.train.axolotl_run import LogWatcher, find_axolotl, run_axolotl, subprocess_env
from wikikit.train.checkpoints import (
    drop_stale_prepared,
    latest_checkpoint,
    prepare_checkpoint_dir,
    prepared_key,
    trainer_state,
)
from wikikit.train.gguf_base import gguf_file, hf_folder, is_gguf_base
from wikikit.train.labels import LabelReport, check_labels
from wikikit.train.tinymodel import TEMPLATE_PATH

# Rows per category checked before training (train.check_labels); 0 turns the check off.
DEFAULT_STAGE_CHECK = 2

STRATEGY_PATH = Path(__file__).resolve().parent / "harmony_turns.py"
CHATML_STRATEGY_PATH = STRATEGY_PATH.with_name("chatml_turns.py")


def resolve_base_model(ctx: StageContext, *, build: bool = True) -> str:
    """model.base as Axolotl's base_model: the tiny stand-in built on the spot, a GGUF file's
    Hugging Face form (wikikit/train/gguf_base.py), a path, or a Hub id."""
    model = ctx.recipe.data.get("model") or {}
    base = model.get("base", "openai/gpt-oss-20b")
    if base == TINY_BASE:
        path = ctx.cache_dir / TINY_BASE
        if build:
            from wikikit.train.tinymodel import make_tiny_model

            make_tiny_model(path, **(model.get("tiny") or {}))
        return str(path)
    if is_gguf_base(base):  # a GGUF file: its Hugging Face form, made once in the cache
        path = ctx.cache_dir / "base-from-gguf"
        gguf = gguf_file(base, ctx.recipe)
        return str(hf_folder(gguf, path) if build else path)
    if base.startswith((".", "/", "~")) or os.sep in base and Path(base).exists():
        path = (
            ctx.recipe.resolve_path(base, ("model", "base"))
            if hasattr(ctx.recipe, "resolve_path")
            else Path(base)
        )
        if not Path(path).is_dir():
            raise InputError(f"model.base: {base}: no such model directory")
        return str(path)
    return base


def label_check(ctx: StageContext, n: int, *, base_model: str | None = None) -> LabelReport:
    """`--check-labels`: Axolotl's preprocessing on n rows per category of the data stage's output."""
    data_dir = ctx.inputs.get("data") or ctx.run_dir / "data"
    return check_labels(
        ctx.recipe,
        Path(data_dir),
        ctx.cache_dir / "check-labels",
        base_model or resolve_base_model(ctx),
        n=n,
        axolotl_bin=find_axolotl(ctx.recipe),
    )


def _copy_tree(src: Path, dst: Path) -> None:
    """Copy a directory so that `dst` appears complete (copied beside it, then renamed)."""
    tmp = dst.parent / f".{dst.name}.tmp-copy"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp)
    if dst.exists():
        shutil.rmtree(dst)
    os.replace(tmp, dst)


def plan(ctx: StageContext) -> list[str]:
    """--dry-run: the run's shape, then what it needs (tokens, packing, steps, GPU memory)."""
    from wikikit.train.estimate import plan_lines

    train = ctx.section
    base = (ctx.recipe.data.get("model") or {}).get("base", "openai/gpt-oss-20b")
    data_dir = Path(ctx.inputs.get("data") or ctx.run_dir / "data")
    estimates, warnings = plan_lines(ctx.recipe, data_dir, resolve_base_model(ctx, build=False))
    for w in warnings:
        console.warn(w)
    return [
        f"train: axolotl LoRA on {base} (profile {profile_of(ctx.recipe)}, "
        f"launcher {' '.join([launcher_of(ctx.recipe), *launcher_args(ctx.recipe)])})",
        f"train: sequence_len {train.get('sequence_len', 4096)}, "
        + (
            f"max_steps {train['max_steps']}"
            if train.get("max_steps")
            else f"{train.get('num_epochs', 1)} epoch(s)"
        ),
        *estimates,
    ]


def run_stage(ctx: StageContext) -> StageResult:
    recipe = ctx.recipe
    train = ctx.section
    data_dir = ctx.inputs.get("data")
    if data_dir is None or not (Path(data_dir) / "train.jsonl").is_file():
        raise WikikitError(f"train: no train.jsonl from the data stage (looked in {data_dir})")
    data_dir = Path(data_dir)

    base_model = resolve_base_model(ctx)
    chatml = (recipe.data.get("model") or {}).get("family") == "chatml"
    key = prepared_key(
        [data_dir / "train.jsonl", data_dir / "validation.jsonl"],
        CHATML_TEMPLATE_PATH if chatml else TEMPLATE_PATH,
        CHATML_STRATEGY_PATH if chatml else STRATEGY_PATH,
        STRATEGY_PATH,  # the chatml strategy takes its history rule from this one
    )
    cfg = axolotl_config(
        recipe, data_dir, ctx.out_dir, base_model, cache_dir=ctx.cache_dir, prepared_key=key
    )
    check_config(cfg, recipe)
    drop_stale_prepared(Path(cfg["dataset_prepared_path"]).parent, key)

    axolotl_bin = find_axolotl(recipe)
    n_check = int(train.get("check_labels", DEFAULT_STAGE_CHECK))
    model = recipe.data.get("model") or {}
    if model.get("family", "harmony") != "harmony" or model.get("format", "harmony") != "harmony":
        n_check = 0  # the check reads harmony text (a chatml family is trained on chatml)
    report = None
    if n_check:  # a few rows per category through Axolotl first: stop before a long wrong run
        report = label_check(ctx, n_check, base_model=base_model)
        for line in report.lines():
            console.info(line)
        if not report.ok:
            raise WikikitError(
                "train: Axolotl would not train exactly the model's tokens; stopped before "
                "training\n" + "\n".join(report.lines())
            )
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    cfg_path = ctx.out_dir / "axolotl.yaml"
    write_text(cfg_path, config_yaml(cfg))
    output_dir = Path(cfg["output_dir"])
    resumed_state = prepare_checkpoint_dir(output_dir, cfg)
    resumed_from = int(resumed_state.get("global_step") or 0) if resumed_state else None
    if resumed_state is not None:
        console.info(f"train: resuming from {latest_checkpoint(output_dir).name}")
    env = subprocess_env(axolotl_bin, Path(base_model).is_dir())
    logs = ctx.out_dir / "logs"
    launch = ["--launcher", launcher_of(recipe)]
    if launcher_args(recipe):
        launch += ["--", *launcher_args(recipe)]

    start = time.monotonic()
    run_axolotl([str(axolotl_bin), "preprocess", str(cfg_path)], logs / "preprocess.log", env)
    watcher = LogWatcher(cfg.get("max_steps"), start_step=resumed_from or 0)
    t0 = time.monotonic()
    run_axolotl(
        [str(axolotl_bin), "train", str(cfg_path), *launch],
        logs / "train.log",
        env,
        watcher,
    )
    train_wall = time.monotonic() - t0

    adapter_src = output_dir
    if not (adapter_src / "adapter_model.safetensors").is_file():
        raise WikikitError(
            f"train: Axolotl finished without an adapter in {adapter_src}; see {logs / 'train.log'}"
        )
    adapter_dir = ctx.out_dir / "adapter"
    _stage_adapter(adapter_src, adapter_dir)

    outputs = [
        "axolotl.yaml",
        "adapter/adapter_config.json",
        "adapter/adapter_model.safetensors",
        "metrics.json",
    ]
    merged_dir = None
    if train.get("merge", True):
        run_axolotl(
            [str(axolotl_bin), "merge-lora", str(cfg_path), f"--lora-model-dir={adapter_src}"],
            logs / "merge.log",
            env,
        )
        merged_dir = ctx.out_dir / "merged"
        _copy_tree(output_dir / "merged", merged_dir)
        outputs.append("merged/config.json")

    metrics = build_metrics(
        watcher,
        trainer_state(output_dir),
        base_model,
        train_wall,
        time.monotonic() - start,
        resumed_state=resumed_state,
    )
    metrics.update(
        {
            "adapter": "adapter",
            "merged": "merged" if merged_dir else None,
            "resumed": resumed_state is not None,
            "resumed_from_step": resumed_from,
            "label_check": report.summary() if report else None,
        }
    )
    write_json(ctx.out_dir / "metrics.json", metrics)
    if metrics["final_loss"] is None or not math.isfinite(metrics["final_loss"]):
        raise WikikitError(
            f"train: loss is not finite ({metrics['final_loss']}); see {logs / 'train.log'}"
        )
    summary = (
        f"{metrics['steps']} steps, final loss {metrics['final_loss']:.4f}, "
        f"{metrics['tokens_per_second'] or 0:.0f} tokens/s, {metrics['wall_time_s']:.0f}s"
    )
    counts = {k: metrics[k] for k in ("steps", "final_loss", "tokens_per_second", "wall_time_s")}
    return StageResult(outputs=outputs, counts=counts, summary=summary)


def _stage_adapter(src: Path, dst: Path) -> None:
    tmp = dst.parent / f".{dst.name}.tmp-copy"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for f in src.iterdir():
        # The adapter, its config and the tokenizer/chat template that go with it.
        if f.is_file() and (
            f.name.startswith("adapter_")
            or f.name.startswith("tokenizer")
            or f.name in ("chat_template.jinja", "special_tokens_map.json", "README.md")
        ):
            shutil.copy2(f, tmp / f.name)
    if dst.exists():
        shutil.rmtree(dst)
    os.replace(tmp, dst)


def build_metrics(
    watcher: LogWatcher,
    state: dict[str, Any],
    base_model: str,
    train_wall: float,
    wall: float,
    *,
    resumed_state: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """metrics.json: what eval, package and report read. Loss curve from the Trainer's log.

    After a resume, the steps before the checkpoint come from its trainer state, so the curve
    covers the whole training, not only the last attempt."""
    curve = [{"step": e["step"], "loss": e["loss"]} for e in watcher.losses]
    first = curve[0]["step"] if curve else math.inf
    # Steps before this attempt's first: the resumed checkpoint's, else (nothing left to do) the
    # final state's.
    for history in (resumed_state or {}, state):
        earlier = [
            {"step": h["step"], "loss": h["loss"]}
            for h in history.get("log_history", [])
            if "loss" in h and "step" in h and h["step"] < first
        ]
        if earlier:
            curve = earlier + curve
            break
    tkps = [
        e["tokens_per_second"]
        for e in watcher.losses
        if isinstance(e.get("tokens_per_second"), float)
    ]
    evals = [h for h in state.get("log_history", []) if "eval_loss" in h]
    return {
        "base_model": base_model,
        "steps": int(state.get("global_step") or (curve[-1]["step"] if curve else 0)),
        "final_loss": curve[-1]["loss"] if curve else None,
        "train_loss": watcher.summary.get("train_loss"),
        "eval_loss": evals[-1]["eval_loss"] if evals else None,
        "loss_curve": curve,
        "tokens_per_second": (sum(tkps) / len(tkps)) if tkps else None,
        "train_runtime_s": watcher.summary.get("train_runtime"),
        "train_wall_s": round(train_wall, 2),
        "wall_time_s": round(wall, 2),
    }
