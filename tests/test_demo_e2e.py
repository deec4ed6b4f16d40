"""The offline demo, every stage, through the CLI: what a new user runs first."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from wikikit.bounded import read_jsonl
from wikikit.deepwiki.demo_site import DEFAULT_ROOT, serve_site

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "demo.yaml"
CACHE = ROOT / "demo" / "teacher-cache.sqlite"


def _wikikit(args: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    exe = str(Path(sys.executable).parent / "wikikit")
    return subprocess.run(
        [exe, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=1500
    )


@pytest.mark.slow
def test_demo_runs_every_stage_offline(tmp_path):
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    env.pop("ANTHROPIC_API_KEY", None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    cache = tmp_path / "teacher-cache.sqlite"
    shutil.copy(CACHE, cache)
    run_dir = tmp_path / "run"
    with serve_site(DEFAULT_ROOT) as base:
        args = [
            # relative, in another folder than the checkout: as a user types it
            "run", str(RECIPE), "--run-dir", run_dir.name,
            "--set", f"data.sources.deepwiki.base_url={base}",
            "--set", f"data.sources.distill.teacher.cache={cache}",
            "--set", f"data.sources.sw_teacher.answerer.teacher.cache={cache}",
            "--set", f"data.sources.sw_replay.answerer.deepwiki.base_url={base}",
            "--set", "train.max_steps=2",
            "--set", "eval.limit=1",
            "--set", "eval.compare_base=false",
        ]  # fmt: skip
        first = _wikikit(args, tmp_path, env)
        out = first.stdout + first.stderr
        assert first.returncode == 0, out[-4000:]
        again = _wikikit(args, tmp_path, env)
    assert again.returncode == 0
    assert again.stderr.count("up to date") == 4  # nothing re-runs

    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert {s: v["status"] for s, v in manifest["stages"].items()} == dict.fromkeys(
        ["data", "train", "package", "eval"], "done"
    )
    assert set(manifest["stages"]["eval"]["inputs"]) == {"train", "package"}
    # data
    rows = read_jsonl(run_dir / "data" / "train.jsonl")
    assert rows and all(r["text"].startswith("<|start|>system<|message|>") for r in rows)
    # train: a LoRA adapter, a merged model, a finite loss
    metrics = json.loads((run_dir / "train" / "metrics.json").read_text())
    assert metrics["steps"] == 2 and math.isfinite(metrics["final_loss"])
    # ... after the label check passed on Axolotl's preprocessing of every category in the data
    categories = {
        row["category"]
        for name in ("train.jsonl", "validation.jsonl")
        for row in read_jsonl(run_dir / "data" / name)
    }
    checked = metrics["label_check"]
    assert set(checked) == categories and len(categories) > 3, (checked, categories)
    assert all(c["checked"] >= 1 and c["ok"] == c["checked"] for c in checked.values()), checked
    assert (run_dir / "train" / "merged" / "config.json").is_file()
    assert any((run_dir / "train" / "adapter").glob("adapter_model.*"))
    # eval: every task of the recipe scored by lm-eval on the merged model
    results = json.loads((run_dir / "eval" / "results.json").read_text())
    for task in (
        "wikikit_traceability",
        "wikikit_mermaid",
        "wikikit_tooluse",
        "wikikit_completeness",
        "semanticwiki_page",
    ):
        assert task in json.dumps(results["scores"]), task
    # SemanticWiki's page prompts for demo/ledger, the codebase no training source reads
    items = read_jsonl(run_dir / "eval" / "heldout" / "semanticwiki_page.jsonl")
    assert len(items) == 4 and all(i["repo"] == "demo/ledger" for i in items)
    assert results["intervals"]["semanticwiki_page"]["refs_right"]["n"] == 1  # eval.limit=1
    # the harness: the real client wrote demo/ledger's wiki with the packaged GGUF
    (wiki,) = results["harness"]["repos"]["fine-tuned"]
    assert wiki["repo"].startswith("demo/ledger@") and wiki["calls"] >= 4
    assert Path(wiki["wiki"]) == run_dir / "eval" / "wikis" / "fine-tuned" / "demo_ledger" / "wiki"
    assert (Path(wiki["wiki"]) / "index.md").is_file()
    assert results["harness"]["models"]["fine-tuned"]["location"] == str(
        (run_dir / "package" / "model.gguf").resolve()
    )
    assert results["scores"]["semanticwiki"]["tokens_per_page"] > 0
    # results.md: the ledger wiki's scores counted in the model's own answers beside the files'
    md = (run_dir / "eval" / "results.md").read_text()
    assert "## Raw answers beside the files" in md and "| raw answers | files |" in md
    ledger = re.escape(wiki["repo"])
    for what in ("plan kept by the client", "requested pages written", "references right",
                 "Mermaid blocks valid", "links resolving"):  # fmt: skip
        assert re.search(rf"\| fine-tuned \| {ledger} \| {what} \| [0-9.]* \| [0-9.]* \|", md), what
    # the requested pages written, counted here from the exchanges: the last answer per title
    # over SemanticWiki's 200 characters
    last = {}
    for x in read_jsonl(wiki["exchanges"]):
        if x["kind"] == "page":
            last[x["user"].split('"', 2)[1]] = x
    kept = sum(len(x["answer"]) > 200 and not x.get("error") for x in last.values())
    want = f"{kept / len(last):.2f}" if last else ""
    assert f"| fine-tuned | {wiki['repo']} | requested pages written | {want} |  |" in md
    # package: a GGUF that loaded and agreed with transformers, and a Modelfile pointing at it
    package = json.loads((run_dir / "package" / "package.json").read_text())
    assert (run_dir / "package" / "model.gguf").stat().st_size > 1_000_000
    greedy = package["verification"]["greedy"]
    assert greedy["ok"] and greedy["agreed_prefix"] >= greedy["required"] >= 1, greedy
    assert package["verification"]["metadata"]["architecture"] == "gpt-oss"
    assert "FROM ./model.gguf" in (run_dir / "package" / "Modelfile").read_text()
    # the report and the closing summary
    assert (run_dir / "report.html").stat().st_size > 10_000
    assert "Next:" in out and "ollama create wikikit-demo -f Modelfile" in out
    assert "offline" in out.lower()  # the synthetic bucket says it is served from the cache
