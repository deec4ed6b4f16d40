"""Mermaid validation speed: the persistent worker pool vs. a fresh Node process per diagram.

    .venv/bin/python bench/mermaid.py [--n 2000] [--per-process 12] [--deepwiki DIR] [--untouched]

Diagrams are typical wiki diagrams of 10-30 lines, all nine types SemanticWiki and DeepWiki use,
generated deterministically; with --deepwiki (default: ../shared's OpenHands pages when present)
the real DeepWiki blocks are timed too. Prints diagrams/second for each way and the ratio, and
diagrams per worker CPU-second (user + system time of the worker processes, from /proc), which
stays meaningful on a machine shared with other work where wall-clock rates do not. --untouched
also times workers on Mermaid's untouched code (WIKIKIT_MERMAID_FAST=0) for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wikikit.mermaid import extract_mermaid_blocks  # noqa: E402
from wikikit.mermaid.client import WORKER_JS, MermaidValidator  # noqa: E402

DEEPWIKI = ROOT.parent / "shared" / "fixtures" / "codewikibench" / "OpenHands" / "deepwiki" / "docs"


def typical_diagrams(n: int, seed: int = 0) -> list[str]:
    """n diagrams of 10-30 lines, cycling through the nine types."""
    rng = random.Random(seed)
    out = []
    for k in range(n):
        lines = rng.randint(10, 30)
        kind = k % 9
        if kind == 0:
            body = [
                f'    N{i}["Module {i}<br/>(pkg/m{i}.py)"] --> N{i + 1}[Step {i + 1}]'
                for i in range(lines - 3)
            ]
            out.append("\n".join(["flowchart TD", '  subgraph "Core"', *body, "  end"]))
        elif kind == 1:
            body = [f"  N{i} -->|call {i}| N{rng.randint(0, lines)}" for i in range(lines - 1)]
            out.append("\n".join(["graph LR", *body]))
        elif kind == 2:
            actors = ["User", "API", "Worker", "DB"]
            body = [
                f"  {actors[i % 4]}->>{actors[(i + 1) % 4]}: message {i}" for i in range(lines - 1)
            ]
            out.append("\n".join(["sequenceDiagram", *body]))
        elif kind == 3:
            body = []
            for i in range(max(1, (lines - 1) // 5)):
                body += [
                    f"  class C{i} {{",
                    "    +String name",
                    "    +run() void",
                    "  }",
                    f"  C{i} <|-- C{i + 1}",
                ]
            out.append("\n".join(["classDiagram", *body]))
        elif kind == 4:
            body = [f"  S{i} --> S{i + 1}: event {i}" for i in range(lines - 2)]
            out.append("\n".join(["stateDiagram-v2", "  [*] --> S0", *body]))
        elif kind == 5:
            body = [f"  E{i} ||--o{{ E{i + 1} : has" for i in range(lines - 1)]
            out.append("\n".join(["erDiagram", *body]))
        elif kind == 6:
            body = [
                f"  Task {i} :t{i}, 2024-01-{i % 28 + 1:02d}, {i % 5 + 1}d"
                for i in range(lines - 4)
            ]
            out.append(
                "\n".join(
                    ["gantt", "  title Plan", "  dateFormat YYYY-MM-DD", "  section Build", *body]
                )
            )
        elif kind == 7:
            body = [f'  "part {i}" : {rng.randint(1, 99)}' for i in range(lines - 1)]
            out.append("\n".join(["pie title Share", *body]))
        else:
            body = []
            for i in range((lines - 2) // 2):
                body += [f"    Topic{i}", f"      Detail{i}"]
            out.append("\n".join(["mindmap", "  root((wiki))", *body]))
    # A comment line makes every text unique, so no verdict is reused (the cache is off too).
    return [f"{text}\n%% diagram {k}" for k, text in enumerate(out)]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes used so far (Linux /proc), to see past a busy host."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def persistent_rate(
    texts: list[str], workers: int, env: dict[str, str] | None = None
) -> tuple[float, float, int, float]:
    """(startup seconds, diagrams/second after startup, invalid count, diagrams per worker
    CPU-second) through one pool."""
    validator = MermaidValidator(max_workers=workers, cache_size=0, extra_env=env)
    try:
        start = time.perf_counter()
        for slot in range(workers):
            validator.worker(slot)
        startup = time.perf_counter() - start
        warm_up = [f"{t}\n%% warm-up" for t in texts[: 64 * workers]]
        validator.validate(warm_up, timeout_s=60)  # Mermaid loads each diagram type on first use
        pids = [validator.worker(slot).pid for slot in range(workers)]
        cpu = cpu_seconds(pids)
        start = time.perf_counter()
        results = validator.validate(texts, timeout_s=60)
        rate = len(texts) / (time.perf_counter() - start)
        per_cpu = len(texts) / max(cpu_seconds(pids) - cpu, 1e-9)
        return startup, rate, sum(not r.ok for r in results), per_cpu
    finally:
        validator.close()


def per_process_rate(texts: list[str]) -> float:
    """A fresh `node worker.mjs` per diagram (load Mermaid, parse one, exit)."""
    start = time.perf_counter()
    for k, text in enumerate(texts):
        request = json.dumps({"id": k, "text": text}) + "\n"
        proc = subprocess.run(
            ["node", str(WORKER_JS)],
            input=request,
            capture_output=True,
            text=True,
            cwd=WORKER_JS.parent,
            check=True,
        )
        answers = [json.loads(line) for line in proc.stdout.splitlines()]
        assert answers[-1]["id"] == k, answers
    return len(texts) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="diagrams through the persistent pool")
    parser.add_argument(
        "--per-process", type=int, default=12, help="diagrams for the fresh-process baseline"
    )
    parser.add_argument(
        "--deepwiki", type=Path, default=DEEPWIKI, help="folder of DeepWiki markdown pages"
    )
    parser.add_argument(
        "--untouched",
        action="store_true",
        help="also time Mermaid's untouched code (WIKIKIT_MERMAID_FAST=0)",
    )
    args = parser.parse_args()

    texts = typical_diagrams(args.n)
    mean_lines = sum(t.count("\n") + 1 for t in texts) / len(texts)
    cores = os.cpu_count() or 1
    print(f"{len(texts)} typical diagrams, 9 types, mean {mean_lines:.1f} lines; {cores} cores")
    print(f"load average now: {os.getloadavg()[0]:.1f}")

    baseline = per_process_rate(texts[: args.per_process])
    print(
        f"fresh node process per diagram: {baseline:8.1f} diagrams/s  ({args.per_process} diagrams)"
    )
    best = 0.0
    for workers in sorted({1, min(2, cores), min(4, cores)}):
        startup, rate, invalid, per_cpu = persistent_rate(texts, workers)
        best = max(best, rate)
        print(
            f"persistent pool, {workers} worker(s):  {rate:8.1f} diagrams/s  "
            f"(startup {startup:.1f}s, {invalid} invalid, {per_cpu:.0f} per worker CPU-second)"
            f"  = {rate / baseline:.0f}x the per-process rate"
        )
    print(f"best persistent / per-process ratio: {best / baseline:.0f}x")
    if args.untouched:
        _, rate, invalid, per_cpu = persistent_rate(texts, 1, {"WIKIKIT_MERMAID_FAST": "0"})
        print(
            f"untouched Mermaid, 1 worker:       {rate:8.1f} diagrams/s  "
            f"({invalid} invalid, {per_cpu:.0f} per worker CPU-second)"
        )

    if args.deepwiki.is_dir():
        blocks = [
            b.text
            for p in sorted(args.deepwiki.glob("*.md"))
            for b in extract_mermaid_blocks(p.read_text())
        ]
        lines = sorted(t.count("\n") + 1 for t in blocks)
        repeated = [f"{t}\n%% copy {k}" for k in range(4) for t in blocks]
        for workers in sorted({1, min(2, cores)}):
            _, rate, invalid, per_cpu = persistent_rate(repeated, workers)
            print(
                f"DeepWiki blocks ({len(blocks)} x4, median {lines[len(lines) // 2]} lines), "
                f"{workers} worker(s): {rate:.1f} diagrams/s ({per_cpu:.0f} per worker "
                f"CPU-second), {invalid // 4} of {len(blocks)} invalid"
            )


if __name__ == "__main__":
    main()
