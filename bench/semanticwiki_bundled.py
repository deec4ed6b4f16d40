"""The real client writing a whole wiki in bundled mode (--model-path), measured.

Runs wikikit.semanticwiki.client.run_client on a repository with a GGUF (default: the tiny
gpt-oss built on the spot, random weights, the real tokenizer; or a run's package/model.gguf)
and prints, from the recorded exchanges: calls per kind, seconds and generated tokens per page
(thinking included), tokens per second, and the whole run's wall time.

    .venv/bin/python bench/semanticwiki_bundled.py [--gguf runs/demo/package/model.gguf]
        [--repo demo/ledger] [--threads 1] [--seed 1]

Needs the client installed (`make setup`) or WIKIKIT_SEMANTICWIKI_TGZ. On a busy CPU keep
--threads 1: llama.cpp's threads wait for each other spinning.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

import wikikit  # noqa: E402,F401  (offline tokenizer before anything imports tiktoken)
from wikikit.bounded import read_jsonl  # noqa: E402
from wikikit.code.repo import open_repo  # noqa: E402
from wikikit.semanticwiki.client import ClientModel, run_client  # noqa: E402


def tiny_gguf(folder: Path) -> Path:
    from wikikit.package.gguf_convert import convert, find_converter
    from wikikit.train.tinymodel import make_tiny_model

    model = make_tiny_model(folder / "merged")
    out = folder / "model.gguf"
    convert(model, out, "f16", find_converter(None), folder / "convert.log")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--gguf", type=Path, help="default: the tiny gpt-oss, converted here")
    p.add_argument("--repo", type=Path, default=ROOT / "demo" / "ledger")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="sw-bundled-") as tmp:
        work = Path(tmp)
        gguf = a.gguf.resolve() if a.gguf else tiny_gguf(work / "tiny")
        repo = open_repo({"path": str(a.repo.resolve())}, work, work / "cache")
        run = run_client(repo, ClientModel("gguf", path=gguf), work / "run",
                         threads=a.threads, seed=a.seed)  # fmt: skip
        xs = read_jsonl(run.exchanges)
    pages = [x for x in xs if x["kind"] == "page"]
    seconds = [x["seconds"] for x in pages]
    tokens = [x["tokens"]["completion"] for x in pages]
    print(f"bundled run of {repo.id} with {gguf.name}, --threads {a.threads}, seed {a.seed}")
    print(f"  calls: {dict(Counter(x['kind'] for x in xs))}, client wall time {run.seconds:.1f} s")
    print(f"  per page: {statistics.mean(seconds):.1f} s, {statistics.mean(tokens):,.0f} tokens "
          f"generated ({sum(tokens) / sum(seconds):,.0f} tokens/s); limits reached: "
          f"{sum(x['stop_reason'] == 'maxTokens' for x in xs)} of {len(xs)} calls")  # fmt: skip
    for x in xs:
        print(f"    {x['kind']:5s} {x['seconds']:6.1f} s {x['tokens']['completion']:6,d} tokens "
              f"(limit {x['options']['max_tokens']:,}, {x['stop_reason']})")  # fmt: skip


if __name__ == "__main__":
    main()
