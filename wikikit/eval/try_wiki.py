"""`wikikit try RUN_DIR -r REPO`: the real client writes a wiki for any repo with the run's model.

The model is the run's packaged GGUF (RUN_DIR/package/model.gguf), which SemanticWiki loads
itself (`--model-path`, as a user would), unless `--model` names another: a `.gguf`, an
OpenAI-compatible URL (`http://host:port/v1#name`) or `ollama:NAME`. The repository is a path or
a git URL, at `--commit` when given. The wiki lands in RUN_DIR/try/<repo>/wiki (or `--out`),
scored on the spot with the wiki metrics (no judge), and the command prints where its pages are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wikikit import console
from wikikit.atomic import write_json
from wikikit.code.repo import Repo, is_git_url, open_repo
from wikikit.errors import InputError
from wikikit.eval.codewikibench.bench import safe_name
from wikikit.eval.wiki import WikiScore, score_wiki
from wikikit.eval.wiki.pages import INDEX_PAGE
from wikikit.semanticwiki import client as client_api
from wikikit.semanticwiki.client import ClientModel, WikiRun


def packaged_model(run_dir: Path) -> ClientModel:
    from wikikit.eval.stage import package_ggufs

    package = run_dir / "package"
    found = package_ggufs(package)
    if len(found) != 1:
        raise InputError(
            f"{run_dir}: {len(found) or 'no'} GGUF files under {package}; run the package "
            "stage first (wikikit package RECIPE) or pass --model"
        )
    return ClientModel("gguf", path=found[0].resolve())


@dataclass
class Tried:
    repo: Repo
    run: WikiRun
    score: WikiScore
    out_dir: Path


def try_wiki(
    run_dir: Path,
    repo_spec: str,
    *,
    commit: str | None = None,
    out: Path | None = None,
    model: str | None = None,
    timeout_s: float | None = None,
    threads: int | None = None,
    seed: int | None = None,
    run_client: Callable[..., WikiRun] | None = None,
) -> Tried:
    run_dir = Path(run_dir).absolute()
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: no such run directory")
    target = ClientModel.parse(model, "--model") if model else packaged_model(run_dir)
    # looked up on the module each time, so the client can be replaced (tests, other installs)
    client = run_client or client_api.run_client
    spec: dict[str, Any] = {"url": repo_spec} if is_git_url(repo_spec) else {"path": repo_spec}
    if commit:
        spec["commit"] = commit
    repo = open_repo(spec, Path.cwd(), run_dir / "cache" / "try", label="-r")
    out_dir = Path(out).absolute() if out else run_dir / "try" / safe_name(repo.name)
    console.info(
        f"try: SemanticWiki documents {repo.id} with {target.describe()} "
        "(minutes on a CPU; it prints its progress)"
    )
    run = client(repo, target, out_dir, timeout_s=timeout_s, threads=threads, seed=seed)
    score = score_wiki(run.wiki_dir, repo, run.exchanges, log=run.log)
    record = score.record(repo, target.describe(), run.seconds, run.calls)
    record["retrieval"] = run.retrieval  # the client's code search (retrieval.py)
    write_json(out_dir / "scores.json", record)
    return Tried(repo, run, score, out_dir)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


def summary(t: Tried) -> list[str]:
    """What `wikikit try` prints: where the pages are, then how they score."""
    s = t.score.as_dict()
    lines = [f"wiki: {t.run.wiki_dir} ({len(t.score.pages)} pages, {t.run.seconds:.0f} s)"]
    lines += [f"  {t.run.wiki_dir / p}" for p in t.score.pages]
    refs = t.score.ratios["refs_resolved"][1]
    lines.append(
        f"files: references right {_pct(s['refs_right'])} of {refs}, resolving {_pct(s['refs_resolved'])}; "
        f"Mermaid valid {_pct(s['mermaid_valid'])}; links resolving {_pct(s['links'])}; "
        f"pages with their H1 {_pct(s['h1'])}"
    )
    lines += raw_summary(s)
    if s.get("seconds_per_page") is not None:
        tokens = s.get("tokens_per_page")
        lines.append(
            f"cost: {s['seconds_per_page']:.1f} s"
            + (f" and {tokens:.0f} tokens" if tokens is not None else "")
            + f" per page, {s['retries']} retries"
        )
    lines.append(f"scores and problems: {t.out_dir / 'scores.json'}")
    if INDEX_PAGE in t.score.pages:
        lines.append(f"start reading: {t.run.wiki_dir / INDEX_PAGE}")
    return lines


def raw_summary(s: dict[str, Any]) -> list[str]:
    """The raw-answer scores (wikikit.eval.wiki.raw): what the model wrote, before the client
    retried, rewrote references and filled in linked pages."""
    if "raw_refs_right" not in s:
        return []
    return [
        f"model's answers: plan kept by the client {_pct(s.get('raw_plan_accepted'))}; planned "
        f"pages written {_pct(s.get('raw_pages_planned'))}, requested "
        f"{_pct(s.get('raw_pages_requested'))}; cut at the token limit "
        f"{_pct(s.get('raw_truncated'))}",
        f"model's answers: references right {_pct(s['raw_refs_right'])} (in the asked 📄 form "
        f"{_pct(s.get('raw_refs_form'))}); Mermaid valid {_pct(s.get('raw_mermaid_valid'))}; "
        f"links resolving before the client's completeness loop {_pct(s.get('raw_links'))}",
    ]
