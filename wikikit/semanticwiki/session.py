"""The real client writing wikis with an answerer behind it, pass after pass, every call recorded.

A *pass* is one run of the client on one repository with its own endpoint
(wikikit.semanticwiki.endpoint) in front of the job's answerer. An answerer that defers calls
(the teacher, see wikikit.semanticwiki.answerers) leaves `pending` exchanges; `record()` then
calls `settle()` (which answers the deferred prompts in one batch) and runs the passes of the
repositories that had pending calls again, until none is pending, nothing more could be
answered, or `max_passes` is reached. The last pass of each repository is its result: every
call of that run, answered.

Each pass has its own folder (`<work>/<job>/pass-<n>/`): `record/requests.jsonl` (every HTTP
request as received), `record/exchanges.jsonl`, `client/client.log` and the wiki the client
wrote in `client/wiki/`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wikikit import console
from wikikit.semanticwiki.client import DEFAULT_MODEL_NAME, ClientRun, run_generate
from wikikit.semanticwiki.endpoint import Answerer, OllamaEndpoint
from wikikit.semanticwiki.install import ClientInstall
from wikikit.semanticwiki.retrieval import Retrieval, detect

__all__ = ["DEFAULT_MODEL_NAME", "Job", "PassResult", "Recording", "record", "run_pass"]


@dataclass
class Job:
    key: str  # a folder-safe name, unique among the jobs
    repo_root: Path
    answerer: Answerer


@dataclass
class PassResult:
    job: Job
    number: int
    folder: Path
    run: ClientRun
    exchanges: list[dict[str, Any]]
    requests: int
    retrieval: Retrieval | None = None  # what the client's code search really was (retrieval.py)

    @property
    def pending(self) -> int:
        return sum(1 for e in self.exchanges if e["status"] == "pending")


@dataclass
class Recording:
    """Each job's last pass, and how many passes and client seconds it took."""

    results: dict[str, PassResult] = field(default_factory=dict)
    passes: dict[str, int] = field(default_factory=dict)
    client_seconds: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # jobs whose pass raised: why


def run_pass(
    install: ClientInstall,
    job: Job,
    folder: Path,
    *,
    number: int = 1,
    model: str = DEFAULT_MODEL_NAME,
    timeout_s: float = 3600.0,
    skip_index: bool = False,
) -> PassResult:
    """One client run on `job.repo_root` against a fresh endpoint in front of `job.answerer`."""
    if folder.exists():
        shutil.rmtree(folder)  # a pass starts from nothing: same inputs, same prompts
    begin = getattr(job.answerer, "begin_pass", None)
    if begin is not None:
        begin()
    with OllamaEndpoint(job.answerer, model, folder / "record") as endpoint:
        run = run_generate(
            install,
            job.repo_root,
            folder / "client",
            host=endpoint.url,
            model=model,
            timeout_s=timeout_s,
            skip_index=skip_index,
        )
    found = detect(run.log, run.output_dir)
    return PassResult(job, number, folder, run, list(endpoint.exchanges), endpoint.requests, found)


def record(
    install: ClientInstall,
    jobs: list[Job],
    work: Path,
    *,
    settle: Callable[[], int] | None = None,
    max_passes: int = 8,
    parallel: int = 1,
    wave: int | None = None,
    model: str = DEFAULT_MODEL_NAME,
    timeout_s: float = 3600.0,
    skip_index: bool = False,
    on_pass: Callable[[PassResult], None] | None = None,
    on_done: Callable[[PassResult, int, float], None] | None = None,
) -> Recording:
    """Run every job's passes (see the module docstring), `wave` jobs at a time (default: all),
    `parallel` clients at a time. `on_done(result, passes, client_seconds)` is called once per
    job as soon as it needs no further pass, so a caller can mark it finished before the rest
    of the wave (or the run) is."""
    out = Recording()
    size = max(1, wave or len(jobs) or 1)
    for start in range(0, len(jobs), size):
        _record_wave(
            install, jobs[start : start + size], Path(work), out, settle, max_passes,
            parallel, model, timeout_s, skip_index, on_pass, on_done,
        )  # fmt: skip
    return out


def _record_wave(
    install, jobs, work, out, settle, max_passes, parallel, model, timeout_s, skip_index,
    on_pass, on_done,
) -> None:  # fmt: skip
    """One wave: pass 1 of every job, settle (one teacher batch for the whole wave), the next
    pass of the jobs still pending, ... A job leaves the wave (on_done) when its pass left
    nothing pending, its client failed, or the teacher could answer nothing more."""
    todo = list(jobs)

    def finish(result: PassResult) -> None:
        key = result.job.key
        if on_done is not None:
            on_done(result, out.passes[key], out.client_seconds[key])

    def one(job: Job, n: int) -> PassResult | None:
        try:
            return run_pass(
                install, job, work / job.key / f"pass-{n}", number=n,
                model=model, timeout_s=timeout_s, skip_index=skip_index,
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - one repository's failure must not end the run
            out.errors[job.key] = f"{type(exc).__name__}: {exc}"[:500]
            return None

    for number in range(1, max_passes + 1):
        with ThreadPoolExecutor(max(1, parallel), "semanticwiki-client") as pool:
            futures = {pool.submit(one, job, number): job for job in todo}
            results = []
            for future in as_completed(futures):
                result = future.result()
                if result is None:
                    continue
                key = result.job.key
                out.results[key] = result
                out.errors.pop(key, None)
                out.passes[key] = number
                out.client_seconds[key] = out.client_seconds.get(key, 0.0) + result.run.seconds
                if on_pass is not None:
                    on_pass(result)
                if not (result.pending and result.run.ok):
                    finish(result)  # marked now, while the others of the pass still run
                else:
                    results.append(result)
        # Keep the jobs' order: the next pass runs them in the recipe's order.
        pending = {r.job.key: r for r in results}
        todo = [job for job in todo if job.key in pending]
        if not todo:
            return
        last = number == max_passes or settle is None
        if not last:
            console.info(
                f"semanticwiki: pass {number}: {sum(r.pending for r in results)} calls deferred "
                f"in {len(todo)} repositories; asking the teacher"
            )
            last = settle() == 0
        if last:
            for job in todo:
                finish(pending[job.key])  # still pending: not complete, the caller decides
            return
