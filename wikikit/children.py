"""Child processes that die with the wikikit run that started them.

Every process wikikit starts (the SemanticWiki client, model servers, Axolotl, llama.cpp's
converter, the Mermaid worker, scrapy) goes through `popen`: it runs in a process group of its
own (so a Ctrl-C in the terminal reaches wikikit alone, and wikikit ends the child's whole tree,
node's helpers included) and is registered until it is stopped. wikikit then ends every
registered group whenever it ends:

- SIGTERM and SIGHUP become `Terminated` (a KeyboardInterrupt, so every `finally` runs and the
  CLI prints one line); the handler first ends the children, so threads waiting on them return;
- SIGINT is Python's KeyboardInterrupt; an exception or a normal exit runs the atexit hook;
- a timeout in `run`/`wait` ends that child's group.

SIGKILL cannot be caught. For it, each wikikit process that has children keeps a ledger file,
`<cache>/children/<pid>.json`, naming them (pid, process start time, command). The next wikikit
run that starts a child reads the ledgers of wikikit processes that are gone, ends the groups
still alive (the start time from /proc guards against a reused pid) and says so on the console.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

GRACE_S = 5.0  # between SIGTERM and SIGKILL
_lock = threading.RLock()
_live: dict[int, subprocess.Popen] = {}  # pgid -> the group's leader
_handlers_installed = False
_atexit_registered = False
_swept = False


class Terminated(KeyboardInterrupt):
    """wikikit was asked to stop by a signal other than SIGINT."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def ledger_dir() -> Path:
    from wikikit.paths import cache_root

    return cache_root() / "children"


def _ledger() -> Path:
    return ledger_dir() / f"{os.getpid()}.json"


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (/proc/PID/stat field 22), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]


def _write_ledger() -> None:
    rows = [
        {"pid": pid, "start": _start_time(pid), "argv": [str(a) for a in p.args[:4]]}
        for pid, p in _live.items()
        if isinstance(p.args, (list, tuple))
    ]
    path = _ledger()
    try:
        if not rows:
            path.unlink(missing_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"owner_start": _start_time(os.getpid()), "children": rows}))
        os.replace(tmp, path)
    except OSError:
        pass  # the ledger is a safety net for SIGKILL; never fail a run over it


def sweep_leftovers() -> list[str]:
    """End the children that wikikit processes killed without a chance to clean up left
    behind; one line per group ended (also printed as a warning)."""
    from wikikit import console

    ended: list[str] = []
    folder = ledger_dir()
    if not folder.is_dir():
        return ended
    for path in sorted(folder.glob("*.json")):
        try:
            owner = int(path.stem)
            data = json.loads(path.read_text())
        except (ValueError, OSError):
            path.unlink(missing_ok=True)
            continue
        if owner == os.getpid():
            continue
        if _start_time(owner) is not None and _start_time(owner) == data.get("owner_start"):
            continue  # its wikikit is still running: its children are its own business
        for row in data.get("children") or []:
            pid = int(row.get("pid") or 0)
            if pid <= 1 or row.get("start") is None or _start_time(pid) != row["start"]:
                continue
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
                line = (
                    f"ended process group {pid} ({' '.join(row.get('argv') or [])[:120]}) left "
                    f"running by wikikit process {owner}, which was killed"
                )
                ended.append(line)
                console.warn(line)
        path.unlink(missing_ok=True)
    return ended


def _on_signal(signum: int, _frame: Any) -> None:
    stop_all()
    raise Terminated(signum)


def install_handlers() -> None:
    """SIGTERM/SIGHUP end the children and raise Terminated; exit ends them too. Main thread
    only (Python's rule for signal handlers); idempotent."""
    global _handlers_installed
    if _handlers_installed or threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    _handlers_installed = True
    _register_atexit()


def _register_atexit() -> None:
    global _atexit_registered
    if not _atexit_registered:
        atexit.register(stop_all)
        _atexit_registered = True


def popen(argv: Sequence[str | os.PathLike], **kwargs: Any) -> subprocess.Popen:
    """subprocess.Popen in a new process group, registered so it ends with wikikit."""
    global _swept
    if kwargs.pop("shell", False):
        raise ValueError("wikikit never runs shell strings")
    with _lock:
        if not _swept:
            _swept = True
            sweep_leftovers()
        _register_atexit()
        proc = subprocess.Popen([str(a) for a in argv], start_new_session=True, **kwargs)
        _live[proc.pid] = proc
        _write_ledger()
    return proc


def _forget(proc: subprocess.Popen) -> None:
    with _lock:
        if _live.pop(proc.pid, None) is not None:
            _write_ledger()


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _finished(proc: subprocess.Popen) -> bool:
    # poll() cannot reap while another thread waits on the process; its returncode then shows
    return proc.returncode is not None or proc.poll() is not None


def stop(proc: subprocess.Popen, grace_s: float = GRACE_S) -> int | None:
    """End the child's whole group: SIGTERM, then SIGKILL after `grace_s`. Its return code."""
    stop_many([proc], grace_s)
    return proc.returncode


def stop_many(procs: Sequence[subprocess.Popen], grace_s: float = GRACE_S) -> None:
    alive = [p for p in procs if not _finished(p)]
    for p in alive:
        _signal_group(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [p for p in alive if not _finished(p)]
    for p in procs:
        # the leader may be gone while others of its group (node's helpers) still run
        _signal_group(p.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(timeout=grace_s)
        _forget(p)


def stop_all(grace_s: float = GRACE_S) -> None:
    """End every registered child (signal handlers, atexit, tests)."""
    with _lock:
        procs = list(_live.values())
    if procs:
        stop_many(procs, grace_s)


def wait(proc: subprocess.Popen, timeout_s: float | None = None) -> tuple[int, bool]:
    """Wait for the child; past `timeout_s` end its group. (return code, timed out)."""
    try:
        rc = proc.wait(timeout=timeout_s)
        timed_out = False
    except subprocess.TimeoutExpired:
        stop(proc)
        rc, timed_out = proc.wait(), True
    else:
        # the leader is done; anything it left in its group goes with it
        _signal_group(proc.pid, signal.SIGKILL)
    _forget(proc)
    return rc, timed_out


def run(
    argv: Sequence[str | os.PathLike], timeout_s: float | None = None, **kwargs: Any
) -> subprocess.CompletedProcess:
    """subprocess.run for wikikit: a registered group, ended at the timeout (which raises
    subprocess.TimeoutExpired, as subprocess.run does)."""
    capture = kwargs.pop("capture_output", False)
    if capture:
        kwargs.setdefault("stdout", subprocess.PIPE)
        kwargs.setdefault("stderr", subprocess.PIPE)
    check = kwargs.pop("check", False)
    proc = popen(argv, **kwargs)
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        stop(proc)
        proc.communicate()
        raise
    except BaseException:
        stop(proc)
        raise
    finally:
        _signal_group(proc.pid, signal.SIGKILL)
        _forget(proc)
    done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    if check:
        done.check_returncode()
    return done


@contextlib.contextmanager
def started(argv: Sequence[str | os.PathLike], **kwargs: Any) -> Iterator[subprocess.Popen]:
    """A child for the length of a block: ended with its group when the block ends."""
    proc = popen(argv, **kwargs)
    try:
        yield proc
    finally:
        stop(proc)
