"""The dry run's bottom line for a recipe's teachers: calls, tokens, dollars and hours in all.

Each teacher source's own estimate (the semanticwiki source's and the synthetic source's, left
in the dry-run context as `estimate/<source>`) is summed here: calls, input and expected output
tokens, the expected dollars the recipe's way (batch + caching for the flagship) and the worst
case against each source's `max_usd`; divided by `data.size`, the teacher's dollars per example
of the dataset.

Hours, an estimate with its assumptions printed beside it:
- the client's runs: every semanticwiki recording (sources that share one count once) runs the
  client on each repository, TEACHER_RUNS times for a teacher answerer the first time (plan,
  then pages, then the index, then the finished pass: README, "SemanticWiki in the loop") and
  once for a replayed wiki, `client.parallel` repositories at a time, CLIENT_RUN_S each;
- the teacher's batches: in batch mode each round of deferred prompts is one Message Batch,
  which "most batches" finish "in less than 1 hour" and any within 24 hours (Anthropic's batch
  processing guide, platform.claude.com/docs/build-with-claude/batch-processing, read
  2026-12-07): 3 rounds for a SemanticWiki recording (plan, pages, index), and for a synthetic
  source as many as its items' requests follow one another (tool_use: 6).
"""

from __future__ import annotations

import json
import math
from typing import Any

from wikikit.teachers.estimate import LABELS, chosen_scenario

# Seconds of one client run on one repository: the slowest of bench/pool_yield.py's three
# (2026-12-07: the real client 1.2.1, a loopback teacher, 2 busy cores, indexing included;
# requests 19 plan files 42.7 s, jinja2 25 files 75.6 s, rich 100 files 99.2 s a run). The
# pool's large repositories index longer: the dry run says so.
CLIENT_RUN_S = 100.0
TEACHER_RUNS = 4
REPLAY_RUNS = 1
RECORDING_BATCH_ROUNDS = 3
BATCH_ROUND_H = 1.0
BATCH_ROUND_MAX_H = 24.0


def _recordings(sources: dict[str, Any], estimates: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per distinct SemanticWiki recording: its repositories, runs, parallel."""
    seen: dict[str, dict[str, Any]] = {}
    for name, cfg in sources.items():
        if not isinstance(cfg, dict) or cfg.get("kind") != "semanticwiki":
            continue
        answerer = cfg.get("answerer") or {}
        key = json.dumps(
            [answerer, cfg.get("client"), cfg.get("pool")], sort_keys=True, default=str
        )
        repos = int(estimates.get(f"repos/{name}") or 0)
        if key in seen or not repos:
            continue
        teacher = answerer.get("kind") == "teacher" and not (answerer.get("teacher") or {}).get(
            "offline"
        )
        seen[key] = {
            "source": name,
            "repos": repos,
            "runs": TEACHER_RUNS if teacher else REPLAY_RUNS,
            "parallel": max(1, int((cfg.get("client") or {}).get("parallel", 1))),
            "batch_rounds": RECORDING_BATCH_ROUNDS
            if teacher and (answerer.get("teacher") or {}).get("batch")
            else 0,
        }
    return list(seen.values())


def _synthetic_rounds(cfg: dict[str, Any]) -> int:
    from wikikit.synthetic.generators import GENERATORS

    if not (cfg.get("teacher") or {}).get("batch"):
        return 0
    cats = [c for c, n in (cfg.get("categories") or {}).items() if n and c in GENERATORS]
    return max((math.ceil(GENERATORS[c].requests) for c in cats), default=1)


def totals(sources: dict[str, Any], estimates: dict[str, Any]) -> dict[str, Any] | None:
    """The sum of the teacher estimates, the client and batch hours; None without a teacher."""
    parts = []
    for name in sources:
        e = estimates.get(f"estimate/{name}")
        if not e:
            continue
        scale = 1.0
        if e.get("stand_in") and e.get("items"):  # priced on a stand-in: scale to the request
            scale = e["requested"] / e["items"]
        chosen = chosen_scenario(e["batch"], e["prompt_cache"])
        parts.append(
            {
                "source": name,
                "calls": e["requests"] * scale,
                "input_tokens": e["input_tokens"] * scale,
                "output_tokens": e["expected_output_tokens"] * scale,
                "usd": e["expected_usd"][chosen] * scale,
                "worst_usd": e["worst_case_usd"] * scale,
                "max_usd": e.get("max_usd"),
                "way": LABELS[chosen],
                "guess": bool(e.get("stand_in") or e.get("uncloned")),
            }
        )
    if not parts:
        return None
    recordings = _recordings(sources, estimates)
    client_h = sum(
        r["runs"] * math.ceil(r["repos"] / r["parallel"]) * CLIENT_RUN_S / 3600 for r in recordings
    )
    rounds = sum(r["batch_rounds"] for r in recordings) + sum(
        _synthetic_rounds(sources[p["source"]])
        for p in parts
        if (sources.get(p["source"]) or {}).get("kind") == "synthetic"
    )
    return {
        "parts": parts,
        "calls": sum(p["calls"] for p in parts),
        "input_tokens": sum(p["input_tokens"] for p in parts),
        "output_tokens": sum(p["output_tokens"] for p in parts),
        "usd": sum(p["usd"] for p in parts),
        "worst_usd": sum(p["worst_usd"] for p in parts),
        "max_usd": sum(p["max_usd"] for p in parts if p["max_usd"] is not None),
        "over_budget": [
            p["source"] for p in parts if p["max_usd"] is not None and p["usd"] > p["max_usd"]
        ],
        "recordings": recordings,
        "client_hours": client_h,
        "batch_rounds": rounds,
        "hours": client_h + rounds * BATCH_ROUND_H,
        "hours_most": client_h + rounds * BATCH_ROUND_MAX_H,
        "guess": any(p["guess"] for p in parts),
    }


def total_lines(recipe: Any, s: dict[str, Any], estimates: dict[str, Any]) -> list[str]:
    """The bottom line of the dry run (nothing when no source asks a teacher)."""
    t = totals(s["sources"], estimates)
    if t is None:
        return []
    size = s.get("size")
    ways = sorted({p["way"] for p in t["parts"]})
    lines = [
        f"teacher, all sources: ~{t['calls']:,.0f} calls, ~{t['input_tokens'] / 1e6:,.1f}M input "
        f"+ ~{t['output_tokens'] / 1e6:,.1f}M output tokens, expected ${t['usd']:,.2f} "
        f"({' / '.join(ways)}; "
        + ", ".join(f"{p['source']} ${p['usd']:,.2f}" for p in t["parts"])
        + f"), worst case ${t['worst_usd']:,.2f}; "
        + (
            f"within the sources' max_usd (${t['max_usd']:,.2f} in all)"
            if not t["over_budget"]
            else f"OVER max_usd in {', '.join(t['over_budget'])}"
        )
        + ("; an estimate over repositories not cloned yet" if t["guess"] else "")
    ]
    if size:
        lines.append(
            f"teacher dollars per example: ${t['usd']:,.2f} for data.size {int(size):,} = "
            f"${t['usd'] / int(size):.4f} per example of the dataset "
            f"(${t['usd'] / max(t['calls'], 1):.4f} per teacher call)"
        )
    rec = ", ".join(
        f"{r['source']} {r['repos']} repositories x {r['runs']} run(s) / parallel {r['parallel']}"
        for r in t["recordings"]
    )
    lines.append(
        f"hours: ~{t['hours']:,.1f} expected (client ~{t['client_hours']:,.1f} h at "
        f"{CLIENT_RUN_S:.0f} s a run: {rec or 'no client runs'}; {t['batch_rounds']} batch "
        f"round(s) at ~{BATCH_ROUND_H:g} h, the usual), at most ~{t['hours_most']:,.0f} h if "
        f"every batch takes its {BATCH_ROUND_MAX_H:g} h; cloning and large repositories' "
        "indexing come on top"
    )
    return lines
