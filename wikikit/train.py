"""The train stage: the recipe -> a validated axolotl.yaml -> `axolotl preprocess/train/merge-lora`.

Outputs in the stage directory: axolotl.yaml, logs/ (Axolotl's full output per command),
adapter/ (the LoRA), merged/ (base + LoRA, unless train.merge is false) and metrics.json (steps,
loss curve, tokens/s, wall time, base model) that the eval, package and report stages read.
Checkpoints and Axolotl's prepared dataset live in the stage's cache directory, so a re-run after
an interrupted training resumes from the last checkpoint.

Profiles: `gpu` follows Axolotl's gpt-oss LoRA example (examples/gpt-oss/
gpt-oss-20b-sft-lora-singlegpu.yaml) key for key; `cpu` is what runs a tiny gpt-oss on a laptop
(eager attention, no kernels, no MXFP4, no Cut Cross Entropy). `train.axolotl` passes raw keys
through and wins over everything generated here.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

import yaml

from wikikit import console
from wikikit.atomic import write_json, write_text
from wikikit.errors import InputError, WikikitError
from wikikit.stage import StageContext, StageResult

TINY_BASE = "tiny-gpt-oss"
CHAT_FIELDS = {
    "type": "chat_template",
    "field_messages": "messages",
    "field_thinking": "thinking",
    "template_thinking_key": "thinking",
    "roles_to_train": ["assistant"],
    "chat_template": "tokenizer_default",
}

# Axolotl's gpt-oss LoRA example: what only makes sense on a CUDA GPU.
GPU_PROFILE: dict[str, Any] = {
    "use_kernels": True,
    "model_quantization_config": "Mxfp4Config",
    "model_quantization_config_kwargs": {"dequantize": True},
    "plugins": ["axolotl.integrations.cut_cross_entropy.CutCrossEntropyPlugin"],
    "experimental_skip_move_to_device": True,
    "bf16": True,
    "tf32": True,
    # The example also sets the legacy `flash_attention: true`; Axolotl 0.19's validator rejects
    # it next to attn_implementation ("set only `attn_implementation`"), so it is left out.
    "attn_implementation": "kernels-community/vllm-flash-attn3",
    "activation_offloading": True,
}
# Measured on CPU (../shared/ENVIRONMENT.md): gpt-oss has no sdpa, LoRA kernels need Triton.
CPU_PROFILE: dict[str, Any] = {
    "attn_implementation": "eager",
    "lora_mlp_kernel": False,
    "lora_qkv_kernel": False,
    "lora_o_kernel": False,
    "bf16": "auto",
    # Without a GPU, bf16 "auto" turns fp16 on (float16 weights): very slow matmuls on CPU.
    "fp16": False,
    "tf32": False,
}

# Generated Axolotl key -> the recipe key it comes from (to name the recipe key in errors).
RECIPE_KEYS = {
    "base_model": "model.base",
    "adapter": "train.adapter",
    "lora_r": "train.lora.r",
    "lora_alpha": "train.lora.alpha",
    "lora_dropout": "train.lora.dropout",
    "lora_target_modules": "train.lora.target_modules",
    "lora_target_linear": "train.lora.target_linear",
    "sequence_len": "train.sequence_len",
    "sample_packing": "train.sample_packing",
    "optimizer": "train.optimizer",
    "lr_scheduler": "train.lr_scheduler",
    "learning_rate": "train.learning_rate",
    "warmup_ratio": "train.warmup_ratio",
    "num_epochs": "train.num_epochs",
    "max_steps": "train.max_steps",
    "micro_batch_size": "train.micro_batch_size",
    "gradient_accumulation_steps": "train.gradient_accumulation_steps",
    "gradient_checkpointing": "train.gradient_checkpointing",
    "save_steps": "train.save_steps",
    "chat_template_kwargs": "model.reasoning_effort",
    "seed": "seed",
}
for _k in set(GPU_PROFILE) | set(CPU_PROFILE):
    RECIPE_KEYS.setdefault(_k, "train.profile")


def _data(recipe: Any) -> dict[str, Any]:
    """A Recipe or the plain dict it holds."""
    return recipe.data if hasattr(recipe, "data") else recipe


def profile_of(recipe: Any) -> str:
    d = _data(recipe)
    train = d.get("train") or {}
    if train.get("profile"):
        return train["profile"]
    return "cpu" if (d.get("model") or {}).get("base") == TINY_BASE else "gpu"


def axolotl_config(
    recipe: Any,
    data_dir: Path,
    out_dir: Path,
    base_model_path: str,
    *,
    cache_dir: Path | None = None,
) -> dict[str, Any]:
    """The Axolotl config (a dict, YAML-ready) for this recipe. Pure: touches no file."""
    d = _data(recipe)
    train = d.get("train") or {}
    model = d.get("model") or {}
    lora = train.get("lora") or {}
    cache_dir = Path(cache_dir) if cache_dir is not None else Path(out_dir) / "cache"
    data_dir = Path(data_dir)

    cfg: dict[str, Any] = {"base_model": str(base_model_path)}
    cfg.update(GPU_PROFILE if profile_of(recipe) == "gpu" else CPU_PROFILE)
    cfg["datasets"] = [{"path": str(data_dir / "train.jsonl"), "ds_type": "json", **CHAT_FIELDS}]
    val = data_dir / "validation.jsonl"
    if not val.exists() or val.stat().st_size > 0:
        cfg["test_datasets"] = [
            {"path": str(val), "ds_type": "json", "split": "train", **CHAT_FIELDS}
        ]
    cfg.update(
        {
            "dataset_prepared_path": str(cache_dir / "prepared"),
            "val_set_size": 0,
            "output_dir": str(cache_dir / "checkpoints"),
            "sequence_len": train.get("sequence_len", 4096),
            "sample_packing": train.get("sample_packing", True),
            "adapter": train.get("adapter", "lora"),
            "lora_r": lora.get("r", 8),
            "lora_alpha": lora.get("alpha", 16),
            # Axolotl's example: dropout is not supported with LoRA over expert parameters.
            "lora_dropout": lora.get("dropout", 0.0),
        }
    )
    if lora.get("target_modules"):
        cfg["lora_target_modules"] = list(lora["target_modules"])
        cfg["lora_target_linear"] = bool(lora.get("target_linear", False))
    else:
        # For gpt-oss this reaches the attention projections (the experts are fused tensors).
        cfg["lora_target_linear"] = lora.get("target_linear", True)
    cfg.update(
        {
            "gradient_accumulation_steps": train.get("gradient_accumulation_steps", 8),
            "micro_batch_size": train.get("micro_batch_size", 1),
            "num_epochs": train.get("num_epochs", 1),
            "optimizer": train.get("optimizer", "adamw_torch_8bit"),
            "lr_scheduler": train.get("lr_scheduler", "constant_with_warmup"),
            "learning_rate": train.get("learning_rate", 2e-4),
            "gradient_checkpointing": train.get("gradient_checkpointing", True),
            "logging_steps": 1,
            "warmup_ratio": train.get("warmup_ratio", 0.1),
            "eot_tokens": ["<|end|>"],
            "seed": int(d.get("seed", 0)),
            "chat_template_kwargs": {"reasoning_effort": model.get("reasoning_effort", "medium")},
            # Re-runs continue from the newest checkpoint in output_dir (kept in the cache).
            "auto_resume_from_checkpoints": True,
            "include_tkps": True,
        }
    )
    if train.get("max_steps"):
        cfg["max_steps"] = train["max_steps"]
    if train.get("save_steps"):
        cfg["save_steps"] = train["save_steps"]
    else:
        cfg["saves_per_epoch"] = 1
    cfg.update(train.get("axolotl") or {})
    return cfg


def config_yaml(cfg: dict[str, Any]) -> str:
    header = (
        "# Generated by wikikit from the recipe; edit the recipe (train.axolotl for raw keys).\n"
    )
    return header + yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True, width=100)


# ------------------------------------------------------------------------------ validation


def recipe_key_for(axolotl_key: str, recipe: Any) -> str:
    raw = ((_data(recipe).get("train") or {}).get("axolotl")) or {}
    if axolotl_key in raw:
        return f"train.axolotl.{axolotl_key}"
    return RECIPE_KEYS.get(axolotl_key, f"train.axolotl.{axolotl_key}")


def validate_with_axolotl(cfg: dict[str, Any], recipe: Any) -> None:
    """Run Axolotl's own config validator; its errors become recipe errors naming the key."""
    try:
        from axolotl.utils.config import validate_config
        from axolotl.utils.dict import DictDefault
    except ImportError:
        console.warn("axolotl is not importable here: its validator runs in `axolotl preprocess`")
        return
    from pydantic import ValidationError

    try:
        validate_config(DictDefault(json.loads(json.dumps(cfg))))
    except ValidationError as e:
        raise InputError(
            "the generated Axolotl config is invalid", _validation_lines(e, cfg, recipe)
        ) from None
    except (ValueError, TypeError) as e:
        raise InputError(
            "the generated Axolotl config is invalid", [_line_for_message(str(e), cfg, recipe)]
        ) from None


def _validation_lines(err: Any, cfg: dict[str, Any], recipe: Any) -> list[str]:
    lines = []
    for item in err.errors():
        loc = [str(p) for p in item.get("loc", ()) if not str(p).isdigit()]
        msg = item.get("msg", "invalid")
        key = next((p for p in loc if p in cfg), None)
        if key is not None:
            lines.append(
                f"{recipe_key_for(key, recipe)}: {msg} (Axolotl key `{key}`: {cfg[key]!r})"
            )
        else:
            lines.append(_line_for_message(msg, cfg, recipe))
    return lines or [str(err)]


def _line_for_message(msg: str, cfg: dict[str, Any], recipe: Any) -> str:
    """A model-level Axolotl error names keys (or values) only in its text: the first one wins."""
    msg = msg.replace("Value error, ", "").strip()
    best: tuple[int, str] | None = None
    for key, value in cfg.items():
        hits = [m.start() for m in [re.search(rf"\b{re.escape(key)}\b", msg, re.IGNORECASE)] if m]
        if isinstance(value, str) and len(value) > 2:
            hits += [m.start() for m in [re.search(rf"\b{re.escape(value)}\b", msg)] if m]
        for pos in hits:
            if best is None or pos < best[0]:
                best = (pos, key)
    return f"{recipe_key_for(best[1], recipe)}: {msg}" if best else f"train: {msg}"


def known_optimizers() -> set[str]:
    """Optimizer names Axolotl hands on: its own plus transformers' (it accepts any string)."""
    from axolotl.utils.schemas.enums import CustomSupportedOptimizers
    from transformers.training_args import OptimizerNames

    return {o.value for o in CustomSupportedOptimizers} | {o.value for o in OptimizerNames}


def check_optimizer(cfg: dict[str, Any], recipe: Any) -> None:
    import difflib

    try:
        known = known_optimizers()
    except ImportError:
        return
    name = cfg.get("optimizer")
    if name and name not in known:
        close = difflib.get_close_matches(str(name), sorted(known), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise InputError(f"{recipe_key_for('optimizer', recipe)}: unknown optimizer {name!r}{hint}")


def check_config(cfg: dict[str, Any], recipe: Any) -> None:
    """Fail on a bad config before any training starts, naming the recipe key."""
    check_sequence_len(cfg, recipe)
    check_optimizer(cfg, recipe)
    validate_with_axolotl(cfg, recipe)


def check_sequence_len(cfg: dict[str, Any], recipe: Any) -> None:
    """sequence_len must fit the base model's max_position_embeddings (when its config is readable)."""
    limit = model_max_positions(str(cfg["base_model"]))
    if limit is not None and int(cfg["sequence_len"]) > limit:
        raise InputError(
            f"{recipe_key_for('sequence_len', recipe)}: {cfg['sequence_len']} is over the base "
            f"model's max_position_embeddings ({limit})"
        )


def model_max_positions(base_model: str) -> int | None:
    cfg_file = Path(base_model) / "config.json"
    if cfg_file.is_file():
        data = json.loads(cfg_file.read_text(encoding="utf-8"))
    else:
        try:  # a Hub id already in the local cache; never a download here
            from huggingface_hub import try_to_load_from_cache

            hit = try_to_load_from_cache(base_model, "config.json")
        except Exception:  # noqa: BLE001 - not a repo id, or no hub library: nothing to check
            return None
        if not isinstance(hit, str):
            return None
        data = json.loads(Path(hit).read_text(encoding="utf-8"))
    value = data.get("max_position_embeddings")
    return int(value) if value else None


# ------------------------------------------------------------------------------ the stage


def resolve_base_model(ctx: StageContext, *, build: bool = True) -> str:
    """model.base as Axolotl's base_model: the tiny stand-in built on the spot, a path, or a Hub id."""
    model = ctx.recipe.data.get("model") or {}
    base = model.get("base", "openai/gpt-oss-20b")
    if base == TINY_BASE:
        path = ctx.cache_dir / TINY_BASE
        if build:
            from wikikit.tinymodel import make_tiny_model

            make_tiny_model(path, **(model.get("tiny") or {}))
        return str(path)
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


def print_config(recipe: Any, run_dir: Path) -> str:
    """The Axolotl YAML `wikikit train RECIPE --print-config` shows (builds nothing)."""
    run_dir = Path(run_dir)
    cache_dir = run_dir / "cache" / "train"
    base = (_data(recipe).get("model") or {}).get("base", "openai/gpt-oss-20b")
    base_path = str(cache_dir / TINY_BASE) if base == TINY_BASE else base
    cfg = axolotl_config(
        recipe, run_dir / "data", run_dir / "train", base_path, cache_dir=cache_dir
    )
    return config_yaml(cfg)


def find_axolotl(recipe: Any) -> Path:
    train = _data(recipe).get("train") or {}
    given = train.get("axolotl_bin")
    if given:
        if os.sep in given:
            p = (
                recipe.resolve_path(given, ("train", "axolotl_bin"))
                if hasattr(recipe, "resolve_path")
                else Path(given)
            )
        else:
            found = shutil.which(given)
            p = Path(found) if found else Path(given)
        if not (Path(p).is_file() and os.access(p, os.X_OK)):
            raise InputError(f"train.axolotl_bin: {given}: not an executable file")
        return Path(p)
    beside = Path(sys.executable).parent / "axolotl"
    if beside.is_file():
        return beside
    found = shutil.which("axolotl")
    if not found:
        raise WikikitError(
            "axolotl not found: `pip install wikikit[train]`, or set train.axolotl_bin"
        )
    return Path(found)


def subprocess_env(axolotl_bin: Path, base_is_local: bool) -> dict[str, str]:
    env = dict(os.environ)
    # Axolotl launches `accelerate` from PATH: its own environment's bin must come first.
    env["PATH"] = str(axolotl_bin.parent) + os.pathsep + env.get("PATH", "")
    env.update(
        {
            "HF_DATASETS_OFFLINE": "1",  # the data is local JSONL
            "WANDB_MODE": env.get("WANDB_MODE", "disabled"),
            "AXOLOTL_DO_NOT_TRACK": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "PYTHONUNBUFFERED": "1",  # stream progress lines as they happen
        }
    )
    if base_is_local:
        env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    return env


STEP_RE = re.compile(r"\{'loss': [^}]*\}|\{\"loss\": [^}]*\}")
SUMMARY_RE = re.compile(r"\{'train_runtime': [^}]*\}")


def _parse_dict(text: str) -> dict[str, Any] | None:
    import ast

    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, dict) else None


class LogWatcher:
    """Collects the Trainer's log dicts from Axolotl's output and echoes progress."""

    def __init__(self, max_steps: int | None = None, start_step: int = 0):
        self.losses: list[dict[str, Any]] = []
        self.start_step = start_step  # a resumed run's first logged step is start_step + 1
        self.summary: dict[str, Any] = {}
        self.max_steps = max_steps
        self.tail: deque[str] = deque(maxlen=60)

    def feed(self, line: str) -> None:
        self.tail.append(line.rstrip("\n"))
        for m in STEP_RE.finditer(line):
            rec = _parse_dict(m.group(0))
            if rec is None or "loss" not in rec:
                continue
            step = self.start_step + len(self.losses) + 1
            entry = {"step": step, **{k: _num(v) for k, v in rec.items()}}
            self.losses.append(entry)
            # Axolotl logs `tokens/train_per_sec_per_gpu` (include_tkps); older: tokens_per_second_per_gpu
            tkps = next(
                (
                    v
                    for k, v in entry.items()
                    if "per_sec" in k and "tokens" in k and isinstance(v, float)
                ),
                None,
            )
            entry["tokens_per_second"] = tkps
            msg = f"train: step {step}" + (f"/{self.max_steps}" if self.max_steps else "")
            msg += f" loss {entry['loss']:.4f}"
            if tkps:
                msg += f" {tkps:.0f} tokens/s"
            console.info(msg, step=step, loss=entry["loss"], tokens_per_second=tkps)
        for m in SUMMARY_RE.finditer(line):
            rec = _parse_dict(m.group(0))
            if rec:
                self.summary = {k: _num(v) for k, v in rec.items()}


def _num(v: Any) -> Any:
    try:
        return float(v)
    except (TypeError, ValueError):
        return v


def run_axolotl(
    args: list[str], log_path: Path, env: dict[str, str], watcher: LogWatcher | None = None
) -> None:
    """Run one Axolotl command (an argument list, never a shell string), log everything."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = log_path.parent / f".{log_path.name}.tmp-run"
    tail: deque[str] = deque(maxlen=40)
    console.info(f"train: {' '.join(Path(a).name if i == 0 else a for i, a in enumerate(args))}")
    with open(tmp, "w", encoding="utf-8") as log:
        try:
            proc = subprocess.Popen(
                args,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                text=True,
                errors="replace",
                bufsize=1,
            )
            assert proc.stdout is not None
            for line in proc.stdout:
                log.write(line)
                tail.append(line.rstrip("\n"))
                if watcher is not None:
                    watcher.feed(line)
            rc = proc.wait()
        finally:
            log.flush()
            os.replace(tmp, log_path)
    if rc != 0:
        shown = "\n".join(list(tail)[-25:])
        raise WikikitError(
            f"{Path(args[0]).name} {args[1]} failed (exit {rc}); full log: {log_path}\n{shown}"
        )


def _checkpoints(output_dir: Path) -> list[Path]:
    """The Trainer's checkpoint-N directories, oldest first (the rule Axolotl resumes by)."""
    cps = [p for p in output_dir.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
    return sorted(cps, key=lambda p: int(p.name.split("-")[-1]))


def _checkpoint_state(checkpoint: Path) -> dict[str, Any] | None:
    """A checkpoint's trainer_state.json; None when the save was cut short (it is written last)."""
    try:
        state = json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def _latest_checkpoint(output_dir: Path) -> Path | None:
    cps = [cp for cp in _checkpoints(output_dir) if _checkpoint_state(cp) is not None]
    return cps[-1] if cps else None


def _file_sha256(path: Path) -> str | None:
    if not path.is_file():
        return None
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def training_identity(cfg: dict[str, Any]) -> str:
    """What checkpoints are only valid for: the config and the content behind its paths.

    A re-run data stage rewrites train.jsonl at the same path, so the files' bytes count too
    (and a local base model's config)."""
    files = [d["path"] for d in cfg.get("datasets", []) + cfg.get("test_datasets", [])]
    if cfg.get("base_model"):
        files.append(str(Path(cfg["base_model"]) / "config.json"))
    contents = {f: _file_sha256(Path(f)) for f in files}
    blob = json.dumps([cfg, contents], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _prepare_checkpoint_dir(output_dir: Path, cfg: dict[str, Any]) -> dict[str, Any] | None:
    """Keep checkpoints only when they belong to this exact training and are complete.

    Returns the trainer state of the checkpoint Axolotl will resume from, or None (fresh start).
    """
    stamp = output_dir / "wikikit-config.sha256"
    digest = training_identity(cfg)
    if output_dir.exists() and (not stamp.is_file() or stamp.read_text().strip() != digest):
        shutil.rmtree(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    # The Trainer writes a checkpoint in place (no rename): a kill mid-save leaves one without
    # trainer_state.json, and Axolotl would resume from it (the highest number) and fail.
    for cp in _checkpoints(output_dir):
        if _checkpoint_state(cp) is None:
            console.warn(f"train: removing {cp.name}, cut short before it was complete")
            shutil.rmtree(cp)
    write_text(stamp, digest + "\n")
    latest = _latest_checkpoint(output_dir)
    return _checkpoint_state(latest) if latest else None


def _trainer_state(output_dir: Path) -> dict[str, Any]:
    cp = _latest_checkpoint(output_dir)
    return (_checkpoint_state(cp) or {}) if cp else {}


def _copy_tree(src: Path, dst: Path) -> None:
    """Copy a directory so that `dst` appears complete (copied beside it, then renamed)."""
    tmp = dst.parent / f".{dst.name}.tmp-copy"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp)
    if dst.exists():
        shutil.rmtree(dst)
    os.replace(tmp, dst)


def plan(ctx: StageContext) -> list[str]:
    train = ctx.section
    base = (ctx.recipe.data.get("model") or {}).get("base", "openai/gpt-oss-20b")
    return [
        f"train: axolotl LoRA on {base} (profile {profile_of(ctx.recipe)}, "
        f"launcher {train.get('launcher', 'python' if profile_of(ctx.recipe) == 'cpu' else 'accelerate')})",
        f"train: sequence_len {train.get('sequence_len', 4096)}, "
        + (
            f"max_steps {train['max_steps']}"
            if train.get("max_steps")
            else f"{train.get('num_epochs', 1)} epoch(s)"
        ),
    ]


def run_stage(ctx: StageContext) -> StageResult:
    recipe = ctx.recipe
    train = ctx.section
    data_dir = ctx.inputs.get("data")
    if data_dir is None or not (Path(data_dir) / "train.jsonl").is_file():
        raise WikikitError(f"train: no train.jsonl from the data stage (looked in {data_dir})")
    data_dir = Path(data_dir)

    base_model = resolve_base_model(ctx)
    cfg = axolotl_config(recipe, data_dir, ctx.out_dir, base_model, cache_dir=ctx.cache_dir)
    check_config(cfg, recipe)

    axolotl_bin = find_axolotl(recipe)
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    cfg_path = ctx.out_dir / "axolotl.yaml"
    write_text(cfg_path, config_yaml(cfg))
    output_dir = Path(cfg["output_dir"])
    resumed_state = _prepare_checkpoint_dir(output_dir, cfg)
    resumed_from = int(resumed_state.get("global_step") or 0) if resumed_state else None
    if resumed_state is not None:
        console.info(f"train: resuming from {_latest_checkpoint(output_dir).name}")
    env = subprocess_env(axolotl_bin, Path(base_model).is_dir())
    logs = ctx.out_dir / "logs"
    launcher = train.get("launcher") or ("python" if profile_of(recipe) == "cpu" else "accelerate")

    start = time.monotonic()
    run_axolotl([str(axolotl_bin), "preprocess", str(cfg_path)], logs / "preprocess.log", env)
    watcher = LogWatcher(cfg.get("max_steps"), start_step=resumed_from or 0)
    t0 = time.monotonic()
    run_axolotl(
        [str(axolotl_bin), "train", str(cfg_path), "--launcher", launcher],
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
        _trainer_state(output_dir),
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
