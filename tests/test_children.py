"""wikikit.children: every child process ends with the wikikit process that started it.

A driver process plays wikikit: it starts a child through wikikit.children (the child starts a
grandchild of its own, as node does), says their pids, and waits. The test then stops the
driver the ways a run ends (SIGTERM, SIGINT, SIGHUP, an exception, a timeout) and looks in /proc
for any process of that tree; for SIGKILL, the next wikikit process ends what was left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from process_tree import alive, start_time, tree, wait_gone

from wikikit import children

ROOT = Path(__file__).resolve().parents[1]
# A child that starts a grandchild and both sleep: the shape of the client (node and helpers).
FAMILY = [
    sys.executable,
    "-c",
    "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', "
    "'import time; time.sleep(600)']); time.sleep(600)",
]
DRIVER = textwrap.dedent(
    """
    import json, sys, time
    from wikikit import children
    children.install_handlers()
    how = sys.argv[1]
    family = json.loads(sys.argv[2])
    try:
        proc = children.popen(family)
        time.sleep(1.0)  # the grandchild is started
        print(json.dumps({"child": proc.pid}), flush=True)
        if how == "raise":
            time.sleep(1.0)  # the test reads the tree meanwhile
            raise RuntimeError("a bug mid-run")
        if how == "timeout":
            rc, timed_out = children.wait(proc, timeout_s=1.0)
            print(json.dumps({"timed_out": timed_out}), flush=True)
            time.sleep(600)
        time.sleep(600)
    except children.Terminated as exc:
        print(json.dumps({"terminated": exc.signum}), flush=True)
        sys.exit(128 + exc.signum)
    except KeyboardInterrupt:
        print(json.dumps({"interrupted": True}), flush=True)
        sys.exit(130)
    """
)


def start_driver(tmp_path: Path, how: str) -> tuple[subprocess.Popen, dict]:
    env = dict(os.environ, WIKIKIT_CACHE=str(tmp_path / "cache"), PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-c", DRIVER, how, json.dumps(FAMILY)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    first = json.loads(proc.stdout.readline() or "{}")
    assert "child" in first, proc.stderr.read()
    return proc, first


def family_of(driver: subprocess.Popen) -> dict[int, str]:
    procs = tree(driver.pid)
    del procs[driver.pid]
    assert len(procs) == 2, procs  # the child and its grandchild
    return procs


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_ends_the_whole_family(tmp_path, sig):
    driver, first = start_driver(tmp_path, "wait")
    procs = family_of(driver)
    assert os.getpgid(first["child"]) == first["child"] != os.getpgid(driver.pid)  # own group
    driver.send_signal(sig)
    rc = driver.wait(timeout=30)
    assert rc == 128 + sig, driver.stderr.read()
    assert wait_gone(procs, 5) == []
    ledger = tmp_path / "cache" / "children" / f"{driver.pid}.json"
    assert not ledger.exists()  # nothing left to sweep


def test_an_exception_ends_the_family(tmp_path):
    driver, _ = start_driver(tmp_path, "raise")
    procs = family_of(driver)
    rc = driver.wait(timeout=30)
    assert rc == 1 and "a bug mid-run" in driver.stderr.read()
    assert wait_gone(procs, 5) == []


def test_a_timeout_ends_the_childs_group(tmp_path):
    driver, first = start_driver(tmp_path, "timeout")
    procs = family_of(driver)
    assert json.loads(driver.stdout.readline()) == {"timed_out": True}
    assert wait_gone(procs, 5) == []
    driver.kill()
    driver.wait()


def test_after_sigkill_the_next_run_ends_what_was_left(tmp_path, monkeypatch):
    driver, first = start_driver(tmp_path, "wait")
    procs = family_of(driver)
    driver.kill()  # SIGKILL: no handler runs
    driver.wait()
    time.sleep(0.5)
    assert sorted(alive(procs)) == sorted(procs)  # the orphans run on
    monkeypatch.setenv("WIKIKIT_CACHE", str(tmp_path / "cache"))
    ended = children.sweep_leftovers()
    assert len(ended) == 1 and str(first["child"]) in ended[0] and str(driver.pid) in ended[0]
    assert wait_gone(procs, 5) == []
    assert not list((tmp_path / "cache" / "children").glob("*.json"))
    assert children.sweep_leftovers() == []  # said once


def test_a_running_wikikits_children_are_left_alone(tmp_path, monkeypatch):
    driver, first = start_driver(tmp_path, "wait")
    try:
        monkeypatch.setenv("WIKIKIT_CACHE", str(tmp_path / "cache"))
        assert children.sweep_leftovers() == []
        assert start_time(first["child"]) is not None
    finally:
        driver.terminate()
        driver.wait(timeout=30)


def test_run_and_stop_in_process(tmp_path, monkeypatch):
    monkeypatch.setenv("WIKIKIT_CACHE", str(tmp_path / "cache"))
    done = children.run([sys.executable, "-c", "print('hi')"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == "hi\n"
    with pytest.raises(subprocess.TimeoutExpired):
        children.run(FAMILY, timeout_s=1.0)
    with children.started(FAMILY) as proc:
        time.sleep(0.5)
        procs = tree(proc.pid)
    assert len(procs) == 2 and wait_gone(procs, 5) == []
    with pytest.raises(ValueError, match="shell"):
        children.popen(["true"], shell=True)
