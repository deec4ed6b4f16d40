"""The data stage on a small local pool and a local CodeWikiBench-format dataset, with the whole
benchmark held out: no example of a held-out row is trained on, and every drop is counted."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from codewikibench_data import TINY_DOCS, docs_tree_of, tiny_row, write_dataset
from data_stage_helpers import RecipeStandIn, run_data_stage
from git_fixtures import commit_all, init_repo

from wikikit.code.holdout import Holdout

# One stage run that loads `datasets` and tokenizes every example: ~10 s on 2 busy cores.
pytestmark = pytest.mark.slow

WORDS = [
    "ledger",
    "tenant",
    "shard",
    "replica",
    "budget",
    "quota",
    "cursor",
    "digest",
    "nonce",
    "socket",
    "frame",
    "packet",
]


def prose(seed: int, n: int) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(n))


def make_repo(root: Path, module: str) -> str:
    init_repo(root)
    for i in range(3):
        (root / module / f"part{i}.py").parent.mkdir(parents=True, exist_ok=True)
        (root / module / f"part{i}.py").write_text(
            f'"""The {module} part {i}: keeps {module} records."""\n\n\n'
            f"def load_{module}_{i}(path):\n"
            f'    """Read the {module} records of part {i} from a file."""\n'
            f"    with open(path) as fh:\n        return fh.read().splitlines()\n\n\n"
            f"class {module.title()}Store{i}:\n"
            f'    """An in-memory {module} store."""\n\n'
            f"    def __init__(self):\n        self.items = {{}}\n"
        )
    return commit_all(root)


def held_out_row() -> tuple[dict, str]:
    """A CodeWikiBench row for `json` (the benchmark's nlohmann/json), with text of its own."""
    text = prose(7, 150) + "."
    docs = {
        **{k: v for k, v in TINY_DOCS.items() if k != "subpages"},
        "subpages": [
            {
                "title": "overview",
                "description": None,
                "content": {"Json Overview": {"Architecture Overview": text}},
                "metadata": {"source": "codewiki"},
                "subpages": [],
            }
        ],
    }
    row = {
        **tiny_row("json"),
        "structured_docs": json.dumps(docs),
        "docs_tree": json.dumps(docs_tree_of(docs)),
    }
    return row, text


def record(repo: str, text: str, n: int) -> dict:
    return {
        "messages": [
            {"role": "user", "content": f"Document part {n} of {repo}."},
            {"role": "assistant", "content": text},
        ],
        "repo": repo,
    }


def test_no_held_out_row_is_trained_on_and_every_drop_is_counted(tmp_path):
    heads = {name: make_repo(tmp_path / "repos" / name, name) for name in ("alpha", "beta")}
    (tmp_path / "pool.yaml").write_text(
        "pool: 1\nrepos:\n"
        + "".join(
            f"  - {{repo: acme/{n}, language: python, size: small, url: repos/{n}}}\n"
            for n in heads
        )
    )
    row, held_text = held_out_row()
    write_dataset(tmp_path / "cwb", [tiny_row("acme/widgets"), row])
    copied = record("acme/copycat", held_text, 1)  # the held-out row's documentation, copied
    rows = [
        record("nlohmann/json@v3.11.3", prose(1, 80), 2),  # the benchmark, by owner/name
        record("https://github.com/chartjs/Chart.js.git", prose(2, 80), 3),  # by URL
        record("OpenHands", prose(3, 80), 4),  # by CodeWikiBench's bare repo_name
        record("acme/other", prose(4, 80), 5),
        copied,
    ]
    (tmp_path / "extra.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    data = {
        "data": {
            "holdout": ["codewikibench"],
            "mix": {"all": {"weight": 1.0, "sources": ["trace", "cwb", "extra"]}},
            "sources": {
                "trace": {
                    "kind": "traceability",
                    "pool": "pool.yaml",
                    # a checkout named as a benchmark repository: never opened
                    "repos": [{"path": "nowhere", "name": "electron/electron"}],
                },
                "cwb": {"kind": "codewikibench", "path": "cwb"},
                "extra": {"kind": "jsonl", "paths": ["extra.jsonl"]},
            },
            "quality": {"min_chars": 20},
            "split": {"train": 0.8, "validation": 0.1, "test": 0.1},
        }
    }
    ctx, result = run_data_stage(RecipeStandIn(data, tmp_path), tmp_path / "run")
    out = ctx.out_dir
    written = [
        json.loads(line)
        for name in ("train", "validation", "test")
        for line in (out / f"{name}.jsonl").read_text().splitlines()
    ]
    held = Holdout(["codewikibench"])
    assert written and not [r["repo"] for r in written if held.matches(r["repo"])]
    assert not any(held_text[:200] in json.dumps(r) for r in written)
    repos = {r["repo"].split("@")[0] for r in written}
    assert {"acme/alpha", "acme/beta", "acme/widgets", "acme/other"} <= repos
    # the pool's repositories at their pinned heads
    assert {r["repo"] for r in written if r["source"] == "traceability"} == {
        f"acme/{n}@{h}" for n, h in heads.items()
    }

    quality = json.loads((out / "quality.json").read_text())
    holdout = quality["holdout"]
    assert holdout["repos"] == ["codewikibench"] and len(holdout["held_out_repos"]) == 22
    assert holdout["examples_dropped"] == {"extra": 3}
    assert holdout["repos_skipped"] == {"cwb": 1, "trace": 1}
    bench = quality["decontaminate"]["benchmark"]
    assert bench["rows"] == 1 and bench["repos"] == ["json"]
    assert bench["dropped"] == {"extra": 1}
    assert [d["id"] for d in bench["dropped_examples"]] and bench["dropped_examples"][0][
        "overlap"
    ] > 0.9
    assert result.counts["decontaminated_benchmark"] == 1
    pins = json.loads((out / "pool" / "trace.json").read_text())
    assert pins["pins"] == {f"acme/{n}": h for n, h in heads.items()} and pins["repos"] == 2
    assert quality["source_stats"]["trace"]["pool_repos"] == 2
