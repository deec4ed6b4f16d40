"""`data.holdout` in the data stage: named once, held out of every source in every naming."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from data_stage_helpers import RecipeStandIn

from wikikit.data.sources import SourceContext
from wikikit.data.sources.traceability import generate as traceability
from wikikit.data.stage import collect, settings
from wikikit.errors import InputError
from wikikit.recipe.load import load_recipe
from wikikit.stage import StageContext

ROOT = Path(__file__).resolve().parents[1]


def record(repo: str, n: int) -> dict:
    return {
        "messages": [
            {"role": "user", "content": f"Document part {n}."},
            {"role": "assistant", "content": f"Part {n} of the docs, long enough to keep."},
        ],
        "repo": repo,
    }


def test_stage_drops_every_naming_of_a_held_out_repo_and_counts_it(tmp_path):
    rows = [
        record("OpenHands@0123abc", 1),  # CodeWikiBench's bare name, with a commit
        record("All-Hands-AI/OpenHands", 2),  # DeepWiki's owner/name
        record("https://github.com/All-Hands-AI/OpenHands.git", 3),  # a git URL
        record("acme/widgets", 4),
        record("acme/openhands-fork", 5),  # not the same repository
    ]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    data = {
        "data": {
            "holdout": ["OpenHands"],
            "sources": {"mine": {"kind": "jsonl", "paths": ["a.jsonl"]}},
        }
    }
    recipe = RecipeStandIn(data, tmp_path)
    ctx = StageContext(
        recipe=recipe,
        stage="data",
        run_dir=tmp_path / "run",
        out_dir=tmp_path / "run" / "data",
        cache_dir=tmp_path / "run" / "cache",
    )
    kept, report = collect(ctx, settings(data["data"]), filters=[])
    assert [ex.repo for _, ex in kept] == ["acme/widgets", "acme/openhands-fork"]
    assert report["sources"]["mine"] == {"generated": 5, "held_out": 3, "kept": 2}
    assert report["holdout"] == {
        "repos": ["OpenHands"],
        "examples_dropped": {"mine": 3},
        "repos_skipped": {},
    }


def test_code_sources_never_open_a_held_out_repo(tmp_path):
    # The spec points nowhere: opening it would fail, so skipping it is proven by no error.
    ctx = SourceContext(recipe=None, cache_dir=tmp_path, key_path=("data", "sources", "t"))
    ctx.holdout = ctx.holdout.__class__(["OpenHands"])
    config = {
        "kind": "traceability",
        "repos": [{"path": str(tmp_path / "nowhere"), "name": "All-Hands-AI/OpenHands"}],
    }
    assert list(traceability("t", config, ctx)) == []
    assert ctx.stats["t"]["holdout_repos"] == 1


def test_the_old_per_source_key_says_where_it_went(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(
        "wikikit: 1\nname: x\nmodel: {base: tiny-gpt-oss}\ndata:\n  sources:\n"
        "    cwb: {kind: codewikibench, path: ., holdout: [OpenHands]}\n"
    )
    with pytest.raises(InputError) as err:
        load_recipe(path)
    assert any(
        "data.sources.cwb.holdout" in line and "data.holdout" in line for line in err.value.lines
    )


@pytest.mark.slow
def test_flagship_dry_run_shows_the_benchmark_held_out_of_every_source(tmp_path):
    recipe = load_recipe(ROOT / "recipes" / "semanticwiki-gpt-oss-20b.yaml")
    assert recipe.data["data"]["holdout"] == ["codewikibench"]
    assert "holdout" not in recipe.data["data"]["sources"]["codewikibench"]
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env.pop("ANTHROPIC_API_KEY", None)
    cmd = [
        sys.executable,
        "-m",
        "wikikit.cli",
        "run",
        str(ROOT / "recipes" / "semanticwiki-gpt-oss-20b.yaml"),
        "--dry-run",
        "--only",
        "data",
        "--run-dir",
        str(tmp_path / "run"),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout + proc.stderr
    lines = [line.strip() for line in out.splitlines() if "holdout:" in line or "held out" in line]
    assert any("holdout: codewikibench = 22 held-out repositories (" in line for line in lines)
    assert any("All-Hands-AI/OpenHands" in line and "trinodb/trino" in line for line in lines)
    # every source the flagship defines says what it does with the held-out repositories
    for source in recipe.data["data"]["sources"]:
        assert any(f"holdout: {source} (" in line for line in lines), (source, lines)
    assert any("(semanticwiki): none of its repos (its pool holds none" in line for line in lines)
    assert any("rubrics are kept for the eval stage" in line for line in lines)
    # the size, the pool, and what the teacher costs per example, for the whole pool
    pool = re.search(r"pool pools/pool\.yaml: (\d+) repositories", out)
    assert pool and int(pool[1]) >= 400, out[-3000:]
    assert "for data.size 20,000 = $" in out and " per example of the dataset" in out
    per_example = float(re.search(r"= \$([\d.]+) per example of the dataset", out)[1])
    assert 0 < per_example < 1
    total = re.search(r"teacher, all sources: ~([\d,]+) calls, .* expected \$([\d,.]+)", out)
    assert total and "within the sources' max_usd" in out, out[-3000:]
    assert re.search(r"hours: ~[\d.]+ expected", out)
    assert not (tmp_path / "run" / "data").exists()  # a dry run writes nothing
