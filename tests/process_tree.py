"""The processes of a run, read from /proc: a process and everything it started, each named by
(pid, start time) so that a pid the kernel hands out again is never mistaken for it."""

from __future__ import annotations

import time
from pathlib import Path


def start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    if fields[0] == "Z":  # a zombie has ended; only its parent's wait is missing
        return None
    return fields[19]


def _parents() -> dict[int, int]:
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        out[int(entry.name)] = int(stat.rsplit(")", 1)[-1].split()[1])
    return out


def tree(root: int) -> dict[int, str]:
    """`root` and all its descendants now: pid -> start time."""
    parents = _parents()
    found, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        kids = [c for c, p in parents.items() if p == pid and c not in found]
        found.update(kids)
        frontier.extend(kids)
    return {pid: t for pid in found if (t := start_time(pid)) is not None}


def alive(procs: dict[int, str]) -> list[int]:
    """Which of these (pid, start time) processes still run."""
    return [pid for pid, t in procs.items() if start_time(pid) == t]


def wait_gone(procs: dict[int, str], timeout_s: float) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while (left := alive(procs)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""
