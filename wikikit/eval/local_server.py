"""A model server the eval stage starts on 127.0.0.1 for one block, and stops after it.

One loop for every server it launches (`python -m llama_cpp.server`, `vllm serve`): start the
argument list with its output in a log, poll a URL until the server says it is ready (or dies,
or the time is up: an error naming the log), yield, then terminate it and wait.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from wikikit.errors import WikikitError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _any_answer(_: Any) -> bool:
    return True


@contextlib.contextmanager
def serve(
    argv: Sequence[str],
    probe_url: str,
    log: Path,
    timeout_s: float,
    name: str,
    ready: Callable[[Any], bool] = _any_answer,
) -> Iterator[subprocess.Popen]:
    """Run `argv` until the block ends; `ready(response)` decides when it may be used."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise WikikitError(f"{name} exited with {proc.returncode}; see {log}")
            try:
                with urllib.request.urlopen(probe_url, timeout=2) as response:
                    if ready(response):
                        break
            except (OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise WikikitError(f"{name} not ready after {timeout_s:.0f}s; see {log}")
            time.sleep(0.5)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
