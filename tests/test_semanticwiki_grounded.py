"""Grounded answers (wikikit/semanticwiki/grounded.py) on real code nobody here wrote.

An installed pure-Python distribution (mdurl, from the environment: no network) is made a git
repository (wikikit/code/site_packages.py), the real SemanticWiki client documents it with the
grounded answerer as its model, and every answer is checked independently: the plan by the
client's own validation, each `📄` reference by reading the file, each Mermaid block by
Mermaid's parser, and every example by the data stage's quality filters.
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
import re
import subprocess
import textwrap
from collections import Counter
from pathlib import Path

import pytest
import semanticwiki_fixtures
from semanticwiki_fixtures import SHOP
from shared_paths import SEMANTICWIKI_PROMPTS

from wikikit.code import site_packages
from wikikit.code.repo import Repo
from wikikit.data.filters import DEFAULTS, build_filters
from wikikit.data.sources import SourceContext
from wikikit.data.sources.semanticwiki import generate
from wikikit.errors import InputError
from wikikit.recipe.load import load_recipe
from wikikit.semanticwiki import protocol
from wikikit.semanticwiki.endpoint import ChatRequest
from wikikit.semanticwiki.grounded import GroundedAnswerer, first_sentence
from wikikit.semanticwiki.plan_check import check_plan

semanticwiki_client = semanticwiki_fixtures.semanticwiki_client  # the session fixture
PACKAGE = "mdurl"  # 6 small modules, pure Python, installed with markdown-it-py
LOCAL_REF = re.compile(r"📄 \[([^\]\s:]+):(\d+)\]\(\.\./([^)#\s]+)#L(\d+)\)")


def checked_refs(text: str, root: Path) -> int:
    """How many `📄` references the page has; each must name a line of its file that names the
    symbol its section (or list item) is about (read with this test's own regexes)."""
    checked = 0
    for section in re.split(r"\n(?=### |- `)", text):
        head = re.match(r"### `(\w+)`|- `[\w.]+` calls `(?:\w+\.)*(\w+)`|- `(\w+)`", section)
        for path, line, target, anchor in LOCAL_REF.findall(section):
            assert path == target and line == anchor
            lines = (root / path).read_text(encoding="utf-8").splitlines()
            assert 1 <= int(line) <= len(lines), (path, line)
            assert head is not None, section
            name = head.group(1) or head.group(2) or head.group(3)
            assert re.search(rf"\b{name}\b", lines[int(line) - 1]), (path, line, name)
            checked += 1
    return checked


def _recipe(tmp_path: Path, extra: str = "") -> tuple[dict, SourceContext]:
    path = tmp_path / "r.yaml"
    path.write_text(
        "wikikit: 1\nname: t\nmodel: {base: tiny-gpt-oss}\ndata:\n"
        + textwrap.indent(extra, "  ")
        + "  mix: {all: {weight: 1, sources: [sw]}}\n  sources:\n    sw:\n"
        f"      kind: semanticwiki\n      repos: [{{site_package: {PACKAGE}}}]\n"
        "      answerer: {kind: grounded}\n"
    )
    recipe = load_recipe(path)
    ctx = SourceContext(
        recipe=recipe, cache_dir=tmp_path / "cache", key_path=("data", "sources", "sw")
    )
    return recipe.data["data"]["sources"]["sw"], ctx


def test_site_package_repo_is_deterministic_and_records_its_version(tmp_path):
    a = site_packages.build(PACKAGE, tmp_path / "a")
    b = site_packages.build(PACKAGE, tmp_path / "b")
    assert a.version == b.version == metadata.version(PACKAGE)
    assert a.commit == b.commit and len(a.commit) == 40
    assert site_packages.build(PACKAGE, tmp_path / "a") == a  # reused, not rebuilt
    head = subprocess.run(
        ["git", "-C", str(a.root), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    tracked = subprocess.run(
        ["git", "-C", str(a.root), "ls-files"], capture_output=True, text=True
    ).stdout.split()
    assert head == a.commit
    assert tracked == [rel for rel, _ in site_packages.source_files(metadata.distribution(PACKAGE))]
    assert all(t.endswith(".py") and "dist-info" not in t for t in tracked) and len(tracked) >= 3
    manifest = json.loads((a.root.parent / f"{a.root.name}.json").read_text())
    assert manifest == {
        "name": a.name,
        "version": a.version,
        "commit": a.commit,
        "files": len(tracked),
        "extensions": 0,
    }
    assert site_packages.spec_name({"site_package": "Foo_Bar"}) == "pypi/foo-bar"
    with pytest.raises(InputError, match="no-such-dist-xyz.* is not installed"):
        site_packages.build("no-such-dist-xyz", tmp_path / "c", where="data.sources.sw.repos.0")


def test_a_held_out_site_package_is_never_built(tmp_path):
    config, ctx = _recipe(tmp_path, f"holdout: [{PACKAGE}]\n")
    assert list(generate("sw", config, ctx)) == []
    assert ctx.stats["sw"]["holdout_repos"] == 1
    assert not (tmp_path / "cache" / "site-packages").exists()


def test_first_sentence_quotes_prose_only():
    assert first_sentence("Split a string.  More here.\n\nDetails.") == "Split a string."
    assert first_sentence("Parse it\n  over two lines. Then more.") == "Parse it over two lines."
    assert first_sentence(".. testsetup::\n\n    import x") is None
    assert first_sentence(">>> f(1)") is None and first_sentence(None) is None


def test_grounded_answers_the_captured_prompts_of_demo_shop():
    """The prompts a real run of the client sent about demo/shop, answered offline."""
    if SEMANTICWIKI_PROMPTS is None:
        pytest.skip("needs ../shared (captured SemanticWiki prompts)")
    answerer = GroundedAnswerer(Repo(SHOP, "demo/shop"))
    folder = SEMANTICWIKI_PROMPTS / "with-rag"
    calls, refs = Counter(), 0
    for user_file in sorted(folder.glob("*.user.txt")):
        user = user_file.read_text(encoding="utf-8")
        request = ChatRequest("m", None, user, [{"role": "user", "content": user}], {}, "")
        answer = answerer.answer(request)
        assert answer is not None and answer.content
        calls[request.call] += 1
        if request.call == "plan":
            prompt = protocol.parse_plan_prompt(user)
            verdict = check_plan(answer.content, prompt.files, prompt.min_pages)
            assert verdict.accepted and verdict.dropped == 0, verdict.reason
            assert len(verdict.kept) >= prompt.min_pages
        elif request.call == "page":
            page = protocol.parse_page_prompt(user)
            assert answer.content.startswith(f"# {page.title}\n")
            for title, filename in page.related:
                assert f"- [{title}](./{filename})" in answer.content
            refs += checked_refs(answer.content, SHOP)
    assert calls == {"plan": 1, "page": 4, "index": 1} and refs >= 8


def test_the_shipped_pool_is_installed_pure_python_and_disjoint():
    train, held = set(site_packages.TRAIN_POOL), set(site_packages.HELD_OUT_POOL)
    assert train and held and not train & held
    for name in train | held:
        dist = metadata.distribution(name)  # installed in wikikit's environment
        assert site_packages.extension_count(dist) == 0, name
        assert site_packages.source_files(dist), name


def test_held_out_site_packages_are_kept_out_of_code_reading_sources(tmp_path):
    from types import SimpleNamespace

    from wikikit.code.holdout import Holdout
    from wikikit.data.sources._repos import iter_source_repos

    ctx = SimpleNamespace(
        recipe=None,
        cache_dir=tmp_path,
        key_path=("data", "sources", "t"),
        holdout=Holdout(["mdurl"]),
    )
    ctx.stats = {"t": __import__("collections").Counter()}
    config = {"repos": [{"site_package": "mdurl"}, {"site_package": "sniffio"}]}
    repos = list(iter_source_repos("t", config, ctx, 1_000_000))
    assert [r.name for r in repos] == ["pypi/sniffio"] and ctx.stats["t"]["holdout_repos"] == 1
    assert repos[0].commit == site_packages.build("sniffio", tmp_path).commit
    assert "sniffio/__init__.py" in list(repos[0].iter_files())
    # the stage's last check: an example's repo (name@commit) matches the entry too
    assert Holdout(["pypi/mdurl"]).matches("pypi/mdurl@0d0974f") and Holdout(["mdurl"]).matches(
        "pypi/mdurl@0d0974f"
    )
    with pytest.raises(InputError, match=r"data.sources.t.repos.0: site_package takes only"):
        list(
            iter_source_repos("t", {"repos": [{"site_package": "sniffio", "commit": "x"}]}, ctx, 10)
        )


def test_pool_site_packages_command_prints_name_version_commit(tmp_path):
    from click.testing import CliRunner

    from wikikit.cli import cli

    result = CliRunner().invoke(cli, ["pool", "site-packages", "sniffio", "--cache", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (row,) = [json.loads(line) for line in result.output.splitlines()]
    assert row["repo"] == "pypi/sniffio" and row["version"] == metadata.version("sniffio")
    assert row["commit"] == site_packages.build("sniffio", tmp_path).commit
    bad = CliRunner().invoke(cli, ["pool", "site-packages", "no-such-dist-xyz", "--cache", "x"])
    assert bad.exit_code == 2 and "no-such-dist-xyz" in bad.output and "Traceback" not in bad.output


@pytest.mark.slow
def test_grounded_answers_through_the_real_client(tmp_path, semanticwiki_client):
    from wikikit.mermaid import extract_mermaid_blocks, validate

    config, ctx = _recipe(tmp_path)
    examples = list(generate("sw", config, ctx))
    built = site_packages.build(PACKAGE, tmp_path / "cache")
    root = built.root
    assert {e.repo for e in examples} == {f"pypi/{PACKAGE}@{built.commit}"}

    # the plan: the client's own validation keeps it, every page complete, files listed
    (plan,) = [e for e in examples if e.category == "plan"]
    prompt = protocol.parse_plan_prompt(plan.messages[-2].content)
    verdict = check_plan(plan.assistant_text, prompt.files, prompt.min_pages)
    assert verdict.accepted and verdict.dropped == 0, verdict.reason
    assert not verdict.adds_overview
    pages = json.loads(plan.assistant_text)["pages"]
    assert len(pages) >= prompt.min_pages
    for page in pages:
        assert set(page) == {"title", "filename", "type", "context", "files"}
        assert isinstance(page["files"], list) and page["files"]
        assert all(f in prompt.files for f in page["files"])
    planned = {p["title"] for p in pages}

    # the pages: H1, every reference resolves (the line exists and names the section's symbol)
    page_examples = [e for e in examples if e.category == "page"]
    assert planned <= {e.meta["title"] for e in page_examples}
    checked, diagrams = 0, []
    for ex in page_examples:
        text = ex.assistant_text
        assert text.startswith(f"# {ex.meta['title']}\n")
        checked += checked_refs(text, root)
        diagrams += [b.text for b in extract_mermaid_blocks(text)]
    assert checked >= 10
    assert diagrams and all(r.ok for r in validate(diagrams)), validate(diagrams)

    # the index lists the planned pages
    (index,) = [e for e in examples if e.category == "index"]
    for page in pages:
        assert f"](./{page['filename']})" in index.assistant_text

    # the data stage's quality filters keep them all
    filters = build_filters({**DEFAULTS, "local_mode": True}, ctx)
    dropped = {}
    for ex in examples:
        for f in filters:
            reason = f.check(ex)
            if reason:
                dropped[ex.meta.get("title") or ex.category] = f"{f.name}: {reason}"
                break
    kept = len(examples) - len(dropped)
    pages_dropped = [t for t in dropped if t in planned]
    assert not pages_dropped and kept >= len(pages), dropped
