"""Throughput of the code-mining sources over a generated 10,000-file repository.

    .venv/bin/python bench/code_mining.py [--files 10000] [--keep DIR]

Prints, per source kind, files/second and examples/second (wall clock, one process).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from code_mining_repos import make_many_files_repo  # noqa: E402
from git_fixtures import commit_all, init_repo  # noqa: E402

from wikikit.data.sources import code_units, cpt, fim, git_history  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=10_000)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="wikikit-bench-"))
    try:
        root = tmp / "repo"
        t0 = time.perf_counter()
        make_many_files_repo(root, args.files)
        init_repo(root)
        commit_all(root, "Generated")
        for i in range(20):  # a short history for git_history
            p = root / f"pkg{i:03d}" / f"mod{i:05d}.py"
            p.write_text(p.read_text() + f"\n\ndef extra_{i}(y):\n    return y * {i}\n")
            commit_all(root, f"Add extra_{i}")
        print(f"generated {args.files} files + 21 commits in {time.perf_counter() - t0:.1f}s")
        runs = [
            ("code_units", code_units, {}),
            ("fim", fim, {"per_file": 2}),
            ("cpt", cpt, {"target_tokens": [2048, 16384]}),
            ("git_history", git_history, {}),
        ]
        for kind, module, cfg in runs:
            ctx = SimpleNamespace(
                recipe=None,
                cache_dir=tmp / "cache",
                seed=0,
                stats=defaultdict(Counter),
                artifacts={},
                key_path=("data", "sources", kind),
            )
            t = time.perf_counter()
            n = sum(1 for _ in module.generate(kind, {"repos": [str(root)], **cfg}, ctx))
            dt = time.perf_counter() - t
            files = ctx.stats[kind].get("repo_files", 0)
            unit = "commits" if kind == "git_history" else "files"
            count = ctx.stats[kind]["commits"] if kind == "git_history" else files
            print(
                f"{kind:12s} {dt:7.1f}s  {count / dt:8.0f} {unit}/s  {n / dt:8.0f} examples/s  "
                f"({n} examples from {count} {unit})"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
