"""Axolotl's commands as subprocesses: finding the binary, its environment, streaming its output
into a log and progress lines (step, loss, tokens/s)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import deque
from pathlib import Path
from typing import Any

import wikikit
from wikikit import children, console
from wikikit.errors import InputError, WikikitError
from wikikit.train.axolotl_config import recipe_data


def find_axolotl(recipe: Any) -> Path:
    train = recipe_data(recipe).get("train") or {}
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
    # Axolotl imports wikikit's prompt strategy (train/harmony_turns.py): this wikikit, even
    # from another environment's axolotl.
    source_root = str(Path(wikikit.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (source_root, env.get("PYTHONPATH")) if p)
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
    proc = None
    with open(tmp, "w", encoding="utf-8") as log:
        try:
            proc = children.popen(
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
            rc, _ = children.wait(proc)
        finally:
            if proc is not None:
                children.stop(proc)  # a signal or an error mid-run: Axolotl and its workers go too
            log.flush()
            os.replace(tmp, log_path)
    if rc != 0:
        shown = "\n".join(list(tail)[-25:])
        raise WikikitError(
            f"{Path(args[0]).name} {args[1]} failed (exit {rc}); full log: {log_path}\n{shown}"
        )
