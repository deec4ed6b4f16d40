"""A planted secret reaches the teacher's API and nothing else: no file, no log line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from synthetic_fakes import make_shop_repo, wiki_responder
from teacher_fakes import FakeTeacherServer

REPO_ROOT = Path(__file__).resolve().parents[1]
PLANTED = "sk-ant-PLANTED-7f3a9c1e55d0b2"


@pytest.mark.slow
@pytest.mark.parametrize("json_logs", [False, True])
def test_planted_secret_never_lands_in_run_dir_or_output(tmp_path, json_logs):
    make_shop_repo(tmp_path / "shop")
    with FakeTeacherServer(wiki_responder) as srv:
        recipe = {
            "wikikit": 1,
            "name": "secret-test",
            "seed": 1,
            "stages": ["data"],
            "model": {"base": "tiny-gpt-oss", "format": "harmony"},
            "data": {
                "size": 20,
                "mix": {"synthetic": {"weight": 1.0, "sources": ["distill"]}},
                "sources": {
                    "distill": {
                        "kind": "synthetic",
                        "teacher": {
                            "provider": "anthropic",
                            "model": "claude-haiku-4-5",
                            "base_url": srv.base_url("anthropic"),
                            "api_key": "${WIKIKIT_PLANTED_KEY}",
                            "timeout_s": 5.0,
                        },
                        "repos": ["shop"],
                        "categories": {"component": 2, "qa": 1},
                    }
                },
                "quality": {"min_chars": 10, "require_refs": False, "mermaid": "ignore"},
            },
        }
        (tmp_path / "r.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "WIKIKIT_PLANTED_KEY": PLANTED}
        env.pop("ANTHROPIC_API_KEY", None)
        flags = ["--json-logs"] if json_logs else []
        proc = subprocess.run(
            [sys.executable, "-m", "wikikit.cli", *flags, "run", "r.yaml", "--run-dir", "run"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            timeout=300,
        )
        show = subprocess.run(
            [sys.executable, "-m", "wikikit.cli", "show", "r.yaml"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
        )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    # The key was really used: the teacher server received it ...
    # (x-api-key or a bearer token, as the SDK chooses)
    sent = [str(r["headers"]) for r in srv.log]
    assert sent and all(PLANTED in h for h in sent)
    # ... and it appears nowhere else.
    for stream in (proc.stdout, proc.stderr, show.stdout, show.stderr):
        assert PLANTED.encode() not in stream
    files = [p for p in (tmp_path / "run").rglob("*") if p.is_file()]
    assert any(p.name == "train.jsonl" for p in files)
    leaked = [str(p) for p in files if PLANTED.encode() in p.read_bytes()]
    assert not leaked
