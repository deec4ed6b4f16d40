"""A model server the eval stage starts on 127.0.0.1 for one block, and stops after it.

One loop for every server it launches (`python -m llama_cpp.server` here, `vllm serve` in
wikikit.eval.vllm): start the argument list with its output in a log, poll a URL until the
server says it is ready (or dies, or the time is up: an error naming the log), yield, then
terminate it and wait.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from wikikit import children
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
        proc = children.popen(list(argv), stdout=out, stderr=subprocess.STDOUT)
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
        children.stop(proc, grace_s=30)


SERVED_ALIAS = "model"  # the name llama.cpp's server answers to (--model_alias)


@contextlib.contextmanager
def llama_cpp_server(gguf: str, n_ctx: int, log: Path, timeout_s: float = 300) -> Iterator[str]:
    """`python -m llama_cpp.server` for one GGUF on 127.0.0.1; yields its OpenAI base URL
    (`.../v1`), the model served as `model`."""
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        raise WikikitError(
            "serving a GGUF needs llama-cpp-python[server] (make setup installs it)"
        ) from None
    port = free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", gguf, "--host", "127.0.0.1",
           "--port", str(port), "--n_ctx", str(n_ctx), "--model_alias", SERVED_ALIAS,
           # the server keeps n_ctx x vocab logits by default (~26 GB at 32k x 201k): evaluation
           # only generates, so keep a batch's worth
           "--logits_all", "false"]  # fmt: skip
    with serve(cmd, f"http://127.0.0.1:{port}/v1/models", log, timeout_s, "llama.cpp server"):
        yield f"http://127.0.0.1:{port}/v1"
