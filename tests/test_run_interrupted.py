"""A run killed with SIGKILL at any moment leaves no partial file and finishes on the next run."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

RECIPE = """wikikit: 1
name: killed
seed: 5
stages: [data]
model: {base: tiny-gpt-oss, format: harmony}
data:
  size: 600
  mix: {trace: {weight: 1.0, sources: [trace]}}
  sources:
    trace: {kind: traceability, repos: [{path: click-src, name: click}]}
  quality: {min_chars: 100, require_refs: true, verify_refs: true, mermaid: ignore}
  split: {train: 0.8, validation: 0.1, test: 0.1}
"""


def _wikikit(args: list[str], cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "wikikit.cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.slow
def test_sigkill_at_several_points_then_rerun_is_byte_identical(tmp_path):
    src = tmp_path / "click-src"
    shutil.copytree(Path(click.__file__).parent, src, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "r.yaml").write_text(RECIPE)

    ref = _wikikit(["run", "r.yaml", "--run-dir", "ref"], tmp_path)
    assert ref.wait(timeout=300) == 0, ref.stderr.read().decode()
    expected = _files(tmp_path / "ref" / "data")
    assert {"train.jsonl", "validation.jsonl", "test.jsonl", "README.md", "quality.json"} <= set(
        expected
    )

    run_dir = tmp_path / "killed"
    kills = 0
    for delay in (0.2, 0.7, 1.2, 1.8, 2.5, 3.5):
        proc = _wikikit(["run", "r.yaml", "--run-dir", "killed"], tmp_path)
        deadline = time.monotonic() + 60
        while (
            not (run_dir / "manifest.json").exists()
            and proc.poll() is None
            and time.monotonic() < deadline
        ):
            time.sleep(0.02)
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        # Whatever the killed run left under a final name is complete (identical to the reference).
        data = run_dir / "data"
        for rel, content in _files(data).items() if data.exists() else []:
            if ".tmp-" not in rel:
                assert content == expected[rel], f"{rel} is partial after a kill at +{delay}s"
    assert kills >= 3, "the stage finished too fast to be interrupted"

    final = _wikikit(["run", "r.yaml", "--run-dir", "killed"], tmp_path)
    assert final.wait(timeout=300) == 0, final.stderr.read().decode()
    got = _files(run_dir / "data")
    assert not [rel for rel in got if ".tmp-" in rel]
    assert got == expected
