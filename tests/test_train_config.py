"""The train stage's Axolotl config: Axolotl's gpt-oss example, the CPU profile, bad configs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from wikikit.errors import InputError
from wikikit.recipe.load import load_recipe
from wikikit.train import axolotl_config as config
from wikikit.train import axolotl_run, stage

REPO = Path(__file__).resolve().parent.parent
FLAGSHIP = REPO / "recipes" / "semanticwiki-gpt-oss-20b.yaml"

# Every key Axolotl's examples/gpt-oss/gpt-oss-20b-sft-lora-singlegpu.yaml sets to a value
# (keys it leaves empty, such as wandb_*, set nothing).
AXOLOTL_GPT_OSS_LORA_EXAMPLE = {
    "base_model": "openai/gpt-oss-20b",
    "use_kernels": True,
    "model_quantization_config": "Mxfp4Config",
    "model_quantization_config_kwargs": {"dequantize": True},
    "plugins": ["axolotl.integrations.cut_cross_entropy.CutCrossEntropyPlugin"],
    "experimental_skip_move_to_device": True,
    "datasets": [
        {"type": "chat_template", "field_thinking": "thinking", "template_thinking_key": "thinking"}
    ],
    "dataset_prepared_path": "last_run_prepared",
    "val_set_size": 0,
    "output_dir": "./outputs/gpt-oss-out/",
    "sequence_len": 4096,
    "sample_packing": True,
    "adapter": "lora",
    "lora_r": 8,
    "lora_alpha": 16,
    "lora_dropout": 0.0,
    "lora_target_linear": True,
    "gradient_accumulation_steps": 8,
    "micro_batch_size": 1,
    "num_epochs": 1,
    "optimizer": "adamw_torch_8bit",
    "lr_scheduler": "constant_with_warmup",
    "learning_rate": 2e-4,
    "bf16": True,
    "tf32": True,
    "flash_attention": True,
    "attn_implementation": "kernels-community/vllm-flash-attn3",
    "gradient_checkpointing": True,
    "activation_offloading": True,
    "logging_steps": 1,
    "saves_per_epoch": 1,
    "warmup_ratio": 0.1,
    "eot_tokens": ["<|end|>"],
}
# Where wikikit differs on purpose: its own data and run directory, `flash_attention`, which
# Axolotl 0.19's validator rejects next to attn_implementation (checked below), `sequence_len`:
# the flagship trains on SemanticWiki's page prompts plus answers of up to 4,096 tokens (its own
# recipe sets 8192; the base recipe keeps the example's 4096, checked below), and what is trained:
# every end token of a turn (the example's <|end|> alone leaves tool calls' <|call|> to chance)
# with wikikit's template and turn finder (tests/test_train_e2e.py shows both on Axolotl's
# prepared data).
DELIBERATE = {
    "datasets",
    "dataset_prepared_path",
    "output_dir",
    "flash_attention",
    "sequence_len",
    "eot_tokens",
}


def _flagship_cfg(tmp_path: Path) -> tuple[object, dict]:
    recipe = load_recipe(FLAGSHIP)
    cfg = config.axolotl_config(
        recipe,
        tmp_path / "data",
        tmp_path / "train",
        "openai/gpt-oss-20b",
        cache_dir=tmp_path / "cache",
    )
    return recipe, cfg


def test_flagship_matches_axolotl_gpt_oss_example(tmp_path):
    recipe, cfg = _flagship_cfg(tmp_path)
    assert cfg["sequence_len"] == recipe.data["train"]["sequence_len"] == 8192
    base = yaml.safe_load((FLAGSHIP.parent / "base" / "gpt-oss.yaml").read_text())
    assert base["train"]["sequence_len"] == AXOLOTL_GPT_OSS_LORA_EXAMPLE["sequence_len"]
    for key, want in AXOLOTL_GPT_OSS_LORA_EXAMPLE.items():
        if key not in DELIBERATE:
            assert cfg.get(key) == want, key
    assert "flash_attention" not in cfg
    assert cfg["eot_tokens"] == ["<|end|>", "<|call|>", "<|return|>"]
    (ds,) = cfg["datasets"]
    for k, v in AXOLOTL_GPT_OSS_LORA_EXAMPLE["datasets"][0].items():
        assert ds[k] == (config.STRATEGY if k == "type" else v)
    assert ds["train_on_eot"] == ds["train_on_eos"] == "turn"
    assert ds["path"] == str(tmp_path / "data" / "train.jsonl")
    assert ds["field_messages"] == "messages" and ds["roles_to_train"] == ["assistant"]
    assert cfg["test_datasets"][0]["path"] == str(tmp_path / "data" / "validation.jsonl")
    assert cfg["output_dir"].startswith(str(tmp_path / "cache"))  # checkpoints survive re-runs


def test_cpu_profile_for_tiny_model(tmp_path):
    recipe = {
        "model": {"base": "tiny-gpt-oss"},
        "train": {"optimizer": "adamw_torch", "max_steps": 3},
    }
    cfg = config.axolotl_config(recipe, tmp_path, tmp_path / "out", "/m")
    assert cfg["attn_implementation"] == "eager" and cfg["bf16"] == "auto"
    assert cfg["lora_mlp_kernel"] is cfg["lora_qkv_kernel"] is cfg["lora_o_kernel"] is False
    for absent in (
        "use_kernels",
        "model_quantization_config",
        "plugins",
        "activation_offloading",
        "flash_attention",
    ):
        assert absent not in cfg
    assert cfg["max_steps"] == 3 and cfg["optimizer"] == "adamw_torch"


def test_raw_axolotl_keys_win(tmp_path):
    recipe = {
        "model": {"base": "x/y"},
        "train": {"lora": {"r": 4}, "axolotl": {"lora_r": 32, "weight_decay": 0.1}},
    }
    cfg = config.axolotl_config(recipe, tmp_path, tmp_path, "x/y")
    assert cfg["lora_r"] == 32 and cfg["weight_decay"] == 0.1


@pytest.mark.slow
def test_print_config_trains_with_the_projects_template_never_the_tokenizers(tmp_path):
    """Whatever template openai/gpt-oss-20b's tokenizer carries, Axolotl gets wikikit's, rendered
    for the recipe's runtime and date; the YAML is what Axolotl reads and validates."""
    from wikikit.semanticwiki.runtimes import DEFAULT_CURRENT_DATE
    from wikikit.train.tinymodel import TEMPLATE_PATH

    cfg = yaml.safe_load(config.print_config(load_recipe(FLAGSHIP), tmp_path / "run"))
    assert cfg["chat_template"] == "jinja"
    assert Path(cfg["chat_template_jinja"]).read_text() == TEMPLATE_PATH.read_text()
    assert cfg["chat_template_kwargs"] == {
        "reasoning_effort": "medium",
        "runtime": "node-llama-cpp",
        "current_date": DEFAULT_CURRENT_DATE,
    }
    assert "tokenizer_default" not in json.dumps(cfg)
    assert cfg["datasets"][0]["type"] == "wikikit.train.harmony_turns"
    ollama = load_recipe(FLAGSHIP, ("model.runtime=ollama", "model.current_date='2027-01-31'"))
    kw = yaml.safe_load(config.print_config(ollama, tmp_path / "run"))["chat_template_kwargs"]
    assert kw["runtime"] == "ollama" and kw["current_date"] == "2027-01-31"


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["gpu", "multi_gpu", "deepspeed"])
def test_flagship_profiles_pass_axolotls_validator(tmp_path, profile):
    """--print-config validates with Axolotl's own validator; each profile is Axolotl's gpt-oss
    example for it (examples/gpt-oss/: sft-lora-singlegpu, fft-fsdp2, fft-deepspeed-zero3)."""
    recipe = load_recipe(FLAGSHIP, (f"train.profile={profile}", "train.num_processes=8"))
    cfg = yaml.safe_load(config.print_config(recipe, tmp_path / "run"))
    assert cfg["base_model"] == "openai/gpt-oss-20b" and cfg["adapter"] == "lora"
    if profile == "multi_gpu":
        assert cfg["fsdp_version"] == 2 and cfg["use_kernels"] is False
        assert cfg["fsdp_config"] == {
            "offload_params": False,
            "state_dict_type": "SHARDED_STATE_DICT",
            "auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
            "transformer_layer_cls_to_wrap": "GptOssDecoderLayer",
            "reshard_after_forward": True,
        }
        assert "deepspeed" not in cfg
    elif profile == "deepspeed":
        assert cfg["deepspeed"]["zero_optimization"]["stage"] == 3
        assert cfg["deepspeed"]["bf16"] == {"enabled": True} and cfg["use_kernels"] is False
        assert "fsdp_config" not in cfg
    else:
        assert "fsdp_config" not in cfg and "deepspeed" not in cfg
    assert config.launcher_args(recipe) == ["--num_processes", "8"]


def test_launcher_and_processes_come_from_the_recipe():
    multi = ["--num_machines", "2", "--machine_rank", "1", "--main_process_ip", "10.0.0.1"]
    acc = {"train": {"profile": "multi_gpu", "num_processes": 4, "launcher_args": multi}}
    assert config.launcher_of(acc) == "accelerate"
    assert config.launcher_args(acc) == ["--num_processes", "8", *multi]  # accelerate: in all
    torch = {"train": {"profile": "deepspeed", "launcher": "torchrun", "num_processes": 4}}
    torch["train"]["launcher_args"] = ["--nnodes", "2", "--rdzv_endpoint", "10.0.0.1:29500"]
    assert config.launcher_args(torch) == ["--nproc_per_node", "4", "--nnodes", "2"] + [
        "--rdzv_endpoint",
        "10.0.0.1:29500",
    ]
    assert config.launcher_args({"train": {"profile": "gpu"}}) == []
    with pytest.raises(InputError, match="^train.launcher: .*multi_gpu profile needs"):
        config.check_launch({"train": {"profile": "multi_gpu", "launcher": "python"}})
    with pytest.raises(InputError, match="^train.launcher: .*num_processes"):
        config.check_launch({"train": {"profile": "cpu", "num_processes": 2}})
    config.check_launch({"model": {"base": "tiny-gpt-oss"}, "train": {}})  # cpu, python: fine


def test_lora_on_the_experts_is_a_recipe_choice(tmp_path):
    recipe = {"model": {"base": "x/y"}, "train": {"lora": {"target_experts": True}}}
    cfg = config.axolotl_config(recipe, tmp_path, tmp_path, "x/y")
    assert cfg["lora_target_parameters"] == ["mlp.experts.gate_up_proj", "mlp.experts.down_proj"]
    assert cfg["lora_target_linear"] is True and cfg["lora_dropout"] == 0.0
    plain = config.axolotl_config({"model": {"base": "x/y"}}, tmp_path, tmp_path, "x/y")
    assert "lora_target_parameters" not in plain


@pytest.mark.slow
def test_lora_on_the_experts_needs_dropout_zero(tmp_path):
    recipe = load_recipe(FLAGSHIP, ("train.lora.target_experts=true", "train.lora.dropout=0.05"))
    cfg = config.axolotl_config(
        recipe, tmp_path, tmp_path, "openai/gpt-oss-20b", cache_dir=tmp_path
    )
    with pytest.raises(InputError) as err:
        config.check_config(cfg, recipe)
    assert any(line.startswith("train.lora.dropout:") for line in err.value.lines), err.value.lines


@pytest.mark.slow
def test_flagship_config_passes_axolotls_validator(tmp_path):
    recipe, cfg = _flagship_cfg(tmp_path)
    config.check_config(cfg, recipe)
    broken = dict(cfg, flash_attention=True)  # the upstream example's legacy flag
    with pytest.raises(InputError):
        config.validate_with_axolotl(broken, recipe)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"optimizer": "adamw_bogus"}, "train.optimizer:"),
        ({"adapter": "qlora"}, "train.adapter:"),
        ({"axolotl": {"adapter": "ia3"}}, "train.axolotl.adapter:"),
    ],
)
def test_bad_configs_fail_naming_the_recipe_key(tmp_path, change, key):
    recipe = load_recipe(FLAGSHIP)
    recipe.data["train"] = {**recipe.data["train"], **change}
    cfg = config.axolotl_config(
        recipe, tmp_path, tmp_path, "openai/gpt-oss-20b", cache_dir=tmp_path
    )
    with pytest.raises(InputError) as err:
        config.check_config(cfg, recipe)
    assert any(line.startswith(key) for line in err.value.lines), err.value.lines


def test_sequence_len_over_model_limit(tmp_path):
    from wikikit.train.tinymodel import tiny_config

    model_dir = tmp_path / "model"
    tiny_config().save_pretrained(model_dir)  # the real GptOssConfig: 131072 positions
    recipe = {"model": {"base": str(model_dir)}, "train": {"sequence_len": 262144}}
    cfg = config.axolotl_config(recipe, tmp_path, tmp_path, str(model_dir))
    with pytest.raises(InputError, match=r"^train.sequence_len: 262144 is over .*\(131072\)"):
        config.check_sequence_len(cfg, recipe)
    config.check_sequence_len(dict(cfg, sequence_len=4096), recipe)


def test_log_watcher_parses_trainer_lines():
    w = axolotl_run.LogWatcher(max_steps=2)
    w.feed(
        "{'loss': 12.25, 'grad_norm': 3.5, 'learning_rate': 0.001, 'epoch': 0.5, 'tokens/train_per_sec_per_gpu': '812.0'}\n"
    )
    w.feed("noise {'loss': '11.5', 'epoch': 1.0}\n")
    w.feed(
        "{'train_runtime': 9.5, 'train_samples_per_second': 1.2, 'train_loss': 11.9, 'epoch': 1.0}\n"
    )
    m = stage.build_metrics(w, {}, "/m", 10.0, 12.0)
    assert [p["loss"] for p in m["loss_curve"]] == [12.25, 11.5]
    assert m["final_loss"] == 11.5 and m["tokens_per_second"] == 812.0 and m["train_loss"] == 11.9
