"""The recipe fuzzer's CI run (issue 20): a fixed seed and a fixed number of examples.

tests/recipe_fuzz.py runs in a child process (its audit hook cannot be removed, so it stays out
of the test session) and checks, for every example, that `wikikit validate` exits 0 or 2 with
located one-line errors, in under 2 s of CPU and 200 MB, writing nothing and opening nothing
outside the roots. A longer run by hand: `python tests/recipe_fuzz.py --examples 20000`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wikikit.paths import REPO_ROOT

SEED = 20
EXAMPLES = 300


@pytest.mark.slow
def test_fuzzer_ci_run_finds_nothing(tmp_path):
    report = tmp_path / "fuzz.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("recipe_fuzz.py")),
            "--examples",
            str(EXAMPLES),
            "--seed",
            str(SEED),
            "--report",
            str(report),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert report.exists(), proc.stderr[-3000:]
    r = json.loads(report.read_text())
    assert r["failure"] is None, "\n".join(r["failure"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert r["examples_run"] == EXAMPLES and r["seed"] == SEED
    assert set(r["exit_codes"]) <= {"0", "2"} and r["exit_codes"].get("2", 0) > EXAMPLES // 2
    assert r["exit_codes"].get("0", 0) > 0  # valid recipes are generated too, and pass
    # The mutations that matter were all exercised.
    assert {"laughs", "extends", "tag", "nest", "share"} <= set(r["mutations"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fuzz.json", "fuzz.json.slowest.yaml"]
