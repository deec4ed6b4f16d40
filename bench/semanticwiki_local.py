"""SemanticWiki in the loop, measured: the demo recipe's two local-mode sources on demo/shop.

- `sw_teacher`: the real client with the cached teacher behind wikikit's endpoint (offline);
- `sw_replay`: the real client with the demo DeepWiki pages replayed (crawled from the demo
  site on 127.0.0.1).

Prints, per source: client runs and wall time, exchanges per repository, seconds per exchange
(client wall time, indexing included, over the calls it made), references per page answer, and
the share of those references whose file (and line) the page prompt's code context shows.

    .venv/bin/python bench/semanticwiki_local.py [--runs 3]

Needs the client installed (`make setup`) or WIKIKIT_SEMANTICWIKI_TGZ.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

import wikikit  # noqa: E402,F401  (offline tokenizer before anything imports tiktoken)
from wikikit.bounded import read_jsonl  # noqa: E402
from wikikit.data.sources import SourceContext, semanticwiki  # noqa: E402
from wikikit.deepwiki.demo_site import DEFAULT_ROOT, serve_site  # noqa: E402
from wikikit.recipe.load import load_recipe  # noqa: E402


def run_once(name: str, base_url: str, cache: Path) -> dict:
    recipe = load_recipe(ROOT / "recipes" / "demo.yaml")
    config = recipe.data["data"]["sources"][name]
    if config["answerer"]["kind"] == "replay":
        deepwiki = {**config["answerer"]["deepwiki"], "base_url": base_url}
        config = {**config, "answerer": {**config["answerer"], "deepwiki": deepwiki}}
    ctx = SourceContext(recipe=recipe, cache_dir=cache, key_path=("data", "sources", name))
    started = time.monotonic()
    examples = list(semanticwiki.generate(name, config, ctx))
    (entry,) = ctx.artifacts[f"semanticwiki/{name}/recordings.json"].values()
    done = json.loads((cache / Path(entry["exchanges"]).parents[2] / "done.json").read_text())
    answer_s = [e["seconds"] for e in read_jsonl(cache / entry["exchanges"])]
    return {
        "stats": dict(ctx.stats[name]),
        "examples": examples,
        "answer_s": answer_s,
        "client_s": done["seconds"],
        "source_s": time.monotonic() - started,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh recordings per source")
    args = parser.parse_args()
    with serve_site(DEFAULT_ROOT) as base:
        for name in ("sw_teacher", "sw_replay"):
            per_exchange, walls, answering = [], [], []
            last = None
            for _ in range(args.runs):
                with tempfile.TemporaryDirectory() as tmp:  # no recording reused
                    last = run_once(name, base, Path(tmp))
                s = last["stats"]
                walls.append(last["client_s"])
                per_exchange.append(last["client_s"] / max(1, s["exchanges"]))
                answering += last["answer_s"]
            s = last["stats"]
            pages = [e for e in last["examples"] if e.category == "page"]
            refs = sum(e.meta["refs_total"] for e in pages)
            in_file = sum(e.meta["refs_file_in_context"] for e in pages)
            in_line = sum(e.meta["refs_line_in_context"] for e in pages)
            print(f"{name}: {s['repos']} repository, {s['client_passes']} client run(s)")
            print(
                f"  exchanges per repository: {s['exchanges']} "
                f"(plan {s.get('exchanges_plan', 0)}, page {s.get('exchanges_page', 0)}, "
                f"index {s.get('exchanges_index', 0)}); examples: {len(last['examples'])}"
            )
            print(
                f"  client wall time: median {statistics.median(walls):.2f} s over {args.runs} runs; "
                f"seconds per exchange: median {statistics.median(per_exchange):.3f}"
            )
            print(
                f"  of which answering (endpoint side): median {statistics.median(answering) * 1000:.1f} ms, "
                f"max {max(answering) * 1000:.1f} ms"
            )
            if pages:
                print(
                    f"  references per page: {refs / len(pages):.2f} ({refs} in {len(pages)} pages)"
                )
                print(
                    f"  references whose file the prompt shows: {in_file}/{refs} = {in_file / max(1, refs):.1%}; "
                    f"whose line it shows: {in_line}/{refs} = {in_line / max(1, refs):.1%}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
