"""What a full flagship evaluation costs: judge calls and tokens, and GPU time. Run by hand:

    .venv/bin/python bench/eval_cost.py [--repos 1] [--pages 25] [--page-tokens 3000]
        [--decode-tps 150] [--batch-tps 3000] [--tool-calls 2] [--judges 3] [--items 200]

Measured here, on the real artefacts in ../shared/fixtures: the OpenHands rubric's leaves, the
judge's prompts in tokens (gpt-oss tokenizer) for a real wiki (DeepWiki's 20 OpenHands pages, in
CodeWikiBench's own docs_tree / structured_docs), a SemanticWiki page item's prompt, and the
judge loop's own overhead. Estimated from the flags (printed as assumptions): how many pages the
client writes per repo, tokens per page, decode speed on one GPU, tool calls per leaf.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from wikikit.code.repo import Repo
from wikikit.eval.codewikibench.docs import load_docs, read_sections
from wikikit.eval.codewikibench.judge import (
    SYSTEM,
    TOOL_SYSTEM,
    JudgeSettings,
    first_prompt,
    judge_docs,
)
from wikikit.eval.rubrics import iter_leaves, load_rubrics
from wikikit.semanticwiki.items import PAGE_SYSTEM, items_from_repo
from wikikit.tokens import count_tokens

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures" / "codewikibench" / "OpenHands"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--fixtures", type=Path, default=FIXTURES)
    p.add_argument("--repos", type=int, default=1, help="held-out repos (the flagship holds out 1)")
    p.add_argument("--pages", type=int, default=25, help="pages per wiki (SemanticWiki asks for "
                   "max(5, min(25, ceil(source files / 8))): 25 for a repo of 200+ files)")  # fmt: skip
    p.add_argument(
        "--page-tokens", type=int, default=3000, help="generated per page, thinking included"
    )
    p.add_argument(
        "--decode-tps",
        type=float,
        default=150.0,
        help="one stream (the client writes pages one by one)",
    )
    p.add_argument(
        "--batch-tps", type=float, default=3000.0, help="vLLM, batched, for the single-skill items"
    )
    p.add_argument("--hf-tps", type=float, default=25.0, help="transformers generate, batch 1")
    p.add_argument("--tool-calls", type=float, default=2.0, help="page-reader calls per leaf")
    p.add_argument("--judges", type=int, default=3)
    p.add_argument("--items", type=int, default=200, help="semanticwiki_page items per model")
    a = p.parse_args()

    rubrics = load_rubrics(a.fixtures / "rubrics" / "combined_rubrics.json")
    leaves = [t for t, _ in iter_leaves(rubrics)]
    docs = load_docs(a.fixtures / "deepwiki")
    tool_first = count_tokens(SYSTEM + TOOL_SYSTEM) + count_tokens(
        first_prompt(leaves[0][-1], docs, "tool", 1)
    )
    answers = [
        count_tokens(read_sections(docs, [["subpages", i, "content"]], 10**9))
        for i in range(len(docs.structured["subpages"]))
    ]
    one_answer = statistics.median(answers)
    whole = count_tokens(SYSTEM) + count_tokens(first_prompt(leaves[0][-1], docs, "whole", 1))
    print("measured (OpenHands, DeepWiki's 20 pages in CodeWikiBench's files):")
    print(f"  rubric leaves: {len(leaves)}")
    print(f"  tool mode: first prompt {tool_first:,} tokens; one page read back {one_answer:,.0f} "
          f"tokens (median; largest {max(answers):,})")  # fmt: skip
    print(f"  whole mode: {whole:,} tokens per leaf prompt")

    # the judge loop's own overhead: every leaf, three judges, a reply that reads one page first
    def converse(batch):
        return [
            '{"tool": "docs_navigator", "paths": [["subpages", 0, "content"]]}'
            if len(turns) == 1 else '{"score": 1, "reasoning": "", "evidence": ""}'
            for _, turns, _ in batch
        ]  # fmt: skip

    start = time.perf_counter()
    for _ in range(a.judges):
        judge_docs(rubrics, docs, converse, JudgeSettings(tool_tokens=16_000))
    print(f"  judge loop overhead ({a.judges} judges x {len(leaves)} leaves, no model): "
          f"{time.perf_counter() - start:.2f} s")  # fmt: skip
    shop = items_from_repo(Repo(ROOT / "demo" / "shop", "shop"))
    item_tokens = statistics.median(
        count_tokens(PAGE_SYSTEM) + count_tokens(i["user"]) for i in shop
    )
    print(f"  a SemanticWiki page item prompt: {item_tokens:,.0f} tokens (median, demo/shop)")

    turns = 1 + a.tool_calls
    calls = len(leaves) * a.judges * turns
    # each turn resends the conversation: the first prompt plus the pages read so far
    judge_in = len(leaves) * a.judges * sum(tool_first + k * one_answer for k in range(int(turns)))
    judge_out = len(leaves) * a.judges * turns * 300
    whole_in = len(leaves) * a.judges * whole
    print(f"\nestimated, per held-out repo (assumptions: {a.tool_calls:g} tool calls per leaf, "
          f"~300 output tokens per judge turn, a wiki the size of DeepWiki's):")  # fmt: skip
    print(f"  judge calls: {calls:,.0f} ({a.judges} judges x {len(leaves)} leaves x {turns:g} turns), "
          f"plus retries of failed leaves")  # fmt: skip
    print(f"  judge tokens, tool mode: {judge_in / 1e6:.1f}M in, {judge_out / 1e6:.2f}M out; "
          f"whole mode: {whole_in / 1e6:.1f}M in ({len(leaves) * a.judges} calls, one shared "
          "prefix per judge: prompt caching bills most of it at the cached rate)")  # fmt: skip
    gen_s = a.pages * a.page_tokens / a.decode_tps
    print(f"  the client's wiki per model: {a.pages} pages x {a.page_tokens} tokens at "
          f"{a.decode_tps:g} tok/s = {gen_s / 60:.0f} min (+ plan, index, retries, its CPU indexing)")  # fmt: skip
    items_tokens = a.items * a.page_tokens
    print("\nestimated, whole flagship eval on one GPU (base and fine-tuned):")
    print(
        f"  wikis: {a.repos} repo(s) x 2 models x {gen_s / 60:.0f} min = {2 * a.repos * gen_s / 3600:.1f} h"
    )
    print(f"  semanticwiki_page: {a.items} items x 2 models x {a.page_tokens} tokens: "
          f"vLLM at {a.batch_tps:g} tok/s {2 * items_tokens / a.batch_tps / 60:.0f} min, "
          f"hf generate at {a.hf_tps:g} tok/s {2 * items_tokens / a.hf_tps / 3600:.1f} h")  # fmt: skip
    print(
        f"  CodeWikiBench: {a.repos * calls * 2:,.0f} judge calls for both models "
        f"({a.repos * 2 * judge_in / 1e6:.0f}M input tokens in tool mode), on the judges' APIs"
    )
    print(json.dumps({"leaves": len(leaves), "tool_first_prompt_tokens": tool_first,
                      "page_read_tokens_median": one_answer, "whole_prompt_tokens": whole,
                      "judge_calls_per_repo": calls}))  # fmt: skip


if __name__ == "__main__":
    main()
