"""Python side of the Mermaid worker: start it lazily, stream diagrams to it, survive its death.

One `NodeWorker` is one `node worker.mjs` process speaking JSON lines. `MermaidValidator` keeps a
small pool of them (one per core, started as batches need them), splits a batch across the pool,
and for each worker pipelines every request at once (a writer thread feeds stdin while the caller
reads results, so neither pipe can fill up and deadlock). Results come back in request order, so
"no answer within timeout_s of the previous one" means the current diagram hangs the parser: the
worker is killed, that diagram is reported as a timeout, and the rest go to a fresh worker. A
worker that dies mid-batch is restarted and the diagram it was on is tried once more.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from wikikit import children
from wikikit.errors import WikikitError

HERE = Path(__file__).resolve().parent
WORKER_JS = HERE / "worker.mjs"
NODE_MODULES = HERE / "node_modules"

DEFAULT_TIMEOUT_S = 10.0
STARTUP_TIMEOUT_S = 60.0
# Below this many diagrams per worker, starting another process (~1 s) costs more than it saves.
MIN_PER_WORKER = 64

# Result.kind values.
OK = "ok"
UNKNOWN_TYPE = "unknown_type"
PARSE_ERROR = "parse_error"
EMPTY = "empty"
UNTERMINATED_FENCE = "unterminated_fence"
TIMEOUT = "timeout"
WORKER_CRASH = "worker_crash"


@dataclass(frozen=True)
class Result:
    """Mermaid's verdict on one diagram.

    `diagram_type` is Mermaid's own id ("flowchart-v2", "sequence", "classDiagram", "er", ...;
    None when no type was recognised); `error_line` is the 1-based diagram line Mermaid names;
    `kind` says which failure it is (see the constants above).
    """

    ok: bool
    diagram_type: str | None
    error_line: int | None
    message: str
    kind: str


def failure(
    kind: str, message: str, diagram_type: str | None = None, line: int | None = None
) -> Result:
    return Result(ok=False, diagram_type=diagram_type, error_line=line, message=message, kind=kind)


def unavailable_reason() -> str | None:
    """Why the worker cannot start here (node missing, npm ci not run), or None."""
    if shutil.which("node") is None:
        return "mermaid validator unavailable: `node` (Node.js >= 20) is not on PATH"
    if not (NODE_MODULES / "mermaid" / "package.json").is_file():
        return f"mermaid validator unavailable: {NODE_MODULES} is missing; run `make setup` (npm ci in wikikit/mermaid)"
    return None


class _Died(Exception):
    """The worker process exited or closed stdout."""


class NodeWorker:
    """One `node worker.mjs` process."""

    def __init__(self, extra_env: dict[str, str] | None = None):
        reason = unavailable_reason()
        if reason:
            raise WikikitError(reason)
        env = {**os.environ, **(extra_env or {})}
        self.proc = children.popen(
            [shutil.which("node") or "node", str(WORKER_JS)],
            cwd=HERE,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
            encoding="utf-8",
            bufsize=1 << 16,
        )
        self._responses: queue.Queue[dict | None] = queue.Queue()
        self._stderr: deque[str] = deque(maxlen=20)
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        self._next_id = 0
        try:
            ready = self._responses.get(timeout=STARTUP_TIMEOUT_S)
        except queue.Empty:
            ready = None
        if not ready or not ready.get("ready"):
            self.kill()
            tail = " | ".join(self._stderr_lines()[-3:])
            raise WikikitError(f"mermaid worker failed to start{': ' + tail if tail else ''}")
        self.mermaid_version: str = ready.get("mermaid", "")
        self.fast: bool = bool(ready.get("fast"))

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self._responses.put(json.loads(line))
            except json.JSONDecodeError:
                continue  # not protocol: ignore rather than misattribute
        self._responses.put(None)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line.rstrip())

    def _stderr_lines(self) -> list[str]:
        time.sleep(0.05)  # let the reader catch the last lines of a dying process
        return [line for line in self._stderr if line.strip()]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def request(self, payload: dict, timeout_s: float = DEFAULT_TIMEOUT_S) -> dict:
        """Send one raw request line and wait for its answer (tests use {"op": "stats"})."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(payload) + "\n")
        self.proc.stdin.flush()
        answer = self._responses.get(timeout=timeout_s)
        if answer is None:
            raise _Died()
        return answer

    def run(self, texts: Sequence[str], timeout_s: float) -> tuple[list[dict], str | None]:
        """Validate `texts` in order. Returns the answers it got, and why it stopped early:
        None (all answered), "timeout" (the next text got no answer in time) or "died"."""
        first_id = self._next_id
        self._next_id += len(texts)
        lines = [json.dumps({"id": first_id + k, "text": t}) + "\n" for k, t in enumerate(texts)]
        threading.Thread(target=self._write_all, args=(lines,), daemon=True).start()
        answers: list[dict] = []
        while len(answers) < len(texts):
            try:
                answer = self._responses.get(timeout=timeout_s)
            except queue.Empty:
                return answers, TIMEOUT
            if answer is None or answer.get("id") != first_id + len(answers):
                return answers, "died"
            answers.append(answer)
        return answers, None

    def _write_all(self, lines: list[str]) -> None:
        assert self.proc.stdin is not None
        try:
            for line in lines:
                self.proc.stdin.write(line)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass  # the worker died or was killed; the reader side reports it

    def kill(self) -> None:
        children.stop(self.proc, grace_s=0)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass

    def close(self) -> None:
        """Ask the worker to exit (stdin EOF), killing it if it does not."""
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
            self.proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired, ValueError):
            pass
        self.kill()


def _from_answer(answer: dict) -> Result:
    return Result(
        ok=bool(answer.get("ok")),
        diagram_type=answer.get("type"),
        error_line=answer.get("line"),
        message=answer.get("message") or "",
        kind=answer.get("kind") or PARSE_ERROR,
    )


class MermaidValidator:
    """A pool of Mermaid workers. Thread-safe; `close()` stops them (also done at exit)."""

    def __init__(
        self,
        max_workers: int | None = None,
        extra_env: dict[str, str] | None = None,
        cache_size: int = 10_000,
    ):
        self.max_workers = max_workers or max(1, min(os.cpu_count() or 1, 4))
        self.extra_env = extra_env
        # Verdicts by diagram text: generated datasets repeat diagrams (variants of one page,
        # the same overview in several answers). Timeouts and crashes are never cached.
        self.cache_size = cache_size
        self._cache: OrderedDict[str, Result] = OrderedDict()
        self.parsed = 0  # diagrams sent to a worker (cache hits and repeats are not)
        self._workers: list[NodeWorker | None] = [None] * self.max_workers
        self._lock = threading.Lock()
        self.restarts = 0  # workers replaced after a death or a timeout

    def worker(self, slot: int = 0) -> NodeWorker:
        """The live worker in `slot`, started if needed (raises WikikitError if it cannot be)."""
        w = self._workers[slot]
        if w is None or not w.alive():
            if w is not None:
                w.kill()
                self.restarts += 1
            w = self._workers[slot] = NodeWorker(self.extra_env)
        return w

    def validate(
        self, diagrams: Sequence[str], timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> list[Result]:
        results: list[Result | None] = [None] * len(diagrams)
        with self._lock:  # one batch at a time: each worker's stream is in-order
            first_seen: dict[str, int] = {}
            todo = []
            for i, text in enumerate(diagrams):
                if not text.strip():
                    results[i] = failure(EMPTY, "empty mermaid block")
                elif text in self._cache:
                    self._cache.move_to_end(text)
                    results[i] = self._cache[text]
                elif text not in first_seen:
                    first_seen[text] = i
                    todo.append(i)
            self.parsed += len(todo)
            if todo:
                n = max(1, min(self.max_workers, len(todo) // MIN_PER_WORKER))
                chunks = [todo[k::n] for k in range(n)]
                if n == 1:
                    self._run_slot(0, chunks[0], diagrams, timeout_s, results)
                else:
                    with ThreadPoolExecutor(n) as pool:
                        jobs = [
                            pool.submit(self._run_slot, k, chunk, diagrams, timeout_s, results)
                            for k, chunk in enumerate(chunks)
                        ]
                        for job in jobs:
                            job.result()
            for i in todo:
                result = results[i]
                if (
                    self.cache_size
                    and result is not None
                    and result.kind not in (TIMEOUT, WORKER_CRASH)
                ):
                    self._cache[diagrams[i]] = result
                    if len(self._cache) > self.cache_size:
                        self._cache.popitem(last=False)
            for i, text in enumerate(diagrams):  # repeats within this batch
                if results[i] is None and text in first_seen:
                    results[i] = results[first_seen[text]]
        return _fill(results)

    def _run_slot(
        self,
        slot: int,
        indices: list[int],
        diagrams: Sequence[str],
        timeout_s: float,
        results: list,
    ) -> None:
        pending = deque(indices)
        crashed: set[int] = set()  # diagrams that were current when a worker died once already
        while pending:
            worker = self.worker(slot)
            answers, stop = worker.run([diagrams[i] for i in pending], timeout_s)
            for answer in answers:
                results[pending.popleft()] = _from_answer(answer)
            if stop is None:
                continue
            worker.kill()  # hung or dead: the next loop starts a fresh one
            current = pending[0]
            if stop == TIMEOUT:
                pending.popleft()
                results[current] = failure(
                    TIMEOUT, f"no answer from the Mermaid parser within {timeout_s:g}s"
                )
            elif current in crashed:
                pending.popleft()
                results[current] = failure(
                    WORKER_CRASH, "the Mermaid worker died twice on this diagram"
                )
            else:
                crashed.add(current)

    def close(self) -> None:
        with self._lock:
            for k, w in enumerate(self._workers):
                if w is not None:
                    w.close()
                    self._workers[k] = None


def _fill(results: list[Result | None]) -> list[Result]:
    # Every index is answered, timed out or marked crashed by _run_slot; this only narrows the type.
    return [r or failure(WORKER_CRASH, "no result") for r in results]
