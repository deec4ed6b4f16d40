"""Examples per repository from the flagship's pool sources, measured on local repositories.

Each repository is a git repository made here from the source tree of a package installed in
the venv (real code: requests, jinja2, rich, ...), listed in a pool file as the flagship lists
its 466. On each:

- `semanticwiki` with a teacher answerer: the real client (1.2.1, --full-local) asks, a loopback
  teacher (tests/teacher_fakes.py, OpenAI API on 127.0.0.1) answers every call: the plan with
  the middle of the client's required page range (what the dry-run estimate assumes), each page
  with `# <title>` and references to the chunks its prompt shows, the index with every page.
  Examples per repository by call (plan, page, index), the client's passes and seconds per run;
- `traceability` with the flagship's settings (`per_file: 2`): examples per repository;
- `synthetic` tool_use: the source's own planner, asked for the flagship's 3,000 items in
  proportion to these repositories' share of a 466-repository pool: items per repository.

The replayed DeepWiki pages (a `replay` answerer) depend on each wiki: the bench prints the
pages of the demo site's wiki (demo/deepwiki-site) and of the real deepwiki.com wiki saved in
../shared/fixtures/deepwiki-real (11 pages), each page one example plus one plan.

    .venv/bin/python bench/pool_yield.py [--packages requests,jinja2,rich] [--parallel 1]

Needs the client installed (`make setup`) and its seeded embedding cache (offline).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from git_fixtures import commit_all, init_repo  # noqa: E402
from teacher_fakes import FakeTeacherServer, last_user_text  # noqa: E402

import wikikit  # noqa: E402,F401  (offline tokenizer before anything imports tiktoken)
from wikikit.code.refs import format_local_ref  # noqa: E402
from wikikit.data.pools import with_pool  # noqa: E402
from wikikit.data.sources import SourceContext  # noqa: E402
from wikikit.recipe.load import load_recipe  # noqa: E402
from wikikit.semanticwiki import protocol  # noqa: E402

FLAGSHIP_ITEMS, FLAGSHIP_REPOS = 3000, 466


def local_mode_teacher(api: str, body: dict[str, Any]) -> str:
    """A loopback teacher for SemanticWiki's three local-mode prompts, on any repository."""
    user = last_user_text(body)
    kind = protocol.call_kind(user)
    if kind == "plan":
        plan = protocol.parse_plan_prompt(user)
        n = min(plan.max_pages, plan.min_pages + 5)  # the estimate's middle of the range
        files = plan.files or ["README.md"]
        pages = [
            {
                "title": f"Part {i + 1}: {Path(files[i % len(files)]).stem}",
                "filename": f"part-{i + 1}.md",
                "type": "component" if i else "overview",
                "context": f"What {files[i % len(files)]} does.",
                "files": files[i % len(files) :: n][:4],
            }
            for i in range(n)
        ]
        return json.dumps({"projectType": "library", "pages": pages}, indent=2)
    if kind == "page":
        page = protocol.parse_page_prompt(user)
        parts = [
            f"# {page.title}",
            "## Overview",
            f"This {page.page_type} page covers the code below.",
        ]
        for chunk in page.chunks[:6]:
            parts.append(
                f"### `{chunk.path}`\n\nDefined here. {format_local_ref(chunk.path, chunk.start)}"
            )
        if page.related:
            parts.append("## Related\n\n" + "\n".join(f"- [{t}](./{f})" for t, f in page.related))
        return "\n\n".join(parts) + "\n"
    if kind == "index":
        index = protocol.parse_index_prompt(user)
        links = "\n".join(f"- [{t}](./{f})" for t, f, _ in index.pages)
        return f"# {index.project} Documentation\n\nThe pages of this wiki.\n\n{links}\n"
    raise AssertionError("not a SemanticWiki local-mode prompt")


def make_repos(packages: list[str], where: Path) -> dict[str, Path]:
    site = Path(json.__file__).parent  # the stdlib: its site-packages is beside it
    venv = next(ROOT.joinpath(".venv/lib").glob("python3*/site-packages"))
    repos = {}
    for pkg in packages:
        src = venv / pkg if (venv / pkg).is_dir() else site / pkg
        root = where / pkg
        shutil.copytree(src, root / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
        init_repo(root)
        commit_all(root, f"{pkg} source tree")
        repos[pkg] = root
    return repos


def write_recipe(where: Path, repos: dict[str, Path], base_url: str, parallel: int) -> Path:
    (where / "pool.yaml").write_text(
        "pool: 1\nrepos:\n"
        + "".join(
            f"  - {{repo: local/{p}, language: python, size: small, url: {r}}}\n"
            for p, r in repos.items()
        )
    )
    teacher = (
        f"{{provider: openai, model: loopback, base_url: '{base_url}', "
        f"cache: {where / 'teacher.sqlite'}}}"
    )
    items = max(1, round(FLAGSHIP_ITEMS * len(repos) / FLAGSHIP_REPOS))
    (where / "recipe.yaml").write_text(
        f"""wikikit: 1
name: pool-yield
model: {{base: tiny-gpt-oss}}
data:
  mix: {{all: {{weight: 1.0, sources: [sw, trace, tool]}}}}
  sources:
    sw:
      kind: semanticwiki
      pool: pool.yaml
      answerer: {{kind: teacher, teacher: {teacher}}}
      client: {{parallel: {parallel}, timeout_s: 3600}}
    trace: {{kind: traceability, pool: pool.yaml, per_file: 2}}
    tool:
      kind: synthetic
      pool: pool.yaml
      teacher: {teacher}
      categories: {{tool_use: {items}}}
"""
    )
    return where / "recipe.yaml"


def repo_of(example_repo: str) -> str:
    return example_repo.split("@", 1)[0]


def measure(recipe_path: Path, cache: Path) -> dict[str, Any]:
    from wikikit.data.sources import semanticwiki, synthetic, traceability

    recipe = load_recipe(recipe_path)
    sources = recipe.data["data"]["sources"]
    out: dict[str, Any] = {}

    def context(name: str) -> SourceContext:
        return SourceContext(recipe=recipe, cache_dir=cache, key_path=("data", "sources", name))

    ctx = context("sw")
    started = time.monotonic()
    examples = list(semanticwiki.generate("sw", with_pool("sw", sources["sw"], ctx), ctx))
    out["sw_seconds"] = time.monotonic() - started
    out["sw"] = Counter((repo_of(e.repo), e.category) for e in examples)
    out["sw_stats"] = dict(ctx.stats["sw"])
    out["recordings"] = ctx.artifacts["semanticwiki/sw/recordings.json"]
    done = {}
    for folder in (cache / "semanticwiki").glob("*/*/done.json"):
        done[folder.parent.name] = json.loads(folder.read_text())
    out["done"] = done

    ctx = context("trace")
    out["trace"] = Counter(
        repo_of(e.repo)
        for e in traceability.generate("trace", with_pool("trace", sources["trace"], ctx), ctx)
    )
    ctx = context("tool")
    items, short, _ = synthetic._plan("tool", with_pool("tool", sources["tool"], ctx), ctx)
    out["tool"] = Counter(repo_of(i.repo.id) for i in items)
    out["tool_short"] = short
    return out


def wiki_pages() -> dict[str, int]:
    """Pages of the demo site's wiki and of the real deepwiki.com page's wiki (its nav)."""
    from wikikit.deepwiki.demo_site import DEFAULT_ROOT, page_files

    pages = {
        f"{d.parent.name}/{d.name} (demo site)": len(page_files(d))
        for d in sorted(DEFAULT_ROOT.glob("*/*"))
        if d.is_dir()
    }
    real = ROOT.parent / "shared/fixtures/deepwiki-real/qcustomplot-2.1-core-components.html"
    if real.is_file():
        from wikikit.deepwiki.flight import decode_html

        wiki = decode_html(real.read_text(encoding="utf-8"))
        pages[f"{wiki.repo} (deepwiki.com, saved)"] = len(wiki.pages)
    return pages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", default="requests,jinja2,rich")
    parser.add_argument("--parallel", type=int, default=1)
    args = parser.parse_args()
    packages = [p for p in args.packages.split(",") if p]
    with tempfile.TemporaryDirectory() as tmp, FakeTeacherServer(local_mode_teacher) as srv:
        where = Path(tmp)
        repos = make_repos(packages, where / "repos")
        recipe = write_recipe(where, repos, srv.base_url("openai"), args.parallel)
        result = measure(recipe, where / "cache")
        files = {f"local/{p}": len(protocol.plan_files(r)) for p, r in repos.items()}
    print(f"SemanticWiki {protocol.CLIENT_VERSION} with a loopback teacher, {len(packages)} "
          f"local repositories ({', '.join(packages)}), parallel {args.parallel}:")  # fmt: skip
    runs = []
    for name in sorted(files):
        per = {c: result["sw"][(name, c)] for c in protocol.CALLS}
        entry = next((v for k, v in result["recordings"].items() if k.startswith(name)), {})
        done = next((d for k, d in result["done"].items() if name.split("/")[1] in k), {})
        passes = entry.get("passes", 0)
        seconds = done.get("seconds", 0.0)
        if passes:
            runs.append(seconds / passes)
        print(
            f"  {name}: {files[name]} plan files; examples plan {per['plan']}, page {per['page']}, "
            f"index {per['index']} ({sum(per.values())} in all); client {passes} runs, "
            f"{seconds:.1f} s ({seconds / max(passes, 1):.1f} s a run); traceability "
            f"{result['trace'][name]}; tool_use items {result['tool'][name]}"
        )
    if runs:
        print(f"  client seconds a run: median {statistics.median(runs):.1f}, max {max(runs):.1f}")
    print(
        f"  source wall time {result['sw_seconds']:.1f} s; stats {json.dumps(result['sw_stats'])}"
    )
    print("replayed DeepWiki (one page example per wiki page, one plan):")
    for wiki, n in wiki_pages().items():
        print(f"  {wiki}: {n} pages")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
