"""The recipe -> Axolotl's config: profiles, defaults, raw overrides, and Axolotl's own validator
with its errors mapped back to recipe keys.

Profiles: `gpu` follows Axolotl's gpt-oss LoRA example (examples/gpt-oss/
gpt-oss-20b-sft-lora-singlegpu.yaml) key for key; `multi_gpu` and `deepspeed` add its FSDP2 and
ZeRO-3 examples' settings (below); `cpu` is what runs a tiny gpt-oss on a laptop
(eager attention, no kernels, no MXFP4, no Cut Cross Entropy). `train.axolotl` passes raw keys
through and wins over everything generated here. Pure: nothing here runs Axolotl.

What is trained is the same for every profile and never depends on the template a downloaded
tokenizer carries: wikikit's harmony template is handed to Axolotl (`chat_template: jinja` with
`chat_template_jinja` a path, which Axolotl reads, axolotl/utils/chat_templates/base.py:45-53;
Axolotl also puts it on the tokenizer it saves, axolotl/loaders/tokenizer.py:316-326), rendered
for the recipe's runtime and date (`chat_template_kwargs`, passed to every rendering,
axolotl/prompt_strategies/chat_template.py:121-125); assistant turns are the trained role
(`roles_to_train`, :540), located by wikikit's strategy (wikikit/train/harmony_turns.py; Axolotl
loads a strategy by module path, prompt_strategies/__init__.py:12-48), and every token that ends
a turn is an EOT token (`eot_tokens` is read from the top level, :1355), trained with its
turn (`train_on_eot: turn`, chat_template.py:634-661; `<|return|>` is also the tokenizer's EOS,
so `train_on_eos` must match, :421-430).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from wikikit import console
from wikikit.errors import InputError
from wikikit.recipe.dates import fixed_date
from wikikit.semanticwiki.runtimes import DEFAULT_CURRENT_DATE, DEFAULT_RUNTIME, model_family
from wikikit.train.tinymodel import TEMPLATE_PATH

CHATML_TEMPLATE_PATH = TEMPLATE_PATH.with_name("chatml.jinja")
# The chatml family's one end-of-turn token (wikikit/data/chatml.py), trained with the answer.
CHATML_END_TOKENS = ["<|im_end|>"]
# Axolotl's chat_template strategy, earlier answers untrained (wikikit/train/chatml_turns.py).
CHATML_FIELDS = {
    "type": "wikikit.train.chatml_turns",
    "field_messages": "messages",
    "roles_to_train": ["assistant"],
    "train_on_eot": "turn",
    "train_on_eos": "turn",
}

TINY_BASE = "tiny-gpt-oss"

# Every token that ends an assistant turn in harmony: a message (analysis, preamble) ends with
# <|end|>, a tool call with <|call|>, the final answer of a training example with <|return|>.
END_TOKENS = ["<|end|>", "<|call|>", "<|return|>"]
STRATEGY = "wikikit.train.harmony_turns"

CHAT_FIELDS = {
    "type": STRATEGY,
    "field_messages": "messages",
    "field_thinking": "thinking",
    "template_thinking_key": "thinking",
    "roles_to_train": ["assistant"],
    "train_on_eot": "turn",
    "train_on_eos": "turn",
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


# Past one GPU, as Axolotl's own gpt-oss examples do (examples/gpt-oss/, read at
# axolotl-ai-cloud/axolotl 067b021): FSDP2 over the decoder layers with a sharded state dict
# (gpt-oss-20b-fft-fsdp2.yaml), or DeepSpeed ZeRO-3 (gpt-oss-20b-fft-deepspeed-zero3.yaml with
# deepspeed_configs/zero3_bf16.json, inlined: Axolotl takes the config as a dict too,
# axolotl/utils/config/__init__.py:244-247, utils/trainer.py:552-559). Both turn the kernels off.
FSDP2_PROFILE: dict[str, Any] = {
    **GPU_PROFILE,
    "use_kernels": False,
    "fsdp_version": 2,
    "fsdp_config": {
        "offload_params": False,
        "state_dict_type": "SHARDED_STATE_DICT",
        "auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
        "transformer_layer_cls_to_wrap": "GptOssDecoderLayer",
        "reshard_after_forward": True,
    },
}
ZERO3_BF16: dict[str, Any] = {
    "zero_optimization": {
        "stage": 3,
        "overlap_comm": True,
        "contiguous_gradients": True,
        "sub_group_size": 0,
        "reduce_bucket_size": "auto",
        "stage3_prefetch_bucket_size": "auto",
        "stage3_param_persistence_threshold": "auto",
        "max_live_parameters": 0,
        "max_reuse_distance": 0,
        "gather_16bit_weights_on_model_save": True,
    },
    "bf16": {"enabled": True},
    "gradient_accumulation_steps": "auto",
    "gradient_clipping": "auto",
    "train_batch_size": "auto",
    "train_micro_batch_size_per_gpu": "auto",
    "wall_clock_breakdown": False,
}
DEEPSPEED_PROFILE: dict[str, Any] = {**GPU_PROFILE, "use_kernels": False, "deepspeed": ZERO3_BF16}

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
    # Tiny data: one process tokenizes it faster than starting workers does.
    "dataset_num_proc": 1,
}

PROFILES = {
    "gpu": GPU_PROFILE,
    "multi_gpu": FSDP2_PROFILE,
    "deepspeed": DEEPSPEED_PROFILE,
    "cpu": CPU_PROFILE,
}
DISTRIBUTED = ("multi_gpu", "deepspeed")
# LoRA on the MoE experts (train.lora.target_experts): gpt-oss keeps each layer's experts as two
# fused parameters, which PEFT reaches through target_parameters (suffix-matched).
EXPERT_PARAMETERS = ["mlp.experts.gate_up_proj", "mlp.experts.down_proj"]


# Generated Axolotl key -> the recipe key it comes from (to name the recipe key in errors).
RECIPE_KEYS = {
    "base_model": "model.base",
    "adapter": "train.adapter",
    "lora_r": "train.lora.r",
    "lora_alpha": "train.lora.alpha",
    "lora_dropout": "train.lora.dropout",
    "lora_target_modules": "train.lora.target_modules",
    "lora_target_linear": "train.lora.target_linear",
    "lora_target_parameters": "train.lora.target_experts",
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


for _profile in PROFILES.values():
    for _k in _profile:
        RECIPE_KEYS.setdefault(_k, "train.profile")


def recipe_data(recipe: Any) -> dict[str, Any]:
    """A Recipe or the plain dict it holds."""
    return recipe.data if hasattr(recipe, "data") else recipe


def profile_of(recipe: Any) -> str:
    d = recipe_data(recipe)
    train = d.get("train") or {}
    if train.get("profile"):
        return train["profile"]
    return "cpu" if (d.get("model") or {}).get("base") == TINY_BASE else "gpu"


def launcher_of(recipe: Any) -> str:
    train = recipe_data(recipe).get("train") or {}
    return train.get("launcher") or ("python" if profile_of(recipe) == "cpu" else "accelerate")


def _machines(args: list[str]) -> int:
    for i, a in enumerate(args):
        if a == "--num_machines" and i + 1 < len(args) and args[i + 1].isdigit():
            return int(args[i + 1])
        if a.startswith("--num_machines=") and a.split("=", 1)[1].isdigit():
            return int(a.split("=", 1)[1])
    return 1


def launcher_args(recipe: Any) -> list[str]:
    """What follows `--` on `axolotl train` (axolotl/cli/main.py:119-129 hands it to the
    launcher): `train.num_processes` in the launcher's own terms (accelerate counts processes on
    all machines, torchrun per machine), then `train.launcher_args` verbatim (multi-node settings
    such as --num_machines/--machine_rank/--main_process_ip, or --nnodes/--rdzv_endpoint)."""
    train = recipe_data(recipe).get("train") or {}
    extra = [str(a) for a in train.get("launcher_args") or []]
    n = train.get("num_processes")
    launcher = launcher_of(recipe)
    if n and launcher == "accelerate":
        return ["--num_processes", str(int(n) * _machines(extra)), *extra]
    if n and launcher == "torchrun":
        return ["--nproc_per_node", str(int(n)), *extra]
    return extra


def check_launch(recipe: Any) -> None:
    """The python launcher runs one process: the distributed profiles need a real launcher."""
    train = recipe_data(recipe).get("train") or {}
    if launcher_of(recipe) != "python":
        return
    profile = profile_of(recipe)
    if profile in DISTRIBUTED:
        raise InputError(
            f"train.launcher: python runs one process; the {profile} profile needs accelerate or torchrun"
        )
    if (train.get("num_processes") or 1) > 1 or train.get("launcher_args"):
        raise InputError(
            "train.launcher: python runs one process; num_processes and launcher_args need "
            "accelerate or torchrun"
        )


def chat_template_kwargs(recipe: Any) -> dict[str, Any]:
    """What every rendering of the template gets: effort, the runtime it renders for, and the
    date when every example has the same one (a range's or the recording's day is each row's
    own `current_date`, which the strategy renders it with: wikikit/train/harmony_turns.py)."""
    model = recipe_data(recipe).get("model") or {}
    spec = model.get("current_date", DEFAULT_CURRENT_DATE)
    kwargs = {
        "reasoning_effort": model.get("reasoning_effort", "medium"),
        "runtime": model.get("runtime", DEFAULT_RUNTIME),
    }
    if (day := fixed_date(spec)) is not None:
        kwargs["current_date"] = day
    return kwargs


def axolotl_config(
    recipe: Any,
    data_dir: Path,
    out_dir: Path,
    base_model_path: str,
    *,
    cache_dir: Path | None = None,
    prepared_key: str | None = None,
) -> dict[str, Any]:
    """The Axolotl config (a dict, YAML-ready) for this recipe. Pure: touches no file.

    `prepared_key` names Axolotl's prepared-dataset folder after the content it was made from
    (Axolotl's own cache key covers the config, not the bytes behind its paths)."""
    d = recipe_data(recipe)
    train = d.get("train") or {}
    lora = train.get("lora") or {}
    cache_dir = Path(cache_dir) if cache_dir is not None else Path(out_dir) / "cache"
    data_dir = Path(data_dir)

    try:
        family, _ = model_family(d.get("model") or {})
    except ValueError as exc:
        raise InputError(str(exc)) from None
    fields = CHATML_FIELDS if family == "chatml" else CHAT_FIELDS

    cfg: dict[str, Any] = {"base_model": str(base_model_path)}
    cfg.update(json.loads(json.dumps(PROFILES[profile_of(recipe)])))  # a copy: callers edit it
    cfg["datasets"] = [{"path": str(data_dir / "train.jsonl"), "ds_type": "json", **fields}]
    val = data_dir / "validation.jsonl"
    if not val.exists() or val.stat().st_size > 0:
        cfg["test_datasets"] = [{"path": str(val), "ds_type": "json", "split": "train", **fields}]
    prepared = cache_dir / "prepared"
    cfg.update(
        {
            "dataset_prepared_path": str(prepared / prepared_key if prepared_key else prepared),
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
    if lora.get("target_experts"):
        # PEFT's ParamWrapper takes no dropout (axolotl/utils/schemas/peft.py:240-250).
        cfg["lora_target_parameters"] = list(EXPERT_PARAMETERS)
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
            "chat_template": "jinja",
            "chat_template_jinja": str(
                CHATML_TEMPLATE_PATH if family == "chatml" else TEMPLATE_PATH
            ),
            "chat_template_kwargs": chat_template_kwargs(recipe),
            "eot_tokens": list(CHATML_END_TOKENS if family == "chatml" else END_TOKENS),
            "seed": int(d.get("seed", 0)),
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
    plain = json.loads(json.dumps(cfg))  # no shared objects, so no YAML anchors
    return header + yaml.safe_dump(plain, sort_keys=False, allow_unicode=True, width=100)


def recipe_key_for(axolotl_key: str, recipe: Any) -> str:
    raw = ((recipe_data(recipe).get("train") or {}).get("axolotl")) or {}
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
    check_launch(recipe)
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


def print_config(recipe: Any, run_dir: Path) -> str:
    """The Axolotl YAML `wikikit train RECIPE --print-config` shows, validated by Axolotl's own
    validator (errors name the recipe key); builds nothing."""
    run_dir = Path(run_dir)
    cache_dir = run_dir / "cache" / "train"
    base = (recipe_data(recipe).get("model") or {}).get("base", "openai/gpt-oss-20b")
    base_path = str(cache_dir / TINY_BASE) if base == TINY_BASE else base
    cfg = axolotl_config(
        recipe, run_dir / "data", run_dir / "train", base_path, cache_dir=cache_dir
    )
    check_config(cfg, recipe)
    return config_yaml(cfg)
