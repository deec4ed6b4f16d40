"""The `semanticwiki` source over many repositories: killed (SIGKILL) mid-run, it resumes.

30 small local repositories (copies of demo/shop, each file marked with its copy's number so no
two repositories send the same prompt) and a loopback teacher; `wikikit run --only data` runs
in a subprocess with `client.wave: 5` and `parallel: 2`. Once some repositories have their
done.json, the run is SIGKILLed; the next run must ask the teacher only about repositories
that were not finished, run no client on a finished one, and write data covering all 30.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import semanticwiki_fixtures
from git_fixtures import commit_all, init_repo
from semanticwiki_fixtures import SHOP, shop_teacher
from teacher_fakes import FakeTeacherServer

from wikikit.semanticwiki import session
from wikikit.semanticwiki.client import ClientRun

semanticwiki_client = semanticwiki_fixtures.semanticwiki_client  # the session fixture
ROOT = Path(__file__).resolve().parents[1]
N = 30
MARK = re.compile(r"copy[-_](\d\d)\b")


def make_repos(tmp_path: Path) -> list[Path]:
    repos = []
    for i in range(N):
        root = tmp_path / "repos" / f"shop{i:02d}"
        shutil.copytree(SHOP, root, ignore=shutil.ignore_patterns("__pycache__", ".*"))
        for f in sorted(root.rglob("*.py")):
            f.write_text(f"# copy-{i:02d} of demo/shop\n" + f.read_text())
        # the plan prompt lists files without their text: a file of its own names the copy there
        (root / "shop" / f"copy_{i:02d}.py").write_text(f"# copy-{i:02d} of demo/shop\n")
        init_repo(root)
        commit_all(root, f"copy {i}")
        repos.append(root)
    return repos


def recipe(tmp_path: Path, repos: list[Path], base_url: str) -> Path:
    listed = "\n".join(
        f"        - {{path: {r}, name: demo/shop{i:02d}}}" for i, r in enumerate(repos)
    )
    text = f"""wikikit: 1
name: scale
seed: 1
stages: [data]
model: {{base: tiny-gpt-oss, format: harmony}}
data:
  size: 2000
  mix: {{all: {{weight: 1, sources: [sw]}}}}
  quality: {{mermaid: ignore, verify_refs: false, require_refs: false}}
  dedup: {{method: none}}  # the 30 copies' examples are near-duplicates by design
  sources:
    sw:
      kind: semanticwiki
      client: {{skip_index: true, parallel: 2, wave: 5}}
      answerer:
        kind: teacher
        teacher: {{provider: openai, model: teacher-x, base_url: {base_url}}}
      repos:
{listed}
"""
    path = tmp_path / "r.yaml"
    path.write_text(text)
    return path


def start(tmp_path: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_DATASETS_OFFLINE": "1"}
    argv = [sys.executable, "-m", "wikikit.cli", "run", "r.yaml", "--only", "data"]
    with open(log, "wb") as out:
        # a session of its own: the SIGKILL below reaches this run alone
        return subprocess.Popen(
            [*argv, "--run-dir", "run"], cwd=tmp_path, env=env, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def finished(tmp_path: Path) -> dict[int, float]:
    """The repositories with a done.json: copy number -> the marker's mtime."""
    work = tmp_path / "run" / "cache" / "data" / "semanticwiki"
    return {
        int(p.parent.name.removeprefix("demo-shop")[:2]): p.stat().st_mtime_ns
        for p in work.glob("*/demo-shop*/done.json")
    }


def asked_copies(log: list[dict]) -> list[int]:
    copies = []
    for entry in log:
        if entry["api"] == "openai":
            found = {int(m) for m in MARK.findall(str(entry["body"]))}
            assert len(found) <= 1, found  # a prompt shows one repository's files at most
            # one naming no file (the index's page list alone) is alike in every copy: the
            # teacher cache answers it once, so no finished repository can cost it again
            copies.extend(found)
    return copies


@pytest.mark.slow
def test_a_killed_run_asks_only_for_the_unfinished_repositories(tmp_path, semanticwiki_client):
    repos = make_repos(tmp_path)
    with FakeTeacherServer(shop_teacher) as server:
        recipe(tmp_path, repos, server.base_url("openai"))
        proc = start(tmp_path, tmp_path / "run1.log")
        deadline = time.monotonic() + 600
        try:
            while len(finished(tmp_path)) < 5:
                assert proc.poll() is None, (tmp_path / "run1.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "no repository finished"
                time.sleep(0.2)
            os.killpg(proc.pid, signal.SIGKILL)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        done = finished(tmp_path)
        assert 5 <= len(done) < N  # some finished, not all
        first = asked_copies(server.log)
        assert set(done) <= set(first)
        del server.log[:]

        proc = start(tmp_path, tmp_path / "run2.log")
        assert proc.wait(timeout=900) == 0, (tmp_path / "run2.log").read_text()[-3000:]
        second = asked_copies(server.log)

    # The next run asked the teacher only about unfinished repositories, and about some.
    assert second and not set(second) & set(done), sorted(set(second) & set(done))
    # No client ran again on a finished one: its marker is the one the killed run wrote.
    after = finished(tmp_path)
    assert set(after) == set(range(N))
    assert {i: after[i] for i in done} == done
    log = (tmp_path / "run2.log").read_text()
    assert f"{len(done)} recordings reused" in log
    assert f"repositories {N - len(done)}/{N - len(done)} done" in log
    # The written data covers all 30 repositories, and none failed.
    quality = json.loads((tmp_path / "run" / "data" / "quality.json").read_text())
    stats = quality["source_stats"]["sw"]
    assert stats["repos"] == N and stats["repos_failed"] == 0
    assert stats["recordings_reused"] == len(done)
    assert stats["exchanges"] == 8 * N  # demo/shop: 1 plan, 6 pages, 1 index, every copy
    # (train/validation/test hold few rows: the split keeps the copies' look-alike examples
    # out of each other's splits, so the recordings are the coverage that counts here)
    recordings = json.loads(
        (tmp_path / "run" / "data" / "semanticwiki" / "sw" / "recordings.json").read_text()
    )
    assert {k.split("@")[0] for k in recordings} == {f"demo/shop{i:02d}" for i in range(N)}
    assert all(r["pending"] == 0 for r in recordings.values())


def test_waves_settle_once_a_pass_and_mark_each_repository_when_it_finishes(tmp_path, monkeypatch):
    """session.record with a stand-in pass: repository i needs i+1 passes, r3's pass raises.
    One settle per pass per wave; each repository's on_done comes right after its last pass,
    before later passes of its wave; the failure is named and the others go on."""
    events: list[tuple[str, str, int]] = []

    def fake_pass(install, job, folder, *, number, **kw):
        events.append(("pass", job.key, number))
        if job.key == "r3":
            raise RuntimeError("clone vanished")
        need = int(job.key[1:]) % 3 + 1  # passes until nothing is pending
        pending = [{"status": "pending", "call": "page"}] if number < need else []
        run = ClientRun(0, 0.5, False, folder / "client.log", folder)
        return session.PassResult(job, number, folder, run, pending, 1)

    monkeypatch.setattr(session, "run_pass", fake_pass)
    settles = []

    def settle() -> int:
        settles.append(len(events))
        events.append(("settle", "", 0))
        return 1

    def on_done(result, passes, seconds):
        events.append(("done", result.job.key, passes))

    jobs = [session.Job(f"r{i}", tmp_path, None) for i in range(6)]
    out = session.record(
        None, jobs, tmp_path, settle=settle, max_passes=5, parallel=2, wave=3, on_done=on_done
    )
    done = {key: n for kind, key, n in events if kind == "done"}
    assert done == {"r0": 1, "r1": 2, "r2": 3, "r4": 2, "r5": 3}
    assert out.errors == {"r3": "RuntimeError: clone vanished"}
    # wave 1 (r0-r2) takes 3 passes, so 2 settles; wave 2 (r3-r5) the same: 4 in all
    assert len(settles) == 4
    first_wave_end = max(i for i, e in enumerate(events) if e[1] in ("r0", "r1", "r2"))
    assert all(e[1] not in ("r3", "r4", "r5") for e in events[:first_wave_end])
    # r0 is marked before r1 and r2 run their second pass
    assert events.index(("done", "r0", 1)) < events.index(("pass", "r1", 2))
    assert out.passes == {"r0": 1, "r1": 2, "r2": 3, "r4": 2, "r5": 3}
