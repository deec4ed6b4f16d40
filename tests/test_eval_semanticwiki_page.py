"""semanticwiki_page: SemanticWiki's own page prompts for held-out repos, scored as pages.

The prompt builder is checked against the prompts the real client sent (captured in
../shared/fixtures/semanticwiki-prompts): same system prompt, the same user prompt byte for byte
from the same parts, and the same code chunks for demo/shop's Python files.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from git_fixtures import commit_all, init_repo
from openai_stub import StubServer

from wikikit.bounded import read_jsonl
from wikikit.code.repo import Repo
from wikikit.errors import InputError
from wikikit.eval import stage as evaluate
from wikikit.eval.wiki.answer import score_page_answer
from wikikit.eval.wiki.refs import FileMap, RepoFacts
from wikikit.recipe.load import load_recipe
from wikikit.semanticwiki.items import (
    PAGE_SYSTEM,
    items_from_exchanges,
    items_from_repo,
    page_prompt,
    python_chunks,
    render_chunk,
)
from wikikit.stage import StageContext

ROOT = Path(__file__).resolve().parents[1]
PROMPTS = Path(__file__).resolve().parents[2] / "shared/fixtures/semanticwiki-prompts"
needs_prompts = pytest.mark.skipif(not PROMPTS.is_dir(), reason="captured prompts absent")
_PARTS = re.compile(
    r'\A# Documentation Task: "(?P<title>.*)"\n\nYou are documenting an? (?P<type>\w+) for .*?'
    r"## Source Code Context\n(?P<context>.*)\n\n## Documentation Requirements.*?"
    r"Link to these related pages:\n(?P<related>.*?)\n\n## Important Rules",
    re.S,
)


def captured_pages() -> list[Path]:
    return sorted(PROMPTS.glob("*/*-page.user.txt")) if PROMPTS.is_dir() else []


@needs_prompts
def test_page_prompt_is_byte_for_byte_what_the_client_sent() -> None:
    pages = captured_pages()
    assert len(pages) == 8
    for path in pages:
        sent = path.read_text(encoding="utf-8")
        m = _PARTS.match(sent)
        related = re.findall(r"^- \[(.*)\]\(\./(.*)\)$", m["related"], re.M)
        context = "" if m["context"] == "No source code available" else m["context"]
        assert page_prompt(m["title"], m["type"], context, related) == sent, path
        system = path.with_name(path.name.replace(".user.", ".system.")).read_text()
        assert system.rstrip("\n") == PAGE_SYSTEM


@needs_prompts
def test_python_chunks_are_the_client_s_chunks() -> None:
    shop = Repo(ROOT / "demo" / "shop", "shop")
    chunks = [
        c
        for p in shop.iter_files()
        if p.endswith(".py")
        for c in python_chunks(p, shop.read_text(p))
    ]
    sent = "".join(p.read_text() for p in PROMPTS.glob("with-rag/*-page.user.txt"))
    shown = re.findall(r"^### (\w+): (\w+) \((shop/[^:]+):(\d+)\)$", sent, re.M)
    assert len(set(shown)) >= 10
    ours = {(c.kind, c.name, c.path, str(c.start)): render_chunk(c) for c in chunks}
    for header in set(shown):
        assert ours[header] in sent, header  # header, fence, language, content, all equal


def ledger_repo(tmp_path: Path) -> tuple[Path, str]:
    repo = tmp_path / "ledger"
    shutil.copytree(ROOT / "demo" / "ledger", repo)
    init_repo(repo)
    return repo, commit_all(repo, "ledger")


def test_items_from_a_repo_point_at_real_definitions(tmp_path) -> None:
    root, commit = ledger_repo(tmp_path)
    repo = Repo(root, "demo/ledger", commit)
    items = items_from_repo(repo)
    assert [i["title"] for i in items] == ["Architecture Overview", "Accounts", "Journal", "Report"]
    assert all(i["system"] == PAGE_SYSTEM and i["commit"] == commit for i in items)
    journal = items[2]
    assert journal["related"] == ["architecture-overview.md", "accounts.md", "report.md"]
    # every chunk header names a definition that starts on that line of that file (its
    # decorators first, as SemanticWiki counts them)
    for item in items:
        for _kind, name, path, line in re.findall(
            r"^### (\w+): (\w+) \(([^:]+):(\d+)\)$", item["user"], re.M
        ):
            lines = repo.lines(path)[int(line) - 1 :]
            while lines[0].lstrip().startswith("@"):
                lines = lines[1:]
            assert re.match(rf"\s*(class|def) {name}\b", lines[0]), (path, line, lines[0])
    assert items_from_repo(repo, 2) == items[:2]


def test_items_from_recorded_exchanges() -> None:
    from wikikit.eval.wiki.exchanges import Exchange

    user = page_prompt("Journal", "module", "ctx", [("Report", "report.md")])
    xs = [Exchange("plan", "files", "{}"), Exchange("page", user, "short", system="sys"),
          Exchange("page", user, "long enough", system="sys")]  # fmt: skip
    items = list(items_from_exchanges(xs, "demo/ledger", "abc"))
    assert len(items) == 1  # the retry asks the same prompt again
    assert (items[0]["title"], items[0]["type"], items[0]["related"]) == (
        "Journal",
        "module",
        ["report.md"],
    )
    assert items[0]["user"] == user and items[0]["system"] == "sys"


def test_one_page_answer_scores() -> None:
    files = {"ledger/journal.py": (ROOT / "demo/ledger/ledger/journal.py").read_text()}
    facts = RepoFacts(FileMap(files))
    item = {"title": "Journal", "related": ["report.md", "accounts.md"]}
    good = (
        "# Journal\n\n## Overview\n\nBalanced transactions.\n\n## Key Components\n\n"
        "- `Journal.record` checks balance 📄 [ledger/journal.py:37](../ledger/journal.py#L37)\n"
        "- `Unbalanced` is raised 📄 [ledger/journal.py:11](../ledger/journal.py#L11)\n\n"
        "## How It Works\n\nSee [Report](./report.md).\n"
    )
    s = score_page_answer(good, item, facts, validator=lambda blocks: [])
    assert s["refs_right"] == (2, 2) and s["h1"] == (1, 1) and s["sections"] == (3, 3)
    assert s["related"] == (1, 2) and s["accepted"] == (1, 1) and s["mermaid_valid"] == (0, 0)
    silent = score_page_answer("# Journal\n\nNothing.", item, facts, validator=lambda b: [])
    assert silent["refs_right"] == (0, 1)  # no reference is one wrong reference
    assert silent["accepted"] == (0, 1) and silent["sections"] == (0, 3)


def _ctx(tmp_path: Path, eval_section: str, holdout: str = "[demo/ledger]") -> StageContext:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "wikikit: 1\nname: swtest\nstages: [eval]\nmodel: {base: tiny, format: harmony}\n"
        f"data: {{holdout: {holdout}, mix: {{all: {{weight: 1.0, sources: [own]}}}},\n"
        "       sources: {own: {kind: jsonl, paths: [own.jsonl]}}}\n"
        f"eval: {eval_section}\n"
    )
    run = tmp_path / "runs" / "swtest"
    return StageContext(recipe=load_recipe(recipe), stage="eval", run_dir=run,
                        out_dir=run / "eval", cache_dir=run / "cache" / "eval", inputs={})  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("broken", [False, True])
def test_stage_scores_heldout_items_with_intervals(tmp_path, broken) -> None:
    root, commit = ledger_repo(tmp_path)
    with StubServer(broken=broken) as server:
        section = (
            f"{{tasks: [semanticwiki_page], backend: openai, base_url: '{server.url}', "
            f"model_name: stub, heldout: {{repos: {{demo/ledger: {{path: {root}, commit: {commit}}}}}, items: 3}}}}"
        )
        ctx = _ctx(tmp_path, section)
        evaluate.run_stage(ctx)
        sent = [r["body"] for r in server.requests if r["path"].endswith("/chat/completions")]
    out = json.loads((ctx.out_dir / "results.json").read_text())
    items = read_jsonl(ctx.out_dir / "heldout/semanticwiki_page.jsonl")
    assert len(items) == 3 and len(sent) == 3
    # what went out: SemanticWiki's system prompt alone, its user prompt, its sampling
    for body in sent:
        assert [m["role"] for m in body["messages"]] == ["system", "user"]
        assert body["messages"][0]["content"] == PAGE_SYSTEM
        assert body["messages"][1]["content"] in {i["user"] for i in items}
        assert (
            body["temperature"] == 0.3
            and body.get("max_tokens", body.get("max_completion_tokens")) == 4096
        )
    page = out["intervals"]["semanticwiki_page"]
    if broken:
        assert page["refs_right"]["value"] == 0.0 and page["refs_resolved"]["value"] == 0.0
    else:
        assert page["refs_right"] == {"value": 1.0, "low": 1.0, "high": 1.0, "n": 3, "level": 0.95}
        assert page["mermaid_valid"]["value"] == 1.0 and page["related"]["value"] == 1.0
    assert out["scores"]["semanticwiki_page"]["refs_right"] == page["refs_right"]["value"]


def test_a_heldout_repo_must_be_held_out(tmp_path) -> None:
    root, commit = ledger_repo(tmp_path)
    section = (f"{{tasks: [semanticwiki_page], backend: openai, base_url: 'http://127.0.0.1:9/v1', "
               f"heldout: {{repos: {{demo/ledger: {{path: {root}}}}}}}}}")  # fmt: skip
    with pytest.raises(InputError, match="eval.heldout.repos.demo/ledger: not in data.holdout"):
        evaluate.run_stage(_ctx(tmp_path, section, holdout="[other/repo]"))


def test_shipped_items_are_current_and_hold_no_template_text() -> None:
    """The few shipped items (demo/ledger) rebuild the full prompt, and carry none of the
    template every real page prompt shares, so decontaminating training data against
    eval_tasks/ does not drop the client's own page examples."""
    import importlib.util

    from wikikit.semanticwiki.items import prompt_of

    spec = importlib.util.spec_from_file_location(
        "make_datasets", ROOT / "eval_tasks" / "make_datasets.py"
    )
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    shipped = read_jsonl(ROOT / "eval_tasks/semanticwiki_page/test.jsonl")
    assert shipped == json.loads(json.dumps(make.semanticwiki_page_rows()))  # regenerate if not
    full = items_from_repo(Repo(ROOT / "demo" / "ledger", "demo/ledger"))
    assert [prompt_of(r) for r in shipped] == [(PAGE_SYSTEM, i["user"]) for i in full]
    assert not any("Documentation Requirements" in json.dumps(r) for r in shipped)
