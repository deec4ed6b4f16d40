"""bench/gpu_smoke.sh, the parts a machine without a GPU can check: its arguments, and the recipe
and Axolotl config it would run (validated by Axolotl through `wikikit train --print-config`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from wikikit.bounded import read_jsonl

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "bench" / "gpu_smoke.sh"


def _smoke(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env, cwd=tmp_path,
        timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--steps", "0"], "--steps must be a positive integer (got '0')"),
        (["--seq-len", "64"], "--seq-len must be an integer of at least 128"),
        (["--model"], "--model needs a value"),
        (["--gpus", "2"], "unknown argument: --gpus"),
    ],
)
def test_bad_arguments_exit_2_with_the_reason(tmp_path, args, message):
    res = _smoke(args, tmp_path)
    assert res.returncode == 2
    assert message in res.stderr and "usage: bench/gpu_smoke.sh" in res.stderr


@pytest.mark.slow
def test_print_config_writes_the_smoke_recipe_and_a_valid_gpu_config(tmp_path):
    out = tmp_path / "smoke"
    res = _smoke(
        ["--print-config", "--offline", "--steps", "3", "--seq-len", "2048", "--out", str(out)],
        tmp_path,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    cfg = yaml.safe_load(res.stdout)
    # No gpt-oss-20b in this machine's Hub cache: the larger random stand-in, in the working folder.
    assert cfg["base_model"] == str(out / "random-gpt-oss")
    assert not (out / "random-gpt-oss").exists()  # --print-config builds nothing
    assert cfg["max_steps"] == 3 and cfg["sequence_len"] == 2048 and cfg["sample_packing"]
    assert cfg["bf16"] is True and cfg["activation_offloading"] is True  # the gpu profile
    assert cfg["use_kernels"] is False and cfg["attn_implementation"] == "eager"  # --offline
    assert cfg["model_quantization_config"] is None  # a bf16 checkpoint: nothing to dequantise
    assert cfg["datasets"][0]["type"] == "wikikit.train.harmony_turns"
    recipe = json.loads((out / "recipe.json").read_text())
    assert recipe["train"]["check_labels"] == 2 and recipe["package"]["gguf"]["outtype"] == "q8_0"
    rows = read_jsonl(out / "rows.jsonl")
    assert len(rows) == 64 and {r["category"] for r in rows} == {"page", "tool_use"}
    assert any(m.get("tool_calls") for r in rows for m in r["messages"])
