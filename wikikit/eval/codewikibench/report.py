"""CodeWikiBench over the whole benchmark: per repository, per language group and overall, each
with a 95% bootstrap interval over repositories, the paired difference fine-tuned minus base, and
the published systems (CodeWiki, DeepWiki) beside them on the same repositories.

The published systems' per-repository scores are computed from the benchmark's own files: each
repository's `<system>/evaluation_results/combined_evaluation_results.json` (the judges'
combined rubric tree; layout as in ../shared/fixtures/codewikibench/OpenHands, copied from
FSoft-AI4Code/CodeWikiBench's data folder), scored bottom-up by weight (wikikit.eval.rubrics,
which reproduces the file's own `combination_metadata.overall_score`). They are then aggregated
exactly as the models' scores are. The paper's headline figures (CodeWiki 68.79%, DeepWiki
64.06%, as issue 24 quotes them) are reported as such, never recomputed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from wikikit.code.benchmark_repos import benchmark_repo
from wikikit.errors import InputError
from wikikit.eval.rubrics import load_rubrics, score_nodes
from wikikit.eval.stats import DEFAULT_ITERATIONS, bootstrap_mean, paired_difference

SYSTEMS = {"CodeWiki": "codewiki", "DeepWiki": "deepwiki"}  # column -> folder per repository
RESULTS_FILE = "evaluation_results/combined_evaluation_results.json"
PAPER = {"CodeWiki": 0.6879, "DeepWiki": 0.6406}  # the paper's headline, as issue 24 quotes it
OTHER = "other"  # a repository outside wikikit.code.benchmark_repos


def language_of(repo: str) -> str:
    """The benchmark's language group of a repository (any name form), else `other`."""
    row = benchmark_repo(repo)
    return row.language if row is not None else OTHER


def published_scores(folder: Path, repos: Sequence[str]) -> dict[str, dict[str, Any]]:
    """{system: {repo: {score, file}}} for the repos whose published file is in `folder`
    (`<folder>/<repo_name>/<codewiki|deepwiki>/evaluation_results/...`)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"eval.heldout.published: no such folder: {folder}")
    names = {p.name: p for p in folder.iterdir() if p.is_dir()}
    out: dict[str, dict[str, Any]] = {column: {} for column in SYSTEMS}
    for repo in repos:
        row = benchmark_repo(repo)
        here = next(
            (names[n] for n in (repo, row.name if row else None, repo.rsplit("/", 1)[-1])
             if n in names),
            None,
        )  # fmt: skip
        if here is None:
            continue
        for column, sub in SYSTEMS.items():
            path = here / sub / RESULTS_FILE
            if path.is_file():
                score = score_nodes(load_rubrics(path)).score
                out[column][repo] = {"score": score, "file": str(path)}
    return out


def not_judged(repos: Sequence[str]) -> list[str]:
    """The benchmark's repositories (wikikit.code.benchmark_repos) none of `repos` names."""
    from wikikit.code.benchmark_repos import CODEWIKIBENCH_REPOS

    return [r.name for r in CODEWIKIBENCH_REPOS if not any(benchmark_repo(x) == r for x in repos)]


def _mean(values: Sequence[float], iterations: int, seed: int) -> dict[str, Any]:
    return bootstrap_mean(values, iterations=iterations, seed=seed).as_dict()


def language_groups(repos: Sequence[str]) -> dict[str, list[str]]:
    """{"overall": every repo, language group: its repos}, groups in the benchmark's order."""
    from wikikit.code.benchmark_repos import CODEWIKIBENCH_REPOS

    order = list(dict.fromkeys(r.language for r in CODEWIKIBENCH_REPOS)) + [OTHER]
    by: dict[str, list[str]] = {}
    for repo in repos:
        by.setdefault(language_of(repo), []).append(repo)
    return {"overall": list(repos), **{g: by[g] for g in order if g in by}}


def _paired(scores: Mapping[str, Mapping[str, float]], members: Sequence[str], iterations: int,
            seed: int) -> Any:  # fmt: skip
    """pair(a, b): b minus a, paired over the members both have, as a dict (None if none)."""

    def pair(a: str, b: str) -> dict[str, Any] | None:
        both = [r for r in members if r in scores[a] and r in scores[b]]
        if not both:
            return None
        return paired_difference(
            [(scores[a][r], 1.0) for r in both],
            [(scores[b][r], 1.0) for r in both],
            iterations,
            seed,
        ).as_dict()

    return pair


def benchmark_report(
    judged: Mapping[str, Mapping[str, Any]],
    published: Mapping[str, Mapping[str, Any]] | None = None,
    iterations: int = DEFAULT_ITERATIONS,
    seed: int = 0,
    whole: bool = False,
) -> dict[str, Any]:
    """`judged`: {model label: judge_heldout summary}; `published`: published_scores' answer;
    `whole`: the eval meant the whole benchmark (its rows missing here are named).

    Every column (each model, each published system) is aggregated over the repositories the
    fine-tuned model was judged on (the first label when there is no `fine-tuned`)."""
    labels = list(judged)
    tuned = "fine-tuned" if "fine-tuned" in judged else labels[0]
    scores: dict[str, dict[str, float]] = {
        label: {r["repo"]: r["score"] for r in s["repos"] if r.get("score") is not None}
        for label, s in judged.items()
    }
    repos = sorted(r["repo"] for r in judged[tuned]["repos"])
    for column, found in (published or {}).items():
        scores[column] = {r: v["score"] for r, v in found.items() if v.get("score") is not None}
    columns = list(scores)
    groups = language_groups(repos)
    report: dict[str, Any] = {
        "not_judged": not_judged(repos) if whole else [],
        "repos": [
            {"repo": r, "language": language_of(r), **{c: scores[c].get(r) for c in columns}}
            for r in repos
        ],
        "columns": columns,
        "groups": {},
        "published_files": {
            c: {r: v["file"] for r, v in found.items()} for c, found in (published or {}).items()
        },
        "paper": dict(PAPER),
        "bootstrap": {"iterations": iterations, "seed": seed, "over": "repositories"},
    }
    for group, members in groups.items():
        row: dict[str, Any] = {"repos": len(members)}
        for c in columns:
            values = [scores[c][r] for r in members if r in scores[c]]
            row[c] = _mean(values, iterations, seed) if values else None
        pair = _paired(scores, members, iterations, seed)
        if "base" in scores and tuned != "base":
            d = pair("base", tuned)
            if d is not None:
                row["difference"] = d
        versus = {c: pair(c, tuned) for c in (published or {})}
        row["versus"] = {c: d for c, d in versus.items() if d is not None}
        report["groups"][group] = row
    return report


def _cell(x: Mapping[str, Any] | None, signed: bool = False) -> str:
    if not x or x.get("value") is None:
        return ""
    f = "{:+.4f}" if signed else "{:.4f}"
    if x.get("low") is None:
        return f.format(x["value"]) + f" (n={x['n']}, no interval)"
    return f"{f.format(x['value'])} [{f.format(x['low'])}, {f.format(x['high'])}] (n={x['n']})"


def report_markdown(report: Mapping[str, Any]) -> str:
    """results.md's CodeWikiBench section: groups with intervals, then every repository."""
    columns = report["columns"]
    diff = any("difference" in g for g in report["groups"].values())
    head = ["group", "repos", *columns] + (["fine-tuned minus base"] if diff else [])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for group, g in report["groups"].items():
        cells = [group, str(g["repos"]), *(_cell(g.get(c)) for c in columns)]
        if diff:
            cells.append(_cell(g.get("difference"), signed=True))
        lines.append("| " + " | ".join(cells) + " |")
    against = [
        c for c in SYSTEMS if any(c in g.get("versus", {}) for g in report["groups"].values())
    ]
    if against:
        head = ["group", *(f"fine-tuned minus {c}" for c in against)]
        lines += ["", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for group, g in report["groups"].items():
            cells = [group, *(_cell(g["versus"].get(c), signed=True) for c in against)]
            lines.append("| " + " | ".join(cells) + " |")
    head = ["repo", "language", *columns]
    lines += ["", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in report["repos"]:
        cells = [r["repo"], r["language"]]
        cells += ["" if r.get(c) is None else f"{r[c]:.4f}" for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        "Each group's value is the mean over its repositories with a 95% percentile-bootstrap "
        "interval over repositories; each difference is a paired bootstrap over the repositories "
        "both columns have (n)."
    )
    files = report.get("published_files") or {}
    for column in SYSTEMS:
        if column in files:
            lines.append(
                f"{column}'s scores are computed from the benchmark's own files "
                f"({len(files[column])} repositories): "
                + ", ".join(f"`{p}`" for _, p in sorted(files[column].items()))
            )
    missing = report.get("not_judged") or []
    if missing:
        lines.append(
            f"Not judged: {len(missing)} of the benchmark's 22 repositories "
            f"({', '.join(missing)}): the overall figures are over the others only."
        )
    lines.append(
        "The paper's headline figures, quoted as such (its own judging; not recomputed here): "
        + ", ".join(f"{k} {100 * v:.2f}%" for k, v in report["paper"].items())
        + "."
    )
    return "\n".join(lines) + "\n"
