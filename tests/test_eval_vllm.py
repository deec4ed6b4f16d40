"""vLLM backends, as far as a machine without a GPU can check them.

- lm-eval's `vllm` model: the model_args wikikit generates are checked against the parameters
  of lm-eval's own VLLM class (its source, parsed) — a typo or a bad dtype fails before a GPU
  is ever reserved. Running it needs vllm and a GPU: not run here.
- `vllm serve`: the whole served path runs against tests/fake_vllm.py standing in for the
  executable (it parses the flags wikikit passes and serves the OpenAI API on 127.0.0.1).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from wikikit.errors import InputError, WikikitError
from wikikit.eval import stage as evaluate
from wikikit.eval.vllm import (
    DEFAULTS,
    lm_eval_model_args,
    lm_eval_vllm_parameters,
    serve_command,
    vllm_server,
)

FAKE = Path(__file__).resolve().parent / "fake_vllm.py"


def test_model_args_are_what_lm_eval_s_vllm_class_takes() -> None:
    known = lm_eval_vllm_parameters()
    assert {"pretrained", "tensor_parallel_size", "gpu_memory_utilization", "max_model_len"} <= set(
        known
    )
    assert known["dtype"] == ["float16", "bfloat16", "float32", "auto"]
    args = lm_eval_model_args("/runs/x/train/merged", {"tensor_parallel_size": 2, "serve": False})
    assert args == {"pretrained": "/runs/x/train/merged", **DEFAULTS, "tensor_parallel_size": 2}
    assert set(args) <= set(known)
    with pytest.raises(
        InputError, match="eval.vllm: max_num_seqs not taken by lm-eval's vllm model"
    ):
        lm_eval_model_args("/m", {"max_num_seqs": 8})
    with pytest.raises(
        InputError, match="eval.vllm.dtype: one of float16, bfloat16, float32, auto"
    ):
        lm_eval_model_args("/m", {"dtype": "fp8"})


def test_the_vllm_backend_is_lm_eval_s_vllm_model_on_raw_harmony_text() -> None:
    target = evaluate.ModelTarget("m", "vllm", "/m", extra={"vllm": {"max_model_len": 8192}})
    spec = evaluate.lm_eval_model(target)
    assert spec["model"] == "vllm" and spec["style"] == "harmony"
    assert spec["apply_chat_template"] is False and spec["batch_size"] == "auto"
    assert spec["model_args"]["max_model_len"] == 8192
    assert evaluate.parse_model_spec("vllm:openai/gpt-oss-20b").backend == "vllm"


def test_serve_command_is_an_argument_list() -> None:
    argv = serve_command(
        "/models/m", 8123, {"command": ["docker", "run", "vllm"], "dtype": "bfloat16"}
    )
    assert argv[:5] == ["docker", "run", "vllm", "serve", "/models/m"]
    flags = dict(zip(argv[5::2], argv[6::2], strict=True))
    assert flags == {"--host": "127.0.0.1", "--port": "8123", "--served-model-name": "model",
                     "--dtype": "bfloat16", "--max-model-len": "32768", "--tensor-parallel-size": "1",
                     "--gpu-memory-utilization": "0.9", "--seed": "1234"}  # fmt: skip
    # the deployment's context (local-llama-provider.js:62) unless the recipe states another
    assert "--max-model-len" in argv and argv[argv.index("--max-model-len") + 1] == "32768"
    stated = serve_command("/models/m", 8123, {"max_model_len": 8192})
    assert stated[stated.index("--max-model-len") + 1] == "8192"


def test_a_missing_vllm_executable_is_a_clear_error(tmp_path) -> None:
    server = vllm_server("/m", {"command": ["no-such-vllm"]}, tmp_path / "log")
    with pytest.raises(WikikitError, match="'no-such-vllm' not found"), server:
        pass


@pytest.mark.slow
def test_eval_through_vllm_serve_on_localhost(tmp_path, monkeypatch) -> None:
    log = tmp_path / "argv.json"
    monkeypatch.setenv("FAKE_VLLM_LOG", str(log))
    target = evaluate.ModelTarget(
        "fine-tuned", "vllm", str(tmp_path / "merged"),
        extra={"vllm": {"serve": True, "command": [sys.executable, str(FAKE)], "timeout_s": 60,
                        "tensor_parallel_size": 1, "gpu_memory_utilization": 0.85}},
    )  # fmt: skip
    results = evaluate.run_lm_eval(
        target, ["wikikit_traceability", "semanticwiki_page"], limit=2, log_dir=tmp_path
    )
    started = json.loads(log.read_text())
    assert started["model"] == str(tmp_path / "merged") and started["host"] == "127.0.0.1"
    assert started["gpu_memory_utilization"] == 0.85 and started["served_model_name"] == "model"
    assert results["results"]["wikikit_traceability"]["traceability,none"] == 1.0
    assert results["results"]["semanticwiki_page"]["refs_right,none"] == 1.0
    # the server was stopped with the block: its port answers no more
    import urllib.request

    port = started["port"]
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2)
