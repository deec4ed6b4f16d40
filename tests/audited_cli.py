"""Run the `wikikit` command line in a child Python under an audit hook that records every file
it opens and every write it makes, with its time and peak memory.

    python tests/audited_cli.py REPORT.json validate recipe.yaml

The hook (sys.addaudithook, PEP 578) is installed before wikikit is imported, so imports count
too. It records each "open" event (path and mode: builtins.open, io.open, os.open and the
importer's io.open_code all raise it) and the events that change a file system (os.mkdir,
os.rename, os.remove, ...). The report is written through a descriptor opened before the hook,
with os.write, which raises no event. The child caps its own address space so that a regression
(an alias bomb that is expanded after all) ends in a MemoryError instead of taking the machine
down.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections.abc import Iterable
from pathlib import Path

MEMORY_CAP_BYTES = 2 << 30
WRITE_EVENTS = frozenset(
    {
        "os.mkdir",
        "os.rename",
        "os.remove",
        "os.rmdir",
        "os.symlink",
        "os.link",
        "os.truncate",
        "os.chmod",
        "os.chown",
        "os.utime",
        "shutil.copyfile",
        "shutil.rmtree",
    }
)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def interpreter_roots() -> list[Path]:
    """Where Python and the venv keep their own files (what a clean validate opens besides)."""
    import sysconfig

    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, *sysconfig.get_paths().values()}
    return sorted({Path(r).resolve() for r in roots if r})


def project_roots(repo_root: Path) -> list[Path]:
    """The project's own files that validating reads: its code, its schemas, its recipes."""
    return [repo_root / "wikikit", repo_root / "schemas", repo_root / "recipes"]


def outside(paths: Iterable[str], allowed: Iterable[Path]) -> list[str]:
    """The opened paths that lie in none of the allowed folders (resolved, symlinks followed)."""
    allowed = [Path(a).resolve() for a in allowed]
    bad = []
    for p in paths:
        if p.startswith("<fd ") or p in ("/dev/null", "/dev/urandom"):
            continue
        rp = Path(p).resolve()
        if not any(rp == a or a in rp.parents for a in allowed):
            bad.append(p)
    return sorted(set(bad))


class Audit:
    """An audit hook that records opened paths and writes while `recording` is True."""

    def __init__(self) -> None:
        self.recording = True
        self.opened: list[str] = []
        self.writes: list[str] = []

    def install(self) -> None:
        sys.addaudithook(self._hook)  # for the rest of the process: hooks cannot be removed

    def clear(self) -> None:
        self.opened, self.writes = [], []

    def _hook(self, event: str, args: tuple) -> None:
        if not self.recording:
            return
        if event == "open":
            path, mode, flags = (list(args) + [None, None])[:3]
            name = f"<fd {path}>" if isinstance(path, int) else os.fsdecode(path)
            self.opened.append(os.path.abspath(name) if not name.startswith("<") else name)
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & _WRITE_FLAGS
            )
            if writing:
                self.writes.append(f"open {name} {mode or flags}")
        elif event in WRITE_EVENTS:
            self.writes.append(f"{event} {args[0] if args else ''}")


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM belongs to the address space that execve
    made; ru_maxrss would carry over the parent's peak (getrusage(2): preserved across execve)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cap_memory(limit: int = MEMORY_CAP_BYTES) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _main(report_path: str, argv: list[str]) -> None:
    fd = os.open(report_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    cap_memory()
    audit = Audit()
    audit.install()
    start = time.perf_counter()
    code: int | str | None = 0
    try:
        from wikikit.cli import cli

        cli.main(args=argv, prog_name="wikikit", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
    except BaseException as exc:  # noqa: BLE001 - e.g. a MemoryError under the cap: a failure
        code = f"{type(exc).__name__}"
    # Written after the except blocks, once the exception (and what its frames held) is gone.
    audit.recording = False  # the report's own reads (/proc/self/status) are not the command's
    try:
        report = {
            "exit": code if isinstance(code, int) else (0 if code is None else 1),
            "escaped": code if isinstance(code, str) else None,
            "seconds": time.perf_counter() - start,
            "max_rss_mb": peak_rss_mb(),
            "opened": sorted(set(audit.opened)),
            "writes": audit.writes,
        }
        data = json.dumps(report).encode()
    except MemoryError:  # what a runaway left behind still fills the capped address space
        data, report = b'{"exit": 1, "escaped": "MemoryError"}', {"exit": 1}
    os.write(fd, data)
    os.close(fd)
    sys.exit(report["exit"])


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2:])
