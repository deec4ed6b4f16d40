"""A killed wikikit leaves no process behind: the real client, stopped mid-wiki.

`wikikit try` and the eval stage (`wikikit eval`, the semanticwiki harness) start the real
SemanticWiki client with the tiny GGUF (bundled mode, one thread). Once the client has made its
first model call (its log says so), the test sends SIGTERM or SIGINT to wikikit, as `timeout`
or a Ctrl-C would, and 5 s later no process of the run's tree (wikikit, node, anything node
started: every pid read from /proc before the signal, with its start time) is running. wikikit
says why it stopped in one line and exits 128 + the signal.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import model_fixtures
import pytest
import semanticwiki_fixtures
from git_fixtures import commit_all, init_repo
from process_tree import cmdline, tree, wait_gone

from wikikit.semanticwiki.client import CALL_MARKER

pytestmark = pytest.mark.slow
semanticwiki_client = semanticwiki_fixtures.semanticwiki_client
tiny_model = model_fixtures.tiny_model
tiny_gguf = model_fixtures.tiny_gguf

ROOT = Path(__file__).resolve().parents[1]
WIKIKIT = str(Path(sys.executable).parent / "wikikit")


def _calc_repo(folder: Path) -> Path:
    repo = folder / "calc"
    repo.mkdir(parents=True)
    (repo / "README.md").write_text("# calc\n\nAdds numbers.\n")
    (repo / "calc.py").write_text("def add(a: int, b: int) -> int:\n    return a + b\n")
    init_repo(repo)
    commit_all(repo, "calc")
    return repo


def _place(gguf: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(gguf, dest)
    except OSError:
        shutil.copy(gguf, dest)
    return dest


def _stop_after_first_call(argv: list[str], cwd: Path, log: Path, sig: int) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 600
        while not (log.is_file() and CALL_MARKER in log.read_text(errors="replace")):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the client made no model call in 10 minutes"
            time.sleep(0.2)
        procs = tree(proc.pid)
        nodes = [p for p in procs if "node" in cmdline(p)]
        assert nodes, {p: cmdline(p) for p in procs}  # the client is part of the tree
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
        left = wait_gone(procs, 5)
        assert left == [], {p: cmdline(p) for p in left}
        assert proc.returncode == 128 + sig, err[-2000:]
        last = [ln for ln in err.splitlines() if ln.strip()][-1]
        assert last.startswith("error: ") and ("SIGTERM" in last or "interrupted" in last), err
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_wikikit_try_killed_leaves_nothing(tmp_path, tiny_gguf, semanticwiki_client, sig):
    repo = _calc_repo(tmp_path)
    _place(tiny_gguf, tmp_path / "runs" / "demo" / "package" / "model.gguf")
    log = tmp_path / "runs" / "demo" / "try" / "calc" / "client.log"
    # the run folder relative, as a user types it
    argv = [WIKIKIT, "try", "runs/demo", "-r", str(repo), "--threads", "1", "--seed", "1"]
    _stop_after_first_call(argv, tmp_path, log, sig)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_the_eval_stage_killed_leaves_nothing(tmp_path, tiny_gguf, semanticwiki_client, sig):
    _calc_repo(tmp_path / "repos")
    _place(tiny_gguf, tmp_path / "model.gguf")
    (tmp_path / "x.jsonl").write_text("")
    (tmp_path / "r.yaml").write_text(
        "wikikit: 1\nname: killed\nseed: 1\nmodel: {base: tiny}\n"
        "data:\n  holdout: [calc]\n  mix: {a: {weight: 1, sources: [s]}}\n"
        "  sources: {s: {kind: jsonl, paths: [x.jsonl]}}\n"
        "eval:\n  harness: semanticwiki\n"
        "  heldout: {repos: {calc: {path: repos/calc}}}\n"
        "  semanticwiki: {gguf: model.gguf, threads: 1, seed: 1}\n"
    )
    log = tmp_path / "runs" / "killed" / "eval" / "wikis" / "fine-tuned" / "calc" / "client.log"
    _stop_after_first_call([WIKIKIT, "eval", "r.yaml"], tmp_path, log, sig)
