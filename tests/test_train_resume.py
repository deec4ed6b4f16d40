"""Resume: `wikikit run --only train` killed mid-training continues from its last checkpoint.

Through the real CLI and runner: the data stage runs on a small JSONL source, the train stage is
started with a checkpoint every step and its whole process group is SIGKILLed once a checkpoint
is complete; the same command then resumes (fewer steps than max_steps, per Axolotl's log and
metrics.json) and finishes with a merged model that loads. A changed training config must not
resume from the old checkpoints.
"""

from __future__ import annotations

import ast
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from train_helpers import OFFLINE_ENV, example

from wikikit.data.render import openai_messages

REPO_ROOT = Path(__file__).resolve().parents[1]
MAX_STEPS = 6

RECIPE = f"""wikikit: 1
name: resume
seed: 3
stages: [data, train]
model: {{base: tiny-gpt-oss, tiny: {{num_hidden_layers: 2, hidden_size: 64, num_local_experts: 4, seed: 0}}}}
data:
  size: 30
  mix: {{all: {{weight: 1.0, sources: [s]}}}}
  sources: {{s: {{kind: jsonl, paths: [examples.jsonl]}}}}
  quality: {{min_chars: 10, mermaid: ignore}}
  split: {{train: 0.8, validation: 0.2, test: 0.0}}
train:
  sequence_len: 256
  max_steps: {MAX_STEPS}
  save_steps: 1
  micro_batch_size: 2
  gradient_accumulation_steps: 1
  optimizer: adamw_torch
  learning_rate: 0.001
  warmup_ratio: 0.0
  gradient_checkpointing: false
  check_labels: 0  # resuming is under test; the label check has its own tests
"""
LOSS_LINE = re.compile(r"\{'loss': [^}]*\}")


def _start(args: list[str], cwd: Path, log: Path) -> subprocess.Popen:
    """`wikikit ARGS` in its own session, so that killing its group takes Axolotl down too."""
    env = {**os.environ, **OFFLINE_ENV, "PYTHONPATH": str(REPO_ROOT)}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "wikikit.cli", *args],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _run(args: list[str], cwd: Path, log: Path, timeout: float = 240) -> None:
    proc = _start(args, cwd, log)
    try:
        rc = proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert rc == 0, log.read_text(errors="replace")[-4000:]


def _complete_checkpoints(output_dir: Path) -> list[int]:
    """Steps of the checkpoints the Trainer finished writing (trainer_state.json comes last)."""
    steps = []
    for cp in output_dir.glob("checkpoint-*"):
        try:
            json.loads((cp / "trainer_state.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        steps.append(int(cp.name.split("-")[-1]))
    return sorted(steps)


def _losses(train_log: Path) -> list[dict]:
    return [ast.literal_eval(m.group(0)) for m in LOSS_LINE.finditer(train_log.read_text())]


@pytest.mark.slow
def test_killed_training_resumes_from_last_checkpoint(tmp_path):
    with open(tmp_path / "examples.jsonl", "w", encoding="utf-8") as f:
        for k in range(1, 40):
            f.write(json.dumps({"messages": openai_messages(example(k)), "category": "qa"}) + "\n")
    (tmp_path / "r.yaml").write_text(RECIPE, encoding="utf-8")
    run_dir = tmp_path / "run"
    console_log = tmp_path / "console.log"
    cmd = ["run", "r.yaml", "--only", "train", "--run-dir", "run"]
    _run(["run", "r.yaml", "--only", "data", "--run-dir", "run"], tmp_path, console_log)
    assert (run_dir / "data" / "train.jsonl").stat().st_size > 0

    # 1. Start training; SIGKILL the whole process group once a checkpoint is complete.
    checkpoints = run_dir / "cache" / "train" / "checkpoints"
    proc = _start(cmd, tmp_path, console_log)
    deadline = time.monotonic() + 420  # a busy 2-core box: ~3 min to the first checkpoint
    try:
        while not _complete_checkpoints(checkpoints):
            assert proc.poll() is None, console_log.read_text(errors="replace")[-4000:]
            assert time.monotonic() < deadline, "no checkpoint within 420 s"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done_at_kill = _complete_checkpoints(checkpoints)
    assert done_at_kill and max(done_at_kill) < MAX_STEPS, f"training ended first: {done_at_kill}"
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["stages"]["train"]["status"] == "running"
    assert not (run_dir / "train" / "metrics.json").exists()
    # A checkpoint the kill cut short (its trainer_state.json not yet written) must not be picked.
    partial = checkpoints / f"checkpoint-{MAX_STEPS - 1}"
    if not (partial / "trainer_state.json").exists():
        partial.mkdir(exist_ok=True)
        (partial / "adapter_config.json").write_text("{")

    # 2. The same command resumes from the last complete checkpoint and finishes.
    _run(cmd, tmp_path, console_log)
    metrics = json.loads((run_dir / "train" / "metrics.json").read_text())
    resumed_from = metrics["resumed_from_step"]
    assert metrics["resumed"] is True
    assert max(done_at_kill) <= resumed_from < MAX_STEPS
    train_log = run_dir / "train" / "logs" / "train.log"
    log_text = train_log.read_text()
    assert re.search(rf"resum\w* from checkpoint.*checkpoint-{resumed_from}\b", log_text), log_text[
        -3000:
    ]
    second_attempt = _losses(train_log)
    assert len(second_attempt) == MAX_STEPS - resumed_from < MAX_STEPS
    assert metrics["steps"] == MAX_STEPS
    assert [p["step"] for p in metrics["loss_curve"]] == list(range(1, MAX_STEPS + 1))
    assert json.loads((run_dir / "manifest.json").read_text())["stages"]["train"]["status"] == (
        "done"
    )

    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(run_dir / "train" / "merged")
    assert model.config.model_type == "gpt_oss"

    # 3. A changed training config starts over: the old checkpoints are not resumed from.
    # (Fewer steps keep it short; resuming from the stale checkpoint-6 would train none.)
    changed = ["--set", "train.learning_rate=0.002", "--set", "train.max_steps=2"]
    _run([*cmd, *changed, "--set", "train.merge=false"], tmp_path, console_log)
    metrics = json.loads((run_dir / "train" / "metrics.json").read_text())
    assert metrics["resumed"] is False and metrics["resumed_from_step"] is None
    log_text = train_log.read_text()
    assert "learning_rate: 0.002" in (run_dir / "train" / "axolotl.yaml").read_text()
    assert not re.search(r"resum\w* from checkpoint", log_text, re.IGNORECASE)
    assert len(_losses(train_log)) == 2 and metrics["steps"] == 2
    assert [p["step"] for p in metrics["loss_curve"]] == [1, 2]
    assert _complete_checkpoints(checkpoints) == [1, 2]


def _checkpoint(output_dir: Path, step: int, *, complete: bool = True) -> None:
    cp = output_dir / f"checkpoint-{step}"
    cp.mkdir(parents=True)
    (cp / "adapter_model.safetensors").write_bytes(b"x")
    if complete:
        history = [{"step": s, "loss": 1.0 / s} for s in range(1, step + 1)]
        (cp / "trainer_state.json").write_text(
            json.dumps({"global_step": step, "log_history": history})
        )


def test_checkpoints_kept_for_same_config_without_the_one_cut_short(tmp_path):
    from wikikit.train.checkpoints import prepare_checkpoint_dir

    out, cfg = tmp_path / "checkpoints", {"learning_rate": 0.001, "max_steps": 6}
    assert prepare_checkpoint_dir(out, cfg) is None  # fresh: nothing to resume
    _checkpoint(out, 1)
    _checkpoint(out, 2)
    _checkpoint(out, 3, complete=False)
    state = prepare_checkpoint_dir(out, cfg)
    assert state is not None and state["global_step"] == 2
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-1", "checkpoint-2"]
    # Another config: every old checkpoint goes, so Axolotl cannot resume from a stale one.
    assert prepare_checkpoint_dir(out, {**cfg, "learning_rate": 0.002}) is None
    assert not list(out.glob("checkpoint-*"))


def test_checkpoints_dropped_when_the_data_changes_behind_the_same_path(tmp_path):
    from wikikit.train.checkpoints import prepare_checkpoint_dir

    train = tmp_path / "train.jsonl"
    train.write_text('{"messages": []}\n')
    out = tmp_path / "checkpoints"
    cfg = {"base_model": str(tmp_path / "model"), "datasets": [{"path": str(train)}]}
    prepare_checkpoint_dir(out, cfg)
    _checkpoint(out, 2)
    assert prepare_checkpoint_dir(out, cfg)["global_step"] == 2
    train.write_text('{"messages": [], "id": "new"}\n')  # the data stage ran again
    assert prepare_checkpoint_dir(out, cfg) is None
    assert not list(out.glob("checkpoint-*"))


def test_resumed_loss_curve_covers_the_whole_training():
    from wikikit.train.axolotl_run import LogWatcher
    from wikikit.train.stage import build_metrics

    w = LogWatcher(max_steps=4, start_step=2)
    w.feed("{'loss': 0.5, 'grad_norm': 1.0, 'learning_rate': 0.001, 'epoch': 0.5}\n")
    w.feed("{'loss': 0.25, 'grad_norm': 1.0, 'learning_rate': 0.001, 'epoch': 0.7}\n")
    resumed = {
        "global_step": 2,
        "log_history": [{"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.0}],
    }
    final = {"global_step": 4, "log_history": []}
    m = build_metrics(w, final, "/m", 1.0, 2.0, resumed_state=resumed)
    assert m["loss_curve"] == [
        {"step": 1, "loss": 2.0},
        {"step": 2, "loss": 1.0},
        {"step": 3, "loss": 0.5},
        {"step": 4, "loss": 0.25},
    ]
    assert m["steps"] == 4 and m["final_loss"] == 0.25
