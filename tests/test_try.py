"""`wikikit try RUN_DIR -r REPO`: the plumbing around the client, with the client stood in for.

A stand-in for wikikit.semanticwiki.client.run_client (writes out_dir/wiki and exchanges.jsonl)
checks the command's part: which model and repo it hands over, the scores and the paths it
prints, and its errors. The real client writes a wiki through `wikikit try` in
test_semanticwiki_harness.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner
from git_fixtures import commit_all, init_repo

from wikikit.cli import cli
from wikikit.semanticwiki import client as client_module
from wikikit.semanticwiki.client import WikiRun

LEDGER = Path(__file__).resolve().parents[1] / "demo" / "ledger"
PAGE = (
    "# Journal\n\n## Overview\n\nBalanced transactions.\n\n## Key Components\n\n"
    "- `Journal.record` checks balance 📄 [ledger/journal.py:37](../ledger/journal.py#L37)\n"
    "- `Unbalanced` 📄 [ledger/journal.py:99](../ledger/journal.py#L99)\n\n"
    "## How It Works\n\nSee [Index](./index.md).\n"
)


def run_dir(tmp_path: Path) -> Path:
    run = tmp_path / "runs" / "demo"
    (run / "package").mkdir(parents=True)
    (run / "package" / "model.gguf").write_bytes(b"GGUF")
    return run


def repo(tmp_path: Path) -> tuple[Path, str]:
    root = tmp_path / "ledger"
    shutil.copytree(LEDGER, root)
    init_repo(root)
    return root, commit_all(root, "ledger")


class StandIn:
    def __init__(self):
        self.calls: list[dict] = []

    def __call__(self, repo, model, out_dir, *, timeout_s=None, threads=None, seed=None):
        self.calls.append({"repo": repo, "model": model, "out_dir": out_dir, "threads": threads})
        wiki = out_dir / "wiki"
        wiki.mkdir(parents=True)
        (wiki / "journal.md").write_text(PAGE)
        (wiki / "index.md").write_text("# ledger\n\n- [Journal](./journal.md)\n")
        x = {"kind": "page", "user": '# Documentation Task: "Journal"\n', "answer": PAGE,
             "seconds": 12.5, "tokens": {"prompt": 900, "completion": 800}}  # fmt: skip
        (out_dir / "exchanges.jsonl").write_text(json.dumps(x) + "\n")
        x = out_dir / "exchanges.jsonl"
        return WikiRun(wiki, x, out_dir / "client.log", 42.0, 1, x)


def test_try_hands_the_runs_gguf_and_the_repo_at_its_commit_to_the_client(tmp_path, monkeypatch):
    run = run_dir(tmp_path)
    root, commit = repo(tmp_path)
    stand_in = StandIn()
    monkeypatch.setattr(client_module, "run_client", stand_in)
    result = CliRunner().invoke(
        cli, ["try", str(run), "-r", str(root), "--commit", commit, "--threads", "2"]
    )
    assert result.exit_code == 0, result.output
    call = stand_in.calls[0]
    assert (
        call["model"].kind == "gguf"
        and call["model"].path == (run / "package" / "model.gguf").resolve()
    )
    assert call["repo"].commit == commit and call["threads"] == 2
    assert call["out_dir"] == run / "try" / "ledger"
    out = result.output
    assert f"wiki: {run / 'try/ledger/wiki'} (2 pages, 42 s)" in out
    assert str(run / "try/ledger/wiki/journal.md") in out
    assert "files: references right 50% of 2, resolving 50%" in out  # line 99: past the end
    # the model's own answer beside the files: the same page, in the asked form; no plan call
    assert "model's answers: plan kept by the client n/a; planned pages written n/a, " in out
    assert "requested 100%; cut at the token limit n/a" in out  # no stop_reason recorded
    assert "model's answers: references right 50% (in the asked 📄 form 100%)" in out
    assert "cost: 12.5 s and 800 tokens per page, 0 retries" in out
    assert f"start reading: {run / 'try/ledger/wiki/index.md'}" in out
    scores = json.loads((run / "try/ledger/scores.json").read_text())
    assert scores["scores"]["raw_refs_right"] == 0.5 and scores["scores"]["raw_links"] == 1.0
    assert scores["scores"]["refs_right"] == 0.5 and scores["repo"] == f"ledger@{commit}"


def test_try_another_model_and_out_folder(tmp_path, monkeypatch):
    run = run_dir(tmp_path)
    root, _ = repo(tmp_path)
    stand_in = StandIn()
    monkeypatch.setattr(client_module, "run_client", stand_in)
    args = ["try", str(run), "-r", str(root), "--model", "http://127.0.0.1:8000/v1#served",
            "--out", str(tmp_path / "mine")]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    model = stand_in.calls[0]["model"]
    assert (model.kind, model.url, model.name) == ("endpoint", "http://127.0.0.1:8000/v1", "served")
    assert stand_in.calls[0]["out_dir"] == tmp_path / "mine"


def test_try_errors_are_one_line(tmp_path):
    run = tmp_path / "runs" / "empty"
    run.mkdir(parents=True)
    result = CliRunner().invoke(cli, ["try", str(run), "-r", str(tmp_path)])
    assert result.exit_code == 2 and "no GGUF files under" in result.output
    assert "run the package stage first" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(cli, ["try", str(tmp_path / "nope"), "-r", "."])
    assert result.exit_code == 2 and "no such run directory" in result.output
    run = run_dir(tmp_path)
    result = CliRunner().invoke(cli, ["try", str(run), "-r", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    result = CliRunner().invoke(cli, ["try", str(run), "-r", ".", "--threads", "0"])
    assert result.exit_code == 2 and "--threads" in result.output
