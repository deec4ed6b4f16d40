"""The flagship recipe's real bucket (codewikibench + deepwiki) through `wikikit run --only data`.

The recipe extends the shipped flagship and only points its two real sources at local data: the
CodeWikiBench dataset written here (plus the real OpenHands row when ../shared is present, held
out as in the flagship) and a DeepWiki-like site on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import pytest
from codewikibench_data import real_row, rows, write_dataset
from deepwiki_site import project_pages, real_pages, start_site, stop

from wikikit.bounded import read_jsonl

pytestmark = pytest.mark.slow


def test_flagship_real_bucket_from_both_kinds(tmp_path):
    write_dataset(tmp_path / "cwb", rows(), "parquet")
    wiki, offsite = start_site(project_pages() | real_pages())
    try:
        (tmp_path / "recipe.yaml").write_text(
            f"""wikikit: 1
name: real-bucket
extends: semanticwiki-gpt-oss-20b
data:
  size: 1000
  sources:
    codewikibench: {{kind: codewikibench, path: cwb}}
    deepwiki:
      kind: deepwiki
      repos: [acme/widgets]
      base_url: {wiki.base_url}
      autothrottle: false
      download_delay: 0
      chunking: {{strategy: heading, level: 2}}
"""
        )
        env = dict(
            os.environ, HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1"
        )
        only_real = "data.mix={real: {weight: 1.0, sources: [codewikibench, deepwiki]}}"
        cmd = [sys.executable, "-m", "wikikit.cli", "run", str(tmp_path / "recipe.yaml")]
        cmd += ["--only", "data", "--set", only_real, "--run-dir", str(tmp_path / "run")]
        if not real_pages():
            # The few project-written pages are shorter than the flagship's 500-character
            # minimum; this test is about both kinds building the bucket, not that filter.
            cmd += ["--set", "data.quality.min_chars=100"]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
    finally:
        stop(wiki)
        stop(offsite)

    data = tmp_path / "run" / "data"
    out_rows = [
        row
        for split in ("train", "validation", "test")
        for row in read_jsonl(data / f"{split}.jsonl")
    ]
    sources = Counter(r["source"] for r in out_rows)
    assert sources["codewikibench"] >= 1 and sources["deepwiki"] >= (20 if real_pages() else 1)
    # Both kinds carry refs that survived the quality filters (require_refs is on in the flagship).
    assert all(r["refs"] for r in out_rows)
    quality = json.loads((data / "quality.json").read_text())
    assert quality["source_stats"]["deepwiki"]["pages_parsed"] >= len(project_pages()) + 2
    # Rubrics reach the eval stage; the held-out OpenHands row never produces training data.
    assert (data / "rubrics" / "acme__widgets.json").exists()
    if real_row() is not None:
        assert quality["source_stats"]["codewikibench"]["holdout_repos"] == 1
        assert json.loads((data / "rubrics" / "OpenHands.json").read_text())["rubrics"]
        assert not any(
            r["source"] == "codewikibench" and str(r["repo"]).startswith("OpenHands")
            for r in out_rows
        )
    assert offsite.log == []
