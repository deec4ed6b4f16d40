"""`eval.heldout.benchmark: codewikibench`: every row of a local CodeWikiBench-format dataset
judged, per repository, per language group and overall with intervals, beside the published
systems, with the paired difference and a gate on the interval's lower end.

Four rows in two language groups (graphrag and rasa: Python; json and electron: C++), each a
local git repository checked out at its row's commit_id; the client is a stand-in that writes a
planted wiki (no model), the judge a loopback server that passes a criterion when the wiki names
it. Every figure is computed again here, independently of wikikit.eval.stats.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from codewikibench_data import TINY_DOCS, docs_tree_of, write_dataset
from git_fixtures import commit_all, init_repo
from teacher_fakes import FakeTeacherServer, last_user_text

from wikikit.code.holdout import Holdout
from wikikit.data.sources import SourceContext
from wikikit.data.sources.codewikibench import generate
from wikikit.errors import InputError, WikikitError
from wikikit.eval import stage as evaluate
from wikikit.recipe.load import load_recipe
from wikikit.semanticwiki import client
from wikikit.stage import StageContext

CRITERIA = ["alphaword", "bravoword", "charlieword", "deltaword"]
RUBRICS = {"rubrics": [{"requirements": c, "weight": 1} for c in CRITERIA]}
# how many criteria each model's wiki names, per repository (so its score is n / 4)
PLANTED = {
    "graphrag": {"tuned": 4, "base": 2},
    "rasa": {"tuned": 3, "base": 1},
    "json": {"tuned": 2, "base": 2},
    "electron": {"tuned": 1, "base": 0},
}
LANGUAGE = {"graphrag": "Python", "rasa": "Python", "json": "C++", "electron": "C++"}
# published leaf scores (equal weights): CodeWiki for all four, DeepWiki for three
PUBLISHED = {
    "CodeWiki": {"graphrag": [1, 1, 0, 0.5], "rasa": [1, 0, 0, 0], "json": [1, 1, 1, 0],
                 "electron": [0.5, 0.5, 1, 0]},
    "DeepWiki": {"graphrag": [1, 0, 0, 0], "rasa": [1, 1, 0, 0], "json": [0, 0, 1, 0]},
}  # fmt: skip
SYSTEM_FOLDER = {"CodeWiki": "codewiki", "DeepWiki": "deepwiki"}
ITERS, SEED = 500, 3


def boot_mean(values: list[float]) -> tuple[float, float | None, float | None]:
    """Percentile bootstrap of a mean over repositories, written out here (none from one)."""
    v = np.array(values, dtype=float)
    if len(v) < 2:
        return float(v.mean()), None, None
    idx = np.random.default_rng(SEED).integers(0, len(v), size=(ITERS, len(v)))
    low, high = np.percentile(v[idx].mean(axis=1), [2.5, 97.5])
    return float(v.mean()), float(low), float(high)


def boot_paired(base: list[float], tuned: list[float]) -> tuple[float, float, float]:
    b, t = np.array(base), np.array(tuned)
    idx = np.random.default_rng(SEED).integers(0, len(b), size=(ITERS, len(b)))
    low, high = np.percentile(t[idx].mean(1) - b[idx].mean(1), [2.5, 97.5])
    return float(t.mean() - b.mean()), float(low), float(high)


def fake_client(repo, target, folder: Path, **_kwargs) -> client.WikiRun:
    """The client's stand-in: a planted wiki naming the first n criteria for this model."""
    n = PLANTED[repo.name]["tuned" if target.name == "tuned" else "base"]
    wiki = folder / "wiki"
    wiki.mkdir(parents=True, exist_ok=True)
    (wiki / "index.md").write_text(f"# {repo.name}\n\nThe wiki of {repo.name}.\n")
    body = "\n".join(f"- the {c} part" for c in CRITERIA[:n]) or "- nothing yet"
    (wiki / "overview.md").write_text(f"# Overview\n\n## Parts\n\n{body}\n")
    (folder / "exchanges.jsonl").write_text("")
    (folder / "client.log").write_text("")
    return client.WikiRun(wiki, folder / "exchanges.jsonl", folder / "client.log", 1.0, 0,
                          folder / "exchanges.jsonl")  # fmt: skip


def judge(api: str, body: dict) -> str:
    text = last_user_text(body)
    crit = re.search(r'Criterion: "(.*?)"', text)[1]
    docs = text.split("Evaluate this criterion", 1)[0]
    return json.dumps({"criteria": crit, "score": int(crit in docs), "reasoning": "planted",
                       "evidence": ""})  # fmt: skip


def write_repo(root: Path, name: str) -> tuple[str, str]:
    """A git repository with two commits; (the first, the second)."""
    root.mkdir(parents=True)
    init_repo(root)
    (root / "main.py").write_text(f"def {name.replace('-', '_')}():\n    return 1\n")
    first = commit_all(root, "first")
    (root / "later.py").write_text("def later():\n    return 2\n")
    return first, commit_all(root, "second")


def write_published(folder: Path) -> dict[str, dict[str, Path]]:
    files: dict[str, dict[str, Path]] = {}
    for column, per_repo in PUBLISHED.items():
        for repo, leaves in per_repo.items():
            path = folder / repo / SYSTEM_FOLDER[column] / "evaluation_results"
            path = path / "combined_evaluation_results.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            tree = [{"requirements": c, "weight": 1, "score": s}
                    for c, s in zip(CRITERIA, leaves, strict=True)]  # fmt: skip
            path.write_text(json.dumps({"rubrics": tree, "combination_metadata": {}}))
            files.setdefault(column, {})[repo] = path
    return files


@pytest.fixture
def bench(tmp_path, monkeypatch):
    """The data stage's part (the codewikibench source's artifacts) and the eval's recipe."""
    repos, pins = {}, {}
    for name in PLANTED:
        first, _second = write_repo(tmp_path / "repos" / name, name)
        repos[name], pins[name] = tmp_path / "repos" / name, first
    rows = [
        {"repo_name": name, "commit_id": pins[name], "docs_tree": json.dumps(docs_tree_of(TINY_DOCS)),
         "structured_docs": json.dumps(TINY_DOCS), "rubrics": json.dumps(RUBRICS)}
        for name in PLANTED
    ]  # fmt: skip
    dataset = write_dataset(tmp_path / "ds", rows)
    sctx = SourceContext(recipe=None, cache_dir=tmp_path / "cache",
                         key_path=("data", "sources", "cwb"), holdout=Holdout(["codewikibench"]))  # fmt: skip
    assert list(generate("cwb", {"kind": "codewikibench", "path": str(dataset)}, sctx)) == []
    run = tmp_path / "run"
    for rel, obj in sctx.artifacts.items():
        (run / "data" / rel).parent.mkdir(parents=True, exist_ok=True)
        (run / "data" / rel).write_text(json.dumps(obj))
    files = write_published(tmp_path / "published")
    monkeypatch.setattr(client, "run_client", fake_client)
    monkeypatch.setenv("WIKIKIT_TEST_JUDGE_KEY", "test-key")
    return {"tmp": tmp_path, "repos": repos, "pins": pins, "files": files, "run": run}


def stage(bench: dict, judges_url: str, gate: float, published: bool = True) -> StageContext:
    r = bench["repos"]
    # graphrag named as owner/name, json as a bare name: both give their row's checkout
    text = f"""wikikit: 1
name: bench
model: {{base: tiny}}
data:
  holdout: [codewikibench]
  mix: {{a: {{weight: 1, sources: [s]}}}}
  sources: {{s: {{kind: jsonl, paths: [x.jsonl]}}}}
eval:
  harness: semanticwiki
  compare_base: true
  semanticwiki: {{url: 'http://127.0.0.1:9/v1', model_name: tuned,
                 base: {{url: 'http://127.0.0.1:9/v1', model_name: base}}}}
  heldout:
    benchmark: codewikibench
    repos: {{microsoft/graphrag: {r["graphrag"]}, rasa: {r["rasa"]}, json: {r["json"]},
            electron: {{path: {r["electron"]}}}}}
{"    published: published" if published else ""}
  judging: {{mode: whole, attempts: 1}}
  judges: [{{provider: openai, model: judge-x, base_url: '{judges_url}',
            api_key: '${{WIKIKIT_TEST_JUDGE_KEY}}', max_attempts: 1, backoff_base_s: 0.01}}]
  bootstrap: {{iterations: {ITERS}, seed: {SEED}}}
  gates: {{codewikibench: {gate}}}
"""
    (bench["tmp"] / "r.yaml").write_text(text)
    run = bench["run"]
    return StageContext(load_recipe(bench["tmp"] / "r.yaml"), "eval", run, run / "eval",
                        run / "cache" / "eval")  # fmt: skip


def test_the_whole_benchmark_per_repo_language_and_overall_beside_the_published(bench):
    tuned = {r: PLANTED[r]["tuned"] / 4 for r in PLANTED}
    base = {r: PLANTED[r]["base"] / 4 for r in PLANTED}
    point = float(np.mean(list(tuned.values())))  # 0.625
    gate = 0.6  # the point value passes it, the interval's lower end does not
    assert boot_mean(list(tuned.values()))[1] < gate <= point
    missed = pytest.raises(WikikitError, match="codewikibench: lower end .* < 0.6")
    with FakeTeacherServer(judge) as judges, missed:
        evaluate.run_stage(stage(bench, judges.base_url("openai"), gate))
    out = bench["run"] / "eval"
    results = json.loads((out / "results.json").read_text())
    report = results["harness"]["benchmark"]
    # every row judged, named by its repo_name, at its row's commit_id (not the repo's head)
    rows = {row["repo"]: row for row in results["harness"]["repos"]["fine-tuned"]}
    assert sorted(rows) == sorted(f"{n}@{bench['pins'][n]}" for n in PLANTED)
    by_repo = {row["repo"]: row for row in report["repos"]}
    assert sorted(by_repo) == sorted(PLANTED)
    published = {c: {r: float(np.mean(v)) for r, v in per.items()} for c, per in PUBLISHED.items()}
    for name, row in by_repo.items():
        assert row["language"] == LANGUAGE[name]
        assert row["fine-tuned"] == pytest.approx(tuned[name])
        assert row["base"] == pytest.approx(base[name])
        assert row["CodeWiki"] == pytest.approx(published["CodeWiki"][name])
        assert row["DeepWiki"] == (
            pytest.approx(published["DeepWiki"][name]) if name in published["DeepWiki"] else None
        )
    groups = report["groups"]
    assert sorted(groups) == ["C++", "Python", "overall"]
    members = {"overall": list(PLANTED), "Python": ["graphrag", "rasa"], "C++": ["json", "electron"]}  # fmt: skip
    for group, names in members.items():
        g = groups[group]
        assert g["repos"] == len(names)
        for column, scores in (("fine-tuned", tuned), ("base", base), *published.items()):
            values = [scores[n] for n in sorted(names) if n in scores]
            value, low, high = boot_mean(values)
            assert (g[column]["value"], g[column]["low"], g[column]["high"]) == pytest.approx(
                (value, low, high)
            ), (group, column)
            assert g[column]["n"] == len(values)
        value, low, high = boot_paired([base[n] for n in sorted(names)],
                                       [tuned[n] for n in sorted(names)])  # fmt: skip
        d = groups[group]["difference"]
        assert (d["value"], d["low"], d["high"]) == pytest.approx((value, low, high))
        # fine-tuned minus each published system, paired over the repos that system has
        for column, scores in published.items():
            both = [n for n in sorted(names) if n in scores]
            value, low, high = boot_paired([scores[n] for n in both], [tuned[n] for n in both])
            v = groups[group]["versus"][column]
            assert v["n"] == len(both) and v["value"] == pytest.approx(value)
            if len(both) > 1:
                assert (v["low"], v["high"]) == pytest.approx((low, high))
    assert groups["overall"]["DeepWiki"]["n"] == 3  # only the repos whose files exist
    assert groups["C++"]["DeepWiki"]["low"] is None  # json alone: no interval from one
    # the gate read the overall interval: it failed on its lower end, its value passes
    (verdict,) = results["gates"]["verdicts"]
    assert verdict["gate"] == "codewikibench" and not verdict["passed"]
    assert verdict["interval"]["value"] == pytest.approx(point)
    assert verdict["interval"]["low"] == pytest.approx(groups["overall"]["fine-tuned"]["low"])
    md = (out / "results.md").read_text()
    assert "## CodeWikiBench" in md and "CodeWiki 68.79%, DeepWiki 64.06%" in md
    for path in [*bench["files"]["CodeWiki"].values(), *bench["files"]["DeepWiki"].values()]:
        assert f"`{path.resolve()}`" in md or f"`{path}`" in md
    assert "| C++ | 2 |" in md and "| electron | C++ |" in md
    assert "| group | fine-tuned minus CodeWiki | fine-tuned minus DeepWiki |" in md
    # the dataset here has 4 of the benchmark's 22 rows: the others are named as not judged
    assert len(report["not_judged"]) == 18 and "OpenHands" in report["not_judged"]
    assert "Not judged: 18 of the benchmark's 22 repositories (Chart.js," in md
    # the run report shows the same figures from results.json
    from wikikit.report.eval_section import _benchmark

    html = str(_benchmark(report))
    heads = re.findall(r"<th(?: [^>]*)?>(.*?)</th>", html)
    assert heads[:7] == ["group", "repos", "fine-tuned", "base", "CodeWiki", "DeepWiki",
                         "fine-tuned minus base"]  # fmt: skip
    cells = re.findall(r"<td(?: [^>]*)?>(.*?)</td>", html)
    o = groups["overall"]["fine-tuned"]
    assert (
        cells[0] == "overall" and cells[2] == f"{o['value']:.4f} [{o['low']:.4f}, {o['high']:.4f}]"
    )
    assert "CodeWiki 68.79%, DeepWiki 64.06%" in html and "not judged: Chart.js," in html


def test_a_gate_below_the_lower_end_passes(bench):
    with FakeTeacherServer(judge) as judges:
        result = evaluate.run_stage(stage(bench, judges.base_url("openai"), 0.05, published=False))
    results = json.loads((bench["run"] / "eval" / "results.json").read_text())
    assert results["gates"]["verdicts"][0]["passed"] and result.counts["codewikibench"] == 0.625
    assert results["harness"]["benchmark"]["columns"] == ["fine-tuned", "base"]


def test_the_benchmark_needs_the_data_stages_rows(bench, tmp_path):
    (bench["run"] / "data" / "codewikibench" / "rows.json").unlink()
    with pytest.raises(InputError, match=r"eval.heldout.benchmark: no .*rows.json"):
        evaluate.run_stage(stage(bench, "http://127.0.0.1:9/v1", 0.5))


def test_the_dry_run_counts_the_flagships_22_repositories():
    from wikikit.paths import RECIPES_DIR

    recipe = load_recipe(RECIPES_DIR / "semanticwiki-gpt-oss-20b.yaml")
    section = recipe.data["eval"]
    lines = evaluate.plan(
        StageContext(
            recipe,
            "eval",
            Path("/nonexistent"),
            Path("/nonexistent/eval"),
            Path("/nonexistent/cache"),
        )  # fmt: skip
    )
    assert section["heldout"]["benchmark"] == "codewikibench"
    (line,) = [x for x in lines if x.startswith("eval: CodeWikiBench: ")]
    assert "22 repositories judged, fine-tuned and base" in line
    assert "JS/TS 6, Python 3, C 4, C++ 3, C# 3, Java 3" in line


FIXTURES = Path(__file__).resolve().parents[2] / "shared/fixtures/codewikibench"


@pytest.mark.skipif(not FIXTURES.is_dir(), reason="shared CodeWikiBench fixtures absent")
def test_published_scores_from_the_benchmarks_own_files():
    from wikikit.eval.codewikibench.report import published_scores

    # found under the row's bare repo_name whatever the name's form; a repo without files is absent
    found = published_scores(FIXTURES, ["All-Hands-AI/OpenHands", "trinodb/trino"])
    for column, folder in SYSTEM_FOLDER.items():
        path = FIXTURES / "OpenHands" / folder / "evaluation_results"
        meta = json.loads((path / "combined_evaluation_results.json").read_text())
        got = found[column]["All-Hands-AI/OpenHands"]
        assert got["score"] == pytest.approx(meta["combination_metadata"]["overall_score"])
        assert Path(got["file"]) == path / "combined_evaluation_results.json"
        assert "trinodb/trino" not in found[column]
    assert found["CodeWiki"]["All-Hands-AI/OpenHands"]["score"] == pytest.approx(0.8245, abs=1e-4)


def test_benchmark_settings_errors(bench, tmp_path):
    from wikikit.eval.codewikibench.report import published_scores

    rows = bench["run"] / "data" / "codewikibench" / "rows.json"
    rows.write_text(json.dumps({"acme/unknown": {"commit_id": "abc"}}))
    ctx = stage(bench, "http://127.0.0.1:9/v1", 0.5)
    with pytest.raises(InputError, match=r"row 'acme/unknown' is not one of the benchmark's"):
        evaluate.run_stage(ctx)
    rows.write_text("{not json")
    with pytest.raises(InputError, match=r"rows.json: not JSON"):
        evaluate.run_stage(ctx)
    with pytest.raises(InputError, match=r"eval.heldout.published: no such folder"):
        published_scores(tmp_path / "nowhere", ["json"])


def test_the_flagships_offline_dry_run_says_22_repositories_are_judged(tmp_path):
    import os
    import subprocess
    import sys

    from wikikit.paths import RECIPES_DIR, REPO_ROOT

    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env.pop("ANTHROPIC_API_KEY", None)
    cmd = [sys.executable, "-m", "wikikit.cli", "run",
           str(RECIPES_DIR / "semanticwiki-gpt-oss-20b.yaml"), "--dry-run", "--run-dir",
           str(tmp_path / "run")]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout + proc.stderr
    assert "eval: CodeWikiBench: 22 repositories judged, fine-tuned and base" in out
    assert "for each of 22 held-out repo(s) (Chart.js, " in out
