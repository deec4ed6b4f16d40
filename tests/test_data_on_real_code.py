"""`wikikit run --only data` on a real codebase nobody here wrote: every reference resolves.

The check below is independent of wikikit's reference code: its own regexes, its own file reads.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import datasets
import pytest
from git_fixtures import commit_all, init_repo

REPO_ROOT = Path(__file__).resolve().parents[1]
SEMANTICWIKI_REF = re.compile(r"\[`([^`:]+):(\d+)-(\d+)`\]\(([^)#]+)#L(\d+)-L(\d+)\)")
PLAIN_REF = re.compile(r"`([\w./-]+\.py):(\d+)(?:-(\d+))?`")

RECIPE = """wikikit: 1
name: click-docs
seed: 3
stages: [data]
model: {base: tiny-gpt-oss, format: harmony}
data:
  size: 300
  mix: {traceability: {weight: 1.0, sources: [trace]}}
  sources:
    trace: {kind: traceability, repos: [click-repo], per_file: 100}
  quality: {min_chars: 100, require_refs: true, verify_refs: true, mermaid: ignore}
  split: {train: 0.8, validation: 0.1, test: 0.1, stratify: [category]}
"""


@pytest.mark.slow
def test_every_reference_in_the_written_data_resolves(tmp_path):
    repo = tmp_path / "click-repo"
    shutil.copytree(
        Path(click.__file__).parent, repo / "click", ignore=shutil.ignore_patterns("__pycache__")
    )
    init_repo(repo)
    commit = commit_all(repo, "click, as installed")
    (tmp_path / "r.yaml").write_text(RECIPE)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_DATASETS_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "wikikit.cli", "run", "r.yaml", "--only", "data", "--run-dir", "run"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]

    files = {p.relative_to(repo).as_posix(): p.read_text().split("\n") for p in repo.rglob("*.py")}
    data = tmp_path / "run" / "data"
    ds = datasets.load_dataset(
        "json", data_files={s: str(data / f"{s}.jsonl") for s in ("train", "validation", "test")}
    )
    rows = [r for split in ds.values() for r in split]
    assert len(rows) >= 250
    checked = 0
    for row in rows:
        assert row["repo"] == f"click-repo@{commit}"
        answer = "\n".join(
            m["content"]
            for m in json.loads(json.dumps(row["messages"]))
            if m["role"] == "assistant"
        )
        cited = [(p, int(a), int(b)) for p, a, b, *_ in SEMANTICWIKI_REF.findall(answer)]
        for path, a, b, link, la, lb in SEMANTICWIKI_REF.findall(answer):
            assert (link.lstrip("./"), la, lb) == (path, a, b), (path, link)
        cited += [(p, int(a), int(b or a)) for p, a, b in PLAIN_REF.findall(answer)]
        cited += [(r["path"], r["start"], r["end"]) for r in row["refs"]]
        assert cited, row["id"]
        for path, start, end in cited:
            assert path in files, (row["id"], path)
            assert 1 <= start <= end <= len(files[path]), (
                row["id"],
                path,
                start,
                end,
                len(files[path]),
            )
            checked += 1
    assert checked >= len(rows)
    print(f"{len(rows)} examples, {checked} references re-checked against the files")
