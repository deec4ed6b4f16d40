"""The tasks run under the stock lm-eval CLI: tiny gpt-oss on CPU (hf) and a chat server (API)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import model_fixtures
import pytest
from openai_stub import StubServer

from wikikit.bounded import read_jsonl

# shared fixtures (tests/model_fixtures.py), registered in this module
tiny_model = model_fixtures.tiny_model

ROOT = Path(__file__).resolve().parents[1]
TASKS = "wikikit_traceability,wikikit_mermaid,wikikit_tooluse"
LM_EVAL = str(Path(sys.executable).with_name("lm_eval"))


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1", WANDB_MODE="disabled"
    )
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def _results(out: Path) -> dict:
    files = sorted(out.rglob("results_*.json"))
    assert files, f"lm_eval wrote no results under {out}"
    return json.loads(files[-1].read_text())


def _samples(out: Path, task: str) -> list[dict]:
    files = sorted(out.rglob(f"samples_{task}_*.jsonl"))
    assert files
    return read_jsonl(files[-1])


@pytest.mark.slow
def test_lm_eval_cli_hf_tiny_gpt_oss(tiny_model: Path, tmp_path: Path) -> None:
    cmd = [LM_EVAL, "--include_path", str(ROOT / "eval_tasks"), "--tasks", TASKS,
           "--model", "hf", "--model_args", f"pretrained={tiny_model},dtype=float32",
           "--device", "cpu", "--limit", "2", "--gen_kwargs", "max_gen_toks=12",
           "--batch_size", "1", "--log_samples", "--output_path", str(tmp_path / "out")]  # fmt: skip
    proc = subprocess.run(
        cmd, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = _results(tmp_path / "out")["results"]
    for task, metric in [("wikikit_traceability", "traceability"), ("wikikit_mermaid", "validity"),
                         ("wikikit_tooluse", "tooluse")]:  # fmt: skip
        assert 0.0 <= results[task][f"{metric},none"] <= 1.0
    # the prompt the model saw is the harmony conversation, tools rendered for tool use
    sample = _samples(tmp_path / "out", "wikikit_tooluse")[0]
    prompt = sample["arguments"]["gen_args_0"]["arg_0"]
    assert prompt.startswith("<|start|>system<|message|>") and "Reasoning: low" in prompt
    assert "type read_file = " in prompt and prompt.endswith("<|start|>assistant")
    assert len(_samples(tmp_path / "out", "wikikit_mermaid")) == 2


@pytest.mark.slow
def test_lm_eval_cli_chat_completions_server(tmp_path: Path) -> None:
    with StubServer() as server:
        cmd = [LM_EVAL, "--include_path", str(ROOT / "eval_tasks"), "--tasks", TASKS,
               "--model", "local-chat-completions",
               "--model_args", f"base_url={server.url}/chat/completions,model=stub,num_concurrent=1",
               "--apply_chat_template", "--system_instruction", "Reasoning: low",
               "--limit", "2", "--log_samples", "--output_path", str(tmp_path / "out")]  # fmt: skip
        proc = subprocess.run(
            cmd,
            cwd=tmp_path,
            env=_env(WIKIKIT_PROMPT_STYLE="plain"),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        requests = list(server.requests)
    results = _results(tmp_path / "out")["results"]
    # the stub answers correctly: every headline metric is measured as perfect
    assert results["wikikit_traceability"]["traceability,none"] == 1.0
    assert results["wikikit_mermaid"]["validity,none"] == 1.0
    assert results["wikikit_mermaid"]["type_match,none"] == 1.0
    assert results["wikikit_tooluse"]["tooluse,none"] == 1.0
    assert len(requests) == 6
    first = requests[0]["body"]["messages"]
    assert (first[0]["role"], first[0]["content"]) == ("system", "Reasoning: low")
    assert "<|start|>" not in first[-1]["content"]  # plain prompts for a chat template
