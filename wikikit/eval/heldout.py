"""The held-out repos the eval stage works on, and the single-skill items built from them.

`eval.heldout.repos` maps each held-out repository (a name that `data.holdout` holds out of every
training source, checked here) to its checkout: a path or a git URL at a pinned commit, as any
repo spec in a recipe. The stage clones them into its cache and builds
`heldout/semanticwiki_page.jsonl`: `eval.heldout.items` SemanticWiki page prompts (default 200),
drawn round-robin over the repos (wikikit.semanticwiki.items), and `heldout/repos.json`
({repo: {root, commit}}) for scoring. Items are built by the eval stage, not the data stage, so
that changing how many there are re-runs the evaluation and never the training.

`eval.heldout.benchmark: codewikibench` adds the whole benchmark: every row of the dataset the
data stage read (its codewikibench source writes `data/codewikibench/rows.json`, {repo_name:
{commit_id}}), each checked out at its row's `commit_id` from its GitHub home
(wikikit.code.benchmark_repos); an `eval.heldout.repos` entry naming a row (in any form
data.holdout matches) gives that row's checkout instead, still at the row's commit unless it
pins its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wikikit import console
from wikikit.atomic import write_json, write_jsonl
from wikikit.code.holdout import Holdout
from wikikit.code.repo import Repo, is_git_url, open_repo
from wikikit.errors import InputError
from wikikit.stage import StageContext

DEFAULT_ITEMS = 200
ITEMS_FILE = "semanticwiki_page.jsonl"


ROWS_FILE = "codewikibench/rows.json"  # wikikit.data.sources.codewikibench.ROWS_ARTIFACT


def benchmark_rows(ctx: StageContext) -> dict[str, dict[str, Any]]:
    """{repo_name: {commit_id}} of every row the data stage's codewikibench source read."""
    import json

    path = ctx.run_dir / "data" / ROWS_FILE
    if not path.is_file():
        raise InputError(
            f"eval.heldout.benchmark: no {path} (the data stage writes it from a "
            "`kind: codewikibench` source: add one, weight 0, and run the data stage again)"
        )
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: not JSON ({e.msg} at {e.pos})") from None
    if not isinstance(rows, dict) or not rows:
        raise InputError(f"{path}: expected {{repo_name: {{commit_id}}}} with at least one row")
    return rows


def benchmark_specs(ctx: StageContext, specs: dict[str, Any]) -> dict[str, tuple[Any, str]]:
    """{name: (checkout spec, the recipe key that gave it)}: eval.heldout.repos, with every
    benchmark row added under its repo_name (an entry naming a row gives its checkout)."""
    from wikikit.code.benchmark_repos import BENCHMARK, benchmark_repo
    from wikikit.eval.codewikibench.report import not_judged

    out = {k: (v, f"repos.{k}") for k, v in specs.items()}
    name = (ctx.section.get("heldout") or {}).get("benchmark")
    if not name:
        return out
    if str(name).lower() != BENCHMARK:
        raise InputError(f"eval.heldout.benchmark: {BENCHMARK} is the one known, got {name!r}")
    rows = benchmark_rows(ctx)
    missing = not_judged(list(rows))
    if missing:
        console.warn(
            f"eval.heldout.benchmark: the data stage read {len(rows)} row(s); not among them "
            f"(not judged): {', '.join(missing)}"
        )
    for repo_name, row in sorted(rows.items()):
        commit = row.get("commit_id") if isinstance(row, dict) else None
        given = next((k for k in specs if Holdout([k]).matches(repo_name)), None)
        if given is not None:
            spec, key = _spec_dict(out.pop(given)[0]), f"repos.{given}"
        else:
            home = benchmark_repo(repo_name)
            if home is None:
                raise InputError(
                    f"eval.heldout.benchmark: row {repo_name!r} is not one of the benchmark's "
                    "repositories (wikikit.code.benchmark_repos): give its checkout in "
                    f"eval.heldout.repos.{repo_name}"
                )
            spec, key = {"url": home.url + ".git"}, "benchmark"
        if commit:
            spec.setdefault("commit", commit)
        out[repo_name] = (spec, key)
    return out


def _spec_dict(spec: Any) -> dict[str, Any]:
    if isinstance(spec, str):
        return {"url": spec} if is_git_url(spec) else {"path": spec}
    return dict(spec)


def heldout_names(section: dict[str, Any]) -> list[str]:
    """The held-out repositories a plan names (no data stage yet): the benchmark's 22 from
    wikikit.code.benchmark_repos, with eval.heldout.repos."""
    from wikikit.code.benchmark_repos import CODEWIKIBENCH_REPOS

    heldout = section.get("heldout") or {}
    names = list(heldout.get("repos") or {})
    if heldout.get("benchmark"):
        rows = [r.name for r in CODEWIKIBENCH_REPOS]
        names = rows + [n for n in names if not any(Holdout([n]).matches(r) for r in rows)]
    return sorted(names)


def heldout_repos(ctx: StageContext) -> dict[str, Repo]:
    """{name: checkout} of eval.heldout.repos (and the benchmark's rows with
    eval.heldout.benchmark), each confirmed as held out by data.holdout."""
    section = ctx.section.get("heldout") or {}
    specs = benchmark_specs(ctx, dict(section.get("repos") or {}))
    holdout = Holdout(ctx.recipe.get(("data", "holdout")) or [])
    repos: dict[str, Repo] = {}
    for name, (spec, key) in sorted(specs.items()):
        where = f"eval.heldout.{key}" + (f" ({name})" if key == "benchmark" else "")
        if not holdout.matches(name):
            raise InputError(
                f"{where}: not in data.holdout (items from a repo the model trains on are not "
                "held out); add it there"
            )
        spec = _spec_dict(spec)
        spec.setdefault("name", name)
        base = ctx.recipe.resolve_path(".", ("eval", "heldout", *key.split(".", 1)))
        repos[name] = open_repo(spec, base, ctx.cache_dir / "repos", label=where)
    return repos


def round_robin(per_repo: list[list[dict[str, Any]]], count: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    i = 0
    while len(out) < count and any(i < len(items) for items in per_repo):
        out += [items[i] for items in per_repo if i < len(items)][: count - len(out)]
        i += 1
    return out


def build_items(ctx: StageContext, out_dir: Path) -> Path | None:
    """Write heldout/ under out_dir; returns that folder, or None without held-out repos."""
    from wikikit.semanticwiki.items import items_from_repo

    repos = heldout_repos(ctx)
    if not repos:
        return None
    count = int((ctx.section.get("heldout") or {}).get("items", DEFAULT_ITEMS))
    per_repo = [items_from_repo(repo, count) for repo in repos.values()]
    items = round_robin(per_repo, count)
    folder = out_dir / "heldout"
    write_jsonl(folder / ITEMS_FILE, items)
    write_json(
        folder / "repos.json",
        {repo.name: {"root": str(repo.root), "commit": repo.commit} for repo in repos.values()},
    )
    console.info(
        f"eval: {len(items)} SemanticWiki page items from {len(repos)} held-out repo(s)"
        + (f" (asked for {count}: the repos have fewer pages)" if len(items) < count else "")
    )
    return folder
