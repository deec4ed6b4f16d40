"""console.progress on a terminal: a rich bar on stderr (never stdout), then a summary line."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

SCRIPT = """
from wikikit import console
for i in console.progress(range(25), "demo step"):
    pass
print("RESULT")
"""


def _run_with_tty_stderr(*args: str) -> tuple[str, str]:
    master, slave = pty.openpty()
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args], stdout=subprocess.PIPE, stderr=slave, text=True
    )
    os.close(slave)
    err = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the pty reports EIO once the child side is closed and drained
            break
        if not chunk:
            break
        err += chunk
    os.close(master)
    assert proc.returncode == 0
    return proc.stdout, err.decode("utf-8", "replace")


def test_progress_bar_goes_to_stderr_and_ends_with_a_count():
    out, err = _run_with_tty_stderr()
    assert out == "RESULT\n"  # results on stdout stay clean of bar escape codes
    assert "25/25" in err  # the bar's M/N column was drawn on the terminal
    assert "demo step: 25 in " in err
