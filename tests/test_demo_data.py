"""The demo recipe's data stage through the CLI, offline: every source kind keeps examples, the
DeepWiki pages are crawled over HTTP from wikikit.deepwiki.demo_site, the synthetic source is served
from the shipped teacher cache without one request, and the mix meets every quota."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from wikikit.bounded import read_jsonl
from wikikit.deepwiki.demo_site import DEFAULT_ROOT, serve_site

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "demo.yaml"
CACHE = ROOT / "demo" / "teacher-cache.sqlite"


def test_demo_site_serves_deepwiki_pages():
    with serve_site(DEFAULT_ROOT) as base:
        robots = urllib.request.urlopen(f"{base}/robots.txt").read().decode()
        root = urllib.request.urlopen(f"{base}/demo/shop").read().decode()
        page = urllib.request.urlopen(f"{base}/demo/shop/4-checkout-and-orders").read().decode()
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{base}/demo/shop/7-nowhere")
    assert "Disallow: /demo/shop/99-drafts" in robots
    assert "<h1>Overview</h1>" in root  # the repo root shows its first page
    assert 'href="/demo/shop/6-json-api"' in page and "Order Placement Flow" in page
    assert missing.value.code == 404


@pytest.mark.slow
def test_demo_data_stage_offline(tmp_path):
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    env.pop("ANTHROPIC_API_KEY", None)  # offline: the synthetic source needs no key
    # A copy of the cache, so the run never writes next to the shipped file.
    cache = tmp_path / "teacher-cache.sqlite"
    shutil.copy(CACHE, cache)
    run_dir = tmp_path / "run"
    with serve_site(DEFAULT_ROOT) as base:
        proc = subprocess.run(
            [
                str(Path(sys.executable).parent / "wikikit"), "run", str(RECIPE), "--only", "data",
                "--run-dir", str(run_dir),
                "--set", f"data.sources.deepwiki.base_url={base}",
                "--set", f"data.sources.distill.teacher.cache={cache}",
            "--set", f"data.sources.sw_teacher.answerer.teacher.cache={cache}",
            "--set", f"data.sources.sw_replay.answerer.deepwiki.base_url={base}",
            ],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    data = run_dir / "data"
    quality = json.loads((data / "quality.json").read_text())
    stats = quality["source_stats"]

    # Synthetic: every answer from the cache, zero API calls, and the output says offline.
    distill = stats["distill"]
    assert distill["cache_hits"] > 0 and distill["api_calls"] == 0, distill
    assert distill["offline_misses"] == 0 and distill["failed"] == 0, distill
    assert "offline" in out.lower()
    # DeepWiki: the whole wiki from one page's flight payload, over HTTP from the demo site.
    assert stats["deepwiki"]["pages_parsed"] == 6, stats["deepwiki"]
    assert stats["deepwiki"]["wikis_from_flight"] == 1 and stats["deepwiki"]["requests"] == 1

    # SemanticWiki's local mode: the real client asked, the cached teacher and the replayed
    # DeepWiki pages answered every call, offline, without one request to a teacher API.
    teacher, replay = stats["sw_teacher"], stats["sw_replay"]
    assert teacher["status_answered"] == teacher["exchanges"] > 0, teacher
    assert teacher["api_calls"] == 0 and teacher["client_passes"] == 1, teacher
    assert replay["examples_plan"] == 1 and replay["examples_page"] == 6, replay

    kept = Counter()
    local_calls = Counter()
    for split in ("train", "validation", "test"):
        for row in read_jsonl(data / f"{split}.jsonl"):
            kept[row["source"]] += 1  # the source kind
            if row["source"] == "semanticwiki":
                local_calls[row["category"]] += 1
                assert row["messages"][0]["role"] == "system"
                assert row["messages"][1]["content"].startswith(
                    (
                        "You are analyzing a software project",
                        "# Documentation Task:",
                        "Generate an index page",
                    )
                )
    for source in ("codewikibench", "deepwiki", "synthetic", "traceability", "code_units"):
        assert kept[source] > 0, (source, kept)
    assert set(local_calls) == {"plan", "page", "index"}, local_calls
    mix = quality["mix"]
    assert mix["shortfalls"] == {} and mix["actual"] == mix["planned"], mix
    assert sum(mix["actual"].values()) == 50
