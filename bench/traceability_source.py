"""Speed of the traceability source on installed packages (run by hand; prints figures).

    .venv/bin/python bench/traceability_source.py [package ...]   (default: click rich)

Each package's source is copied into a temporary git repository, the source runs over it with
a large per_file limit, and every reference of every example is re-verified.
"""

from __future__ import annotations

import importlib
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from wikikit.code.refs import parse_refs, verify_ref
from wikikit.code.repo import Repo
from wikikit.data.sources import SourceContext
from wikikit.data.sources.traceability import generate


def _git_repo(package: str, dest: Path) -> Path:
    module = importlib.import_module(package)
    root = dest / package
    shutil.copytree(
        Path(module.__file__).parent, root / package, ignore=shutil.ignore_patterns("__pycache__")
    )
    env = ["-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", *env, "commit", "-qm", "import"], cwd=root, check=True)
    return root


def main(packages: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for package in packages:
            root = _git_repo(package, Path(tmp))
            ctx = SourceContext(recipe=None, cache_dir=Path(tmp) / "cache", key_path=("bench",))  # type: ignore[arg-type]
            t0 = time.perf_counter()
            examples = list(generate("bench", {"repos": [str(root)], "per_file": 1000}, ctx))
            seconds = time.perf_counter() - t0
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # process, so far
            repo = Repo(root, package)
            bad = 0
            for ex in examples:
                for ref in parse_refs(ex.messages[-1].content):
                    bad += verify_ref(repo, ref.path, ref.start, ref.end) is not None
            tasks = Counter(e.meta["task"] for e in examples)
            stats = ctx.stats["bench"]
            print(
                f"{package}: {stats['files_parsed']} files, {stats['symbols']} symbols -> "
                f"{len(examples)} examples ({dict(sorted(tasks.items()))}) in {seconds:.2f}s "
                f"= {len(examples) / seconds:.0f} examples/s, {stats['files_parsed'] / seconds:.0f} files/s, "
                f"process peak RSS {peak:.0f} MiB; unresolved refs: {bad}"
            )


if __name__ == "__main__":
    main(sys.argv[1:] or ["click", "rich"])
