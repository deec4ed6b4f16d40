"""Real-world baseline for the eval metrics: DeepWiki's own OpenHands pages, and the
CodeWikiBench combination reproduced from the three judges' files.

    .venv/bin/python bench/eval_baseline_deepwiki.py [../shared/fixtures/codewikibench/OpenHands]

Without the OpenHands checkout the references cannot be resolved, so traceability reports its
coverage part (sections carrying a reference) and how many references give a line range.
"""

from __future__ import annotations

import sys
from pathlib import Path

from wikikit.code.refs import parse_refs
from wikikit.eval.metrics import ratio, share
from wikikit.eval.metrics.completeness import score_completeness
from wikikit.eval.metrics.traceability import blank_code, score_traceability
from wikikit.eval.rubrics import combine_files

JUDGES = ("gemini-2.5-flash", "gpt-oss-120b", "kimi-k2-instruct")


def main(root: Path) -> None:
    pages = {}
    for f in sorted(
        (root / "deepwiki/docs").glob("content_*.md"), key=lambda p: int(p.stem.split("_")[1])
    ):
        first, _, body = f.read_text(encoding="utf-8").partition("\n")
        pages[first.split("-", 1)[0]] = body  # "3.1-Agent Controller" -> page id 3.1
    coverage, ranged = [], []
    for body in pages.values():
        coverage.append(score_traceability(body, {}).coverage)
        refs = parse_refs(blank_code(body), include_unranged=True)
        ranged.append((sum(r.ranged for r in refs), len(refs)))
    print(f"pages: {len(pages)}")
    print(
        f"traceability coverage (sections with a reference): {ratio(coverage):.4f} "
        f"({sum(h for h, _ in coverage)}/{sum(t for _, t in coverage)})"
    )
    print(
        f"references with a line range: {ratio(ranged):.4f} ({sum(h for h, _ in ranged)}/{sum(t for _, t in ranged)})"
    )
    try:
        from wikikit.eval.metrics.mermaid import score_mermaid

        ms = [score_mermaid(body) for body in pages.values()]
        print(
            f"mermaid: pages with a diagram {ratio(m.has_diagram for m in ms):.4f}, blocks parsing "
            f"{ratio(m.parse_rate for m in ms):.4f} ({sum(m.parse_rate[0] for m in ms)}/{sum(m.parse_rate[1] for m in ms)})"
        )
        for page, m in zip(pages, ms, strict=True):
            for e in m.errors:
                print(f"  page {page}: {e}")
    except ImportError as e:
        print(f"mermaid: not measured ({e})")
    c = score_completeness(pages)
    print(
        f"completeness: {c.completeness:.4f} (links {share(c.links):.4f} {c.links}, "
        f"pages with references {share(c.referenced):.4f} {c.referenced})"
    )
    for p in c.problems:
        print(f"  {p}")
    for system in ("codewiki", "deepwiki"):
        folder = root / system / "evaluation_results"
        r = combine_files([folder / f"{j}.json" for j in JUDGES])
        print(
            f"codewikibench {system}: {r.overall_score:.4f} ± {r.overall_std:.4f} (3 judges, average)"
        )


if __name__ == "__main__":
    default = Path(__file__).resolve().parents[2] / "shared/fixtures/codewikibench/OpenHands"
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
