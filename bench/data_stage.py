"""Benchmark: 50,000 synthetic examples (~2 KB each) through the data pipeline.

Runs filters (secrets, length, markdown, require_refs), dedup (exact + MinHash LSH; the input
has planted exact copies and 5% word edits), mix, split, decontamination and harmony rendering.
Prints examples/second per step and overall, each step's CPU seconds (wall time on a shared
machine depends on the other jobs), peak memory (ru_maxrss) and a digest of every result
(kept/clustered indices, mix, splits, rendered texts), so that a faster version can show it
changes nothing. Usage: .venv/bin/python bench/data_stage.py [N]

Figures on this 2-core machine, same digest before and after: the per-text datasketch MinHash
loop took 18-104 s of dedup (27.5 s CPU for the whole run, 1.7 GB peak); the batched numpy
signatures take 2.5 s (7.2 s CPU for the whole run with decontamination, 0.58 GB peak).
"""

from __future__ import annotations

import hashlib
import random
import resource
import sys
import time

import wikikit  # noqa: F401
from wikikit.data.decontaminate import decontaminate, example_text
from wikikit.data.dedup import DEFAULTS as DEDUP
from wikikit.data.dedup import dedup
from wikikit.data.filters.length import MinCharsFilter
from wikikit.data.filters.markdown import MarkdownFilter
from wikikit.data.filters.references import RequireRefsFilter
from wikikit.data.filters.secrets import SecretsScrubber
from wikikit.data.mix import mix
from wikikit.data.render import HarmonyRenderer
from wikikit.data.split import split
from wikikit.example import Example, Message, Ref

WORDS = [
    f"{a}{b}"
    for a in ("re", "pro", "con", "de", "in", "ex", "trans", "sub")
    for b in (
        "quest",
        "cess",
        "fig",
        "ploy",
        "dex",
        "port",
        "form",
        "scribe",
        "ject",
        "tract",
        "vert",
        "mit",
        "duce",
        "pend",
        "sist",
        "spect",
        "tain",
        "vise",
        "struct",
        "sume",
    )
]
CATS = ["architecture", "component", "data_flow", "qa", "traceability"]
LANGS = ["python", "typescript", "go", "rust"]


def make(i: int, rng: random.Random) -> Example:
    words = " ".join(rng.choice(WORDS) for _ in range(230))
    answer = (
        f"## Component {i}\n\n{words}\n\n**Source:** [`src/m{i % 97}.py:{i % 50 + 1}-{i % 50 + 30}`]"
        f"(src/m{i % 97}.py#L{i % 50 + 1}-L{i % 50 + 30})\n\n```python\ndef f{i}():\n    return {i}\n```\n"
    )
    return Example(
        id=f"ex{i}",
        messages=[
            Message("user", f"Document component {i}."),
            Message("assistant", answer, thinking="Read it first."),
        ],
        source=["synthetic", "traceability", "jsonl"][i % 3],
        category=CATS[i % 5],
        language=LANGS[i % 4],
        repo=f"repo{i % 40}",
        refs=[Ref(f"src/m{i % 97}.py", i % 50 + 1, i % 50 + 30)],
    )


def main(n: int) -> None:
    rng = random.Random(0)
    examples = [make(i, rng) for i in range(n)]
    for i in range(0, n - 1, 50):  # plant some copies for dedup to find
        examples[i + 1].messages[1].content = examples[i].messages[1].content
    for i in range(25, n - 1, 50):  # and light edits (5% of words) for the MinHash LSH
        words = examples[i].messages[1].content.split(" ")
        for j in rng.sample(range(len(words)), len(words) // 20):
            words[j] = rng.choice(WORDS)
        examples[i + 1].messages[1].content = " ".join(words)
    size_kb = sum(len(e.assistant_text) for e in examples) / n / 1024
    print(f"{n} examples, {size_kb:.2f} KB assistant text each")
    timings = {}
    cpu = {}  # process CPU seconds: what the step costs when the machine is shared
    t_all, c_all = time.perf_counter(), time.process_time()

    t, c = time.perf_counter(), time.process_time()
    filters = [SecretsScrubber(), MinCharsFilter(200), MarkdownFilter(), RequireRefsFilter()]
    kept = [e for e in examples if not any(f.check(e) for f in filters)]
    timings["filters"] = time.perf_counter() - t
    cpu["filters"] = time.process_time() - c

    t, c = time.perf_counter(), time.process_time()
    dd = dedup([e.assistant_text for e in kept], **DEDUP)
    kept = [kept[i] for i in dd.kept]
    timings["dedup"] = time.perf_counter() - t
    cpu["dedup"] = time.process_time() - c

    t, c = time.perf_counter(), time.process_time()
    pools = {
        "real": [e for e in kept if e.source == "jsonl"],
        "synthetic": [e for e in kept if e.source == "synthetic"],
        "traceability": [e for e in kept if e.source == "traceability"],
    }
    m = mix(
        pools, {"real": 0.4, "synthetic": 0.5, "traceability": 0.1}, int(len(kept) * 0.6), seed=1
    )
    chosen = [pools[b][i] for b in pools for i in m.selected[b]]
    parts = split(
        chosen,
        {"train": 0.9, "validation": 0.05, "test": 0.05},
        1,
        ["language", "category", "source"],
        "repo",
    )
    timings["mix+split"] = time.perf_counter() - t
    cpu["mix+split"] = time.process_time() - c

    t, c = time.perf_counter(), time.process_time()
    held = [example_text(chosen[i]) for s in ("validation", "test") for i in parts[s]]
    dc_kept, dc_dropped = decontaminate([chosen[i] for i in parts["train"]], held)
    timings["decontaminate"] = time.perf_counter() - t
    cpu["decontaminate"] = time.process_time() - c

    t, c = time.perf_counter(), time.process_time()
    render = HarmonyRenderer()
    digest = hashlib.sha256()  # of every result, to show a faster version changes nothing
    chars = 0
    for e in examples:  # render all n, the worst case
        text = render(e)
        chars += len(text)
        digest.update(text.encode("utf-8"))
    timings["render (all n)"] = time.perf_counter() - t
    cpu["render (all n)"] = time.process_time() - c

    total = time.perf_counter() - t_all
    total_cpu = time.process_time() - c_all
    digest.update(repr((dd.kept, dd.clusters, m.selected, parts)).encode("utf-8"))
    digest.update(repr([(e.id, [x.content for x in e.messages]) for e in kept]).encode("utf-8"))
    for k, v in timings.items():
        print(f"  {k:16s} {v:7.2f} s  {n / v:10.0f} examples/s  (cpu {cpu[k]:6.2f} s)")
    print(
        f"dedup removed {dd.exact_removed} exact + {dd.near_removed} near; mixed {len(chosen)}; "
        f"split {[len(parts[s]) for s in ('train', 'validation', 'test')]}; rendered {chars / 1e6:.1f} M chars"
    )
    print(
        f"decontaminate: {len(parts['train'])} train against {len(held)} held-out, "
        f"{len(dc_dropped)} dropped"
    )
    print(f"results sha256 {digest.hexdigest()[:16]} (all but decontamination)")
    print(
        f"TOTAL {total:.2f} s (cpu {total_cpu:.2f} s) for {n} examples: {n / total:.0f} examples/s; "
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)
