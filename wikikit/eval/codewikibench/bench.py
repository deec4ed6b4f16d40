"""CodeWikiBench on held-out repos: several judges per wiki, combined, with their spread.

For each repository: every judge evaluates the rubric tree (judge.py); the judges' trees are
combined leaf by leaf by average (wikikit.eval.rubrics.combine_judges, which reproduces the
published combined scores from the benchmark's own judge files); the repository's score is the
combined tree's weighted mean, with CodeWikiBench's std; the judges' own scores and their spread
(min, max, sample std) show how far the judges agree. Across repositories the score is the mean,
with a bootstrap interval over repositories (wikikit.eval.stats).

Files, in CodeWikiBench's own layout so its tools read them: `<out>/<repo>/<judge>.json` (the
judged tree) and `<out>/<repo>/combined_evaluation_results.json` ({rubrics,
combination_metadata}); plus `<out>/summary.json`.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wikikit import console
from wikikit.atomic import write_json
from wikikit.errors import InputError
from wikikit.eval.codewikibench.docs import Docs
from wikikit.eval.codewikibench.judge import (
    UPSTREAM_ERROR_RULE,
    Converse,
    JudgeRun,
    JudgeSettings,
    judge_docs,
)
from wikikit.eval.rubrics import Node, combine_judges, iter_leaves, load_rubrics


@dataclass
class Judge:
    name: str
    converse: Converse


def safe_name(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name).strip("_") or "judge"


# What CodeWikiBench's judge runs with unless the recipe says otherwise: temperature 0
# (src/utils.py get_llm); room for a reasoning judge's thinking before its short verdict.
JUDGE_DEFAULTS = {"temperature": 0.0, "max_tokens": 8192}


def make_judges(
    configs: Sequence[dict[str, Any]],
    api_keys: Sequence[str | None],
    cache_path: Path | None,
    key_path: str = "eval.judges",
) -> list[Judge]:
    """wikikit teachers as judges, named by model (numbered when two share a model).

    The response cache is shared: its keys hold the provider, the model and the whole
    conversation, so judges never see each other's answers.
    """
    from wikikit.eval.codewikibench.judge import teacher_converse
    from wikikit.teachers import make_teacher, settings_from_config

    judges: list[Judge] = []
    names: list[str] = []
    for i, config in enumerate(configs):
        config = {**JUDGE_DEFAULTS, **{k: v for k, v in config.items() if k != "api_key"}}
        settings_from_config(config, f"{key_path}.{i}")  # errors name the judge's key path
        cache = Path(config.pop("cache")) if config.get("cache") else cache_path
        name = str(config["model"])
        name = name if name not in names else f"{name}-{i + 1}"
        names.append(name)
        key = api_keys[i] if i < len(api_keys) else None
        judges.append(
            Judge(name, teacher_converse(make_teacher(config, api_key=key, cache_path=cache)))
        )
    return judges


def _counted_as_one(trees: Sequence[Sequence[Node]]) -> float | None:
    """The combined score had failed leaves scored 1, as upstream scores them."""
    import copy

    filled = copy.deepcopy([list(t) for t in trees])
    for tree in filled:
        for _, leaf in iter_leaves(tree):
            if leaf.get("score") is None:
                leaf["score"] = 1
    return combine_judges(filled).overall_score


def judge_repo(
    repo: str,
    rubrics: Sequence[Node],
    docs: Docs,
    judges: Sequence[Judge],
    settings: JudgeSettings | None = None,
    out_dir: Path | None = None,
) -> dict[str, Any]:
    """Every judge on one repository's wiki; the combined result (and files when out_dir)."""
    if not judges:
        raise InputError("eval.judges: CodeWikiBench needs at least one judge")
    runs: dict[str, JudgeRun] = {}
    for judge in judges:
        console.info(
            f"codewikibench: {repo}: judge {judge.name} on {sum(1 for _ in iter_leaves(rubrics))} leaves"
        )
        runs[judge.name] = judge_docs(rubrics, docs, judge.converse, settings)
    combined = combine_judges([r.rubrics for r in runs.values()], "average")
    scores = [r.score for r in runs.values() if r.score is not None]
    result = {
        "repo": repo,
        "score": combined.overall_score,
        "std": combined.overall_std,
        "leaves": sum(1 for _ in iter_leaves(rubrics)),
        "excluded_leaves": combined.excluded_leaves,
        "judges": {
            name: {
                "score": r.score,
                "mode": r.mode,
                "judged": r.judged,
                "errors": len(r.errors),
                "retried": r.retried,
                "tool_calls": r.tool_calls,
                "requests": r.requests,
                "failed_leaves": r.errors,
            }
            for name, r in runs.items()
        },
        "judge_spread": {
            "min": min(scores) if scores else None,
            "max": max(scores) if scores else None,
            "std": statistics.stdev(scores) if len(scores) > 1 else 0.0,
        },
        "errors": sum(len(r.errors) for r in runs.values()),
        "score_if_errors_passed": _counted_as_one([r.rubrics for r in runs.values()]),
        "error_rule": UPSTREAM_ERROR_RULE,
    }
    if out_dir is not None:
        folder = out_dir / safe_name(repo)
        for name, r in runs.items():
            write_json(folder / f"{safe_name(name)}.json", r.rubrics)
        write_json(
            folder / "combined_evaluation_results.json",
            {"rubrics": combined.rubrics, "combination_metadata": combined.metadata()},
        )
    return result


def heldout_rubrics(rubrics_dir: Path, holdout: Any) -> dict[str, Path]:
    """{repo: rubrics file} for the held-out repos among the data stage's `rubrics/<repo>.json`
    (wikikit.data.sources.codewikibench writes `/` in a name as `__`); `holdout` is a
    wikikit.code.holdout.Holdout."""
    found = {}
    for path in sorted(Path(rubrics_dir).glob("*.json")):
        name = path.stem.replace("__", "/")
        if holdout.matches(name):
            found[name] = path
    return found


def judge_heldout(
    wikis: dict[str, tuple[Path, Docs]],
    judges: Sequence[Judge],
    settings: JudgeSettings | None = None,
    out_dir: Path | None = None,
) -> dict[str, Any]:
    """CodeWikiBench for held-out repos: {repo: (its rubrics file, its wiki as Docs)}.

    The rubrics files are the dataset's `rubrics` column as the data stage writes them
    (data/rubrics/<repo>.json). Returns a summary; writes it to out_dir/summary.json too.
    """
    from wikikit.eval.stats import bootstrap_mean

    per_repo = []
    for repo, (rubrics_path, docs) in sorted(wikis.items()):
        per_repo.append(
            judge_repo(repo, load_rubrics(rubrics_path), docs, judges, settings, out_dir)
        )
    scored = [r["score"] for r in per_repo if r["score"] is not None]
    summary = {
        "repos": per_repo,
        "judges": [j.name for j in judges],
        "score": bootstrap_mean(scored).as_dict() if scored else None,
        "errors": sum(r["errors"] for r in per_repo),
        "excluded_leaves": sum(r["excluded_leaves"] for r in per_repo),
        "error_rule": UPSTREAM_ERROR_RULE,
    }
    if out_dir is not None:
        write_json(out_dir / "summary.json", summary)
    return summary
