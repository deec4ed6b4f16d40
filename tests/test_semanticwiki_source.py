"""The `semanticwiki` source's pieces without the client: recordings into examples, the
local-mode filter, recipe errors, the install and the client's subprocess."""

from __future__ import annotations

import json
import os
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from wikikit.code.repo import Repo
from wikikit.data.filters.local_mode import LocalModeFilter
from wikikit.data.sources import SourceContext
from wikikit.data.sources.semanticwiki import examples_from_exchanges, generate, resolve_targets
from wikikit.errors import InputError
from wikikit.example import Example, Message
from wikikit.recipe.load import load_recipe
from wikikit.semanticwiki import install, protocol
from wikikit.semanticwiki.client import PLACEHOLDER_KEY, run_generate
from wikikit.semanticwiki.install import ClientInstall, ClientSpec, ensure_client

ROOT = Path(__file__).resolve().parents[1]
SHOP = ROOT / "demo" / "shop"

PAGE_USER = (
    '# Documentation Task: "Cart"\n\nYou are documenting a component for a software project. '
    "Based on the source code below, write comprehensive technical documentation.\n\n"
    "## Source Code Context\n\n### class: Cart (shop/cart.py:15)\n```python\nclass Cart:\n"
    "    x = 1\n```\n\n## Documentation Requirements\n\n### 4. Related Documentation\n"
    "Link to these related pages:\nnone\n"
)
PLAN_USER = (
    f"{protocol.PLAN_OPENING}\n\n## Project Files\nshop/cart.py (.py, medium)\n"
    "README.md (.md, small)\n\n## Task\nPlan.\n"
)


def exchange(call, user, answer, status="answered", **meta):
    return {
        "call": call, "system": "sys", "user": user, "answer": answer, "thinking": None,
        "status": status, "options": protocol.CALL_OPTIONS.get(call, {}), "meta": meta,
    }  # fmt: skip


def test_exchanges_become_examples_once_each():
    page = "# Cart\n\nHolds items 📄 [shop/cart.py:15](../shop/cart.py#L15) and 📄 [shop/api.py:12](../shop/api.py#L12).\n"
    recorded = [
        exchange("plan", PLAN_USER, '{"projectType": "x", "pages": []}'),
        {**exchange("page", PAGE_USER, page), "date": "2026-11-30"},
        exchange("page", PAGE_USER, page),  # the client's retry of the same prompt
        exchange("page", PAGE_USER.replace("Cart", "Other"), "", status="pending"),
        exchange("index", "Generate an index page for a technical wiki", "", declined="none"),
        exchange("plan", PLAN_USER + " again", '{"projectType": ', stop_reason="max_tokens"),
    ]
    stats: Counter = Counter()
    repo = Repo(SHOP, "demo/shop", "abc123")
    examples = list(examples_from_exchanges(recorded, repo, "teacher", ["plan", "page"], stats))
    assert [e.category for e in examples] == ["plan", "page"]
    ex = examples[1]
    assert [m.role for m in ex.messages] == ["system", "user", "assistant"]
    assert ex.messages[1].content == PAGE_USER and ex.messages[2].content == page
    assert ex.repo == "demo/shop@abc123" and ex.language == "python"
    assert [(r.path, r.start) for r in ex.refs] == [("shop/cart.py", 15), ("shop/api.py", 12)]
    assert ex.meta["protocol"] == protocol.PROTOCOL and ex.meta["title"] == "Cart"
    assert ex.meta["recorded"] == "2026-11-30" and "recorded" not in examples[0].meta
    assert (
        ex.meta["refs_total"],
        ex.meta["refs_file_in_context"],
        ex.meta["refs_line_in_context"],
    ) == (2, 1, 1)
    assert stats["skipped_repeated_prompt"] == 1 and stats["skipped_pending"] == 1
    assert stats["skipped_call_not_wanted"] == 1 and stats["skipped_truncated"] == 1
    assert examples[0].id != examples[1].id


def local(category: str, user: str, answer: str, **meta) -> Example:
    return Example(
        id="x", category=category, source="semanticwiki",
        messages=[Message("user", user), Message("assistant", answer)],
        meta={"protocol": protocol.PROTOCOL, "options": protocol.CALL_OPTIONS[category], **meta},
    )  # fmt: skip


def test_local_mode_filter_reasons():
    f = LocalModeFilter(min_context_share=0.5)

    def pages(files, **page):
        page = {"title": "A", "filename": "a.md", "type": "module", "files": files, **page}
        return json.dumps({"projectType": "x", "pages": [page]})

    assert f.check(local("plan", PLAN_USER, pages(["shop/cart.py"]))) is None
    assert f.check(local("plan", PLAN_USER, f"```json\n{pages(['shop/cart.py'])}\n```")) is None
    # plans the client throws away whole for its pattern plan (plan_check) are never trained
    untyped = pages(["shop/cart.py"], type=None)
    assert f.check(local("plan", PLAN_USER, untyped)) == "plan_discarded (page 1: no `type` string)"
    unnamed = pages(["shop/cart.py"], filename=None)
    assert f.check(local("plan", PLAN_USER, unnamed)).startswith("plan_discarded (page 1: no `file")
    assert f.check(local("plan", PLAN_USER, pages("shop/cart.py"))).startswith("plan_discarded")
    assert (
        f.check(local("plan", PLAN_USER, pages(["shop/nope.py"])))
        == "plan_file_missing (shop/nope.py)"
    )
    assert f.check(local("plan", PLAN_USER, "I think the plan is...")) == "plan_unparsable"
    assert f.check(local("plan", PLAN_USER, '{"pages": []}')) == "plan_no_pages"
    page = dict(title="Cart", refs_total=4, refs_file_in_context=1)
    assert f.check(local("page", PAGE_USER, "## Cart\n\ntext", **page)) == "page_no_h1"
    assert f.check(local("page", PAGE_USER, "# Cart\n\ntext", **page)) == "low_context_share (0.25)"
    page["refs_file_in_context"] = 3
    assert f.check(local("page", PAGE_USER, "# Cart\n\ntext", **page)) is None
    long = local("index", "Generate an index page", "word " * 3000)
    assert f.check(long) == "over_num_predict (2048 tokens)"
    other = Example(id="y", category="page", source="jsonl", messages=[Message("assistant", "x")])
    assert f.check(other) is None  # not recorded through the client: not judged here


def write_recipe(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "r.yaml"
    path.write_text(
        "wikikit: 1\nname: t\nmodel: {base: tiny-gpt-oss}\ndata:\n"
        "  mix: {all: {weight: 1, sources: [sw]}}\n  sources:\n"
        + textwrap.indent(textwrap.dedent(source), "    ")
    )
    return path


@pytest.mark.parametrize(
    "source, message",
    [
        ("sw: {kind: semanticwiki, repos: [.]}\n", "missing required key 'answerer'"),
        ("sw: {kind: semanticwiki, answerer: {kind: oracle}}\n", "'oracle' is not one of"),
        ("sw: {kind: semanticwiki, answerer: {kind: teacher}}\n", "missing required key 'teacher'"),
        ("sw: {kind: semanticwiki, answerer: {kind: model, model: m}}\n", "missing required key 'base_url'"),
        ("sw: {kind: semanticwiki, answerer: {kind: replay}, calls: [toc]}\n", "'toc' is not one of"),
        ("sw: {kind: semanticwiki, answerer: {kind: replay}, client: {timeout: 3}}\n", "timeout"),
        ("sw: {kind: semanticwiki, answerer: {kind: model, base_url: u, model: m, api_key: sk-1}}\n",
         "secret fields take only an environment reference"),
    ],
)  # fmt: skip
def test_recipe_errors_name_the_key(tmp_path, source, message):
    with pytest.raises(InputError) as err:
        load_recipe(write_recipe(tmp_path, source))
    text = "\n".join(err.value.args[1]) if len(err.value.args) > 1 else str(err.value)
    assert message in text and "data.sources.sw" in text and "r.yaml:" in text


def test_dataset_repo_without_a_checkout_is_an_input_error(tmp_path):
    rows = tmp_path / "rows.jsonl"
    rows.write_text(
        json.dumps(
            {
                "repo_name": "shop",
                "commit_id": "",
                "docs_tree": "{}",
                "structured_docs": "{}",
                "rubrics": "{}",
            }
        )
        + "\n"
    )
    recipe = load_recipe(
        write_recipe(
            tmp_path,
            f"sw: {{kind: semanticwiki, answerer: {{kind: replay, wiki: codewikibench}}, codewikibench: {{path: {rows.name}}}}}\n",
        )
    )
    cfg = recipe.data["data"]["sources"]["sw"]
    ctx = SourceContext(
        recipe=recipe, cache_dir=tmp_path / "cache", key_path=("data", "sources", "sw")
    )
    from wikikit.code.holdout import Holdout

    with pytest.raises(
        InputError, match=r"data\.sources\.sw\.codewikibench\.repos: no checkout for 'shop'"
    ):
        resolve_targets("sw", cfg, ctx, Holdout())
    # Held out, it is skipped (and counted) instead.
    assert resolve_targets("sw", cfg, ctx, Holdout(["shop"])) == []
    assert ctx.stats["sw"]["holdout_repos"] == 1


def test_held_out_listed_repos_are_skipped(tmp_path):
    recipe = load_recipe(
        write_recipe(
            tmp_path,
            "sw:\n  kind: semanticwiki\n  answerer: {kind: replay}\n"
            "  repos: [{path: ., name: All-Hands-AI/OpenHands}, {path: ., name: demo/shop}]\n",
        )
    )
    recipe.data["data"]["holdout"] = ["OpenHands"]
    cfg = recipe.data["data"]["sources"]["sw"]
    ctx = SourceContext(recipe=recipe, cache_dir=tmp_path / "c", key_path=("data", "sources", "sw"))
    from wikikit.data.sources.semanticwiki import holdout_of

    assert [t.name for t in resolve_targets("sw", cfg, ctx, holdout_of(ctx))] == ["demo/shop"]
    assert ctx.stats["sw"]["holdout_repos"] == 1


def test_install_errors_and_reuse(tmp_path):
    with pytest.raises(InputError, match="holds no node_modules/semanticwiki"):
        ensure_client(ClientSpec(install=tmp_path))
    with pytest.raises(InputError, match="no such pack"):
        ensure_client(ClientSpec(tgz=tmp_path / "missing.tgz"), cache=tmp_path)
    # A finished install (its stamp) is used as it is: no npm, no network.
    dest = install.install_dir(tmp_path)
    cli = dest / "node_modules" / "semanticwiki" / "dist" / "cli.js"
    cli.parent.mkdir(parents=True)
    cli.write_text("")
    (dest / "stamp.json").write_text(
        json.dumps(
            {"version": "1.2.1", "cli": "node_modules/semanticwiki/dist/cli.js", "source": "tgz"}
        )
    )
    got = ensure_client(ClientSpec(tgz=tmp_path / "never-read.tgz"), cache=tmp_path)
    assert got.cli == cli and got.source == "tgz"


def fake_client(tmp_path: Path, script: str) -> ClientInstall:
    cli = tmp_path / "cli.js"
    cli.write_text(script)
    return ClientInstall(tmp_path, cli, None, "1.2.1", "test")


def test_client_runs_with_argument_list_scratch_home_and_no_real_key(tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-the-users-real-key")
    monkeypatch.setenv("SOME_TOKEN", "secret-value")
    client = fake_client(
        tmp_path,
        "console.log(JSON.stringify({argv: process.argv.slice(2), env: process.env, cwd: process.cwd()}));",
    )
    run = run_generate(
        client,
        Path("/repo; rm -rf x"),
        tmp_path / "w",
        host="http://127.0.0.1:1",
        model="m",
        timeout_s=30,
    )
    assert run.ok
    seen = json.loads(run.log.read_text().splitlines()[-1])
    assert seen["argv"][:3] == ["generate", "-r", "/repo; rm -rf x"]  # one argument, no shell
    assert "--full-local" in seen["argv"] and seen["argv"][-1] == "http://127.0.0.1:1"
    assert seen["env"]["ANTHROPIC_API_KEY"] == PLACEHOLDER_KEY
    assert "SOME_TOKEN" not in seen["env"] and seen["env"]["HOME"] == str(tmp_path / "w" / "home")
    assert "sk-ant-the-users-real-key" not in run.log.read_text()


def test_client_run_is_bounded_in_time(tmp_path):
    client = fake_client(tmp_path, "setTimeout(() => {}, 60000);")
    started = time.monotonic()
    run = run_generate(client, tmp_path, tmp_path / "w", host="h", model="m", timeout_s=1)
    assert run.timed_out and not run.ok and time.monotonic() - started < 10


def test_dry_run_starts_nothing(tmp_path):
    recipe = load_recipe(
        write_recipe(tmp_path, "sw: {kind: semanticwiki, answerer: {kind: replay}, repos: [.]}\n")
    )
    ctx = SourceContext(
        recipe=recipe, cache_dir=tmp_path / "c", dry_run=True, key_path=("data", "sources", "sw")
    )
    assert list(generate("sw", recipe.data["data"]["sources"]["sw"], ctx)) == []
    assert not (tmp_path / "c").exists()
    assert os.environ.get("WIKIKIT_NEVER_SET") is None


def test_reference_check_opens_the_sources_checkouts(tmp_path):
    """verify_refs finds a semanticwiki source's repository and checks every 📄 line in it."""
    from wikikit.data.filters.references import RepoIndex, VerifyRefsFilter

    recipe = load_recipe(
        write_recipe(
            tmp_path,
            f"sw:\n  kind: semanticwiki\n  answerer: {{kind: replay}}\n"
            f"  repos: [{{path: {SHOP}, name: demo/shop}}]\n",
        )
    )
    check = VerifyRefsFilter(RepoIndex(recipe, tmp_path / "cache"))
    repo_id = Repo(SHOP, "demo/shop").id
    lines = len((SHOP / "shop" / "cart.py").read_text().splitlines())

    def page(line: int) -> Example:
        text = f"# Cart\n\nSee 📄 [shop/cart.py:{line}](../shop/cart.py#L{line}).\n"
        return Example(id="p", category="page", source="semanticwiki", repo=repo_id,
                       messages=[Message("assistant", text)])  # fmt: skip

    assert check.check(page(lines)) is None
    assert check.check(page(lines + 1)) == f"bad_ref (range outside file ({lines} lines))"
    assert check.counts["refs_verified"] == 1 and "repo_unavailable" not in check.counts
