"""Teacher throughput: requests/second through the real SDK against a local server that adds
fixed latency per request. Ideal = concurrency / latency (16 / 0.2 s = 80 req/s).

    .venv/bin/python bench/teacher.py [--provider openai|anthropic|ollama|all] [--requests 400]
        [--concurrency 16] [--latency 0.2]

With --batch, the requests go through the batch API instead (anthropic, openai): the figure is
wikikit's own cost of a batch round (building, uploading, polling once, reading and caching the
results) per request, since the server answers at once.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from teacher_fakes import FakeTeacherServer  # noqa: E402

import wikikit  # noqa: E402,F401  (offline tokenizer before anything imports tiktoken)
from wikikit.teachers import TeacherRequest, TeacherResponse, make_teacher  # noqa: E402


def serve(latency: float, conn) -> None:
    """The server runs in its own process, as a real API would: it must not share our GIL."""
    with FakeTeacherServer(latency_s=latency) as srv:
        conn.send(srv.url)
        conn.recv()  # until told to stop


def bench(provider: str, n: int, concurrency: int, latency: float, batch: bool = False) -> float:
    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.Process(target=serve, args=(latency, child), daemon=True)
    proc.start()
    url = parent.recv()
    try:
        return _bench(url, provider, n, concurrency, batch)
    finally:
        parent.send("stop")
        proc.join(5)


def _bench(url: str, provider: str, n: int, concurrency: int, batch: bool = False) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        teacher = make_teacher(
            {
                "provider": provider,
                "model": "bench-model",
                "base_url": url + "/v1" if provider == "openai" else url,
                "concurrency": concurrency,
                "max_tokens": 256,
                "batch": batch,
                "batch_poll_s": 0.01,
                "batch_max_requests": 100_000,
            },
            api_key="bench-key",
            cache_path=Path(tmp) / "teacher.sqlite",  # cache writes are part of the real path
        )
        reqs = [TeacherRequest.of([("user", f"request {i}: explain module {i}")]) for i in range(n)]
        # warm-up: SDK import, client and connection set-up are not throughput
        teacher.complete_many([TeacherRequest.of([("user", "warm-up")])])
        start = time.perf_counter()
        out = teacher.complete_many(reqs)
        elapsed = time.perf_counter() - start
        ok = sum(isinstance(o, TeacherResponse) for o in out)
        assert ok == n, f"{n - ok} requests failed"
    return n / elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--provider", default="all")
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--batch", action="store_true", help="through the batch API")
    a = ap.parse_args()
    ideal = a.concurrency / a.latency
    providers = ["openai", "anthropic", "ollama"] if a.provider == "all" else [a.provider]
    if a.batch:
        for p in [x for x in providers if x != "ollama"]:
            rps = bench(p, a.requests, a.concurrency, 0.0, batch=True)
            print(
                f"{p:9s} batch {rps:8.1f} req/s ({1000 / rps:.2f} ms of wikikit's time per "
                f"request; {a.requests} requests in one batch)"
            )
        return
    for p in providers:
        rps = bench(p, a.requests, a.concurrency, a.latency)
        print(
            f"{p:9s} {rps:6.1f} req/s  ({rps / ideal:.0%} of ideal {ideal:.0f} req/s; "
            f"{a.requests} requests, concurrency {a.concurrency}, {a.latency * 1000:.0f} ms latency)"
        )


if __name__ == "__main__":
    main()
