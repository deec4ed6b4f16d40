"""The `synthetic` source end to end against a local OpenAI/Anthropic/Ollama-speaking server."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from synthetic_fakes import make_shop_repo, wiki_responder, write_recipe
from teacher_fakes import FakeTeacherServer

from wikikit.data.sources import SourceContext, synthetic
from wikikit.recipe.load import load_recipe
from wikikit.semanticwiki.tools import ToolExecutor, validate_call
from wikikit.teachers import estimate as teacher_estimate
from wikikit.teachers.pricing import TokenUsage, lookup

ALL = {c: 2 for c in synthetic.GENERATORS}


@pytest.fixture(autouse=True)
def _anthropic_key(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-fake")


def run_source(tmp_path, srv, provider="openai", categories=ALL, **teacher):
    if not (tmp_path / "shop").exists():
        make_shop_repo(tmp_path / "shop")
    cfg = {
        "provider": provider,
        "model": "gpt-4o"
        if provider == "openai"
        else ("claude-haiku-4-5" if provider == "anthropic" else "llama3"),
        "base_url": srv.base_url(provider),
        "timeout_s": 1.0,
        "max_attempts": 3,
        "backoff_base_s": 0.01,
        **teacher,
    }
    source = {"kind": "synthetic", "teacher": cfg, "repos": ["shop"], "categories": categories}
    recipe = load_recipe(write_recipe(tmp_path / "recipe.yaml", source))
    ctx = SourceContext(
        recipe=recipe, cache_dir=tmp_path / "cache", seed=3, key_path=("data", "sources", "distill")
    )
    config = recipe.data["data"]["sources"]["distill"]
    return list(synthetic.generate("distill", config, ctx)), ctx, config


def accounted(examples, ctx):
    failures = ctx.artifacts["synthetic/distill/failures.json"]
    ids = [e.id for e in examples] + [f["item"] for f in failures]
    assert len(ids) == len(set(ids)) == ctx.stats["distill"]["requested"]
    return failures


def test_the_teachers_own_thinking_is_kept_where_the_example_wants_it(tmp_path):
    def untagged(api, body):  # the answer carries no <thinking> part
        return re.sub(r"<thinking>.*?</thinking>\n?", "", wiki_responder(api, body), flags=re.S)

    with FakeTeacherServer(
        untagged, thinking=lambda body: "Adaptive: qty is checked first."
    ) as srv:
        examples, ctx, _ = run_source(
            tmp_path, srv, "anthropic", categories={"qa": 2, "design": 1, "component": 1}
        )
    assert accounted(examples, ctx) == []
    for e in examples:
        kept = e.messages[-1].thinking
        assert kept == ("Adaptive: qty is checked first." if e.category != "component" else None)


@pytest.mark.parametrize("provider", ["openai", "anthropic", "ollama"])
def test_every_category_produces_examples(provider, tmp_path):
    with FakeTeacherServer(wiki_responder) as srv:
        examples, ctx, _ = run_source(tmp_path, srv, provider)
    assert accounted(examples, ctx) == [], ctx.artifacts["synthetic/distill/failures.json"][:1]
    by_cat = {}
    for e in examples:
        by_cat.setdefault(e.category, []).append(e)
    assert {c: len(v) for c, v in by_cat.items()} == ALL
    for e in examples:
        assert e.source == "synthetic" and e.repo == "shop" and e.language == "python"
        assert e.messages[0].role == "system" and e.messages[-1].role == "assistant"
    qa = by_cat["qa"][0]
    assert qa.messages[-1].thinking == "add() checks qty before storing it."
    assert qa.messages[-1].content.startswith("It raises CartError.")
    assert "What happens when a quantity is zero?" in qa.messages[1].content
    assert by_cat["design"][0].messages[-1].thinking
    assert [m.role for m in by_cat["multi_turn"][0].messages] == ["system"] + [
        "user",
        "assistant",
    ] * 3
    assert by_cat["self_instruct"][0].meta["judge_score"] == 8
    doc = by_cat["component"][0]
    path = doc.meta["subject"][0]
    assert [r.to_dict() for r in doc.refs] == [{"path": path, "start": 1, "end": 5}]
    assert {e.meta["subject"][0] for e in by_cat["architecture"]} <= {"", "shop"}


def test_tool_use_trajectories_only_hold_valid_executed_calls(tmp_path):
    with FakeTeacherServer(wiki_responder) as srv:
        examples, ctx, _ = run_source(tmp_path, srv, categories={"tool_use": 2})
    assert len(examples) == 2
    repo_root = tmp_path / "shop"
    from wikikit.code.repo import open_repo

    repo = open_repo({"path": str(repo_root)}, tmp_path, tmp_path / "c")
    for e in examples:
        replay = ToolExecutor(repo, tmp_path / "replay" / e.id)
        calls = 0
        for i, m in enumerate(e.messages):
            for j, call in enumerate(m.tool_calls):
                calls += 1
                assert validate_call(call.name, call.arguments) is None
                result = e.messages[i + 1 + j]
                assert result.role == "tool" and result.name == call.name
                # the recorded result is what running the call produces
                assert replay.execute(call.name, call.arguments) == result.content
        names = [c.name for m in e.messages for c in m.tool_calls]
        # the teacher's invalid read_file {"file": ...} was rejected and left out
        assert names == [
            "directory_tree",
            "read_file",
            "analyze_code_structure",
            "write_wiki_page",
            "verify_wiki_completeness",
        ]
        assert calls == 5
        verify = [
            m for m in e.messages if m.role == "tool" and m.name == "verify_wiki_completeness"
        ][0]
        # the broken link is really detected, reported as SemanticWiki's tool reports it
        assert "Broken links: 1" in verify.content
        assert "- pricing.md (referenced from components/cart.md)" in verify.content
        assert e.meta["tools"][0]["function"]["name"] == "read_file"


def test_cache_second_run_makes_no_request_and_same_examples(tmp_path):
    with FakeTeacherServer(wiki_responder) as srv:
        first, _, _ = run_source(tmp_path, srv)
        n = len(srv.log)
        assert n > 0
        second, ctx, _ = run_source(tmp_path, srv)
        assert len(srv.log) == n  # zero HTTP requests on the second run
    assert [e.to_json() for e in first] == [e.to_json() for e in second]
    assert ctx.stats["distill"]["api_calls"] == 0 and ctx.stats["distill"]["cache_hits"] > 0


def test_offline_mode_reports_misses(tmp_path):
    with FakeTeacherServer(wiki_responder) as srv:
        run_source(tmp_path, srv, categories={"component": 2})
        examples, ctx, _ = run_source(
            tmp_path, srv, categories={"component": 2, "mermaid": 2}, offline=True
        )
        calls = len(srv.log)
    assert calls == 2
    failures = accounted(examples, ctx)
    assert [e.category for e in examples] == ["component", "component"]
    assert [f["reason"] for f in failures] == ["offline_miss", "offline_miss"]
    assert ctx.stats["distill"]["offline_misses"] == 2


def test_faults_each_item_exactly_once(tmp_path):
    # Markers are subjects' code lines, so one file's items meet the faults.
    faults = {"def remove": ["500"] * 30, "PRICES = {": ["429", "truncated", "ok"]}
    with FakeTeacherServer(wiki_responder, faults=faults) as srv:
        examples, ctx, _ = run_source(tmp_path, srv, categories={"component": 3, "mermaid": 3})
    failures = accounted(examples, ctx)
    assert ctx.stats["distill"]["requested"] == 6
    assert failures and all(f["subject"] == ["shop/cart.py"] for f in failures)
    assert {f["reason"] for f in failures} == {"retries_exhausted"}
    assert all(e.meta["subject"] == ["shop/pricing.py"] for e in examples)


def test_budget_stop_is_reported(tmp_path):
    prices = {"input_per_mtok": 0.0, "output_per_mtok": 1_000_000.0}
    with FakeTeacherServer(wiki_responder, output_tokens=lambda body, text: 5) as srv:
        examples, ctx, _ = run_source(
            tmp_path,
            srv,
            categories={"component": 4},
            max_tokens=10,
            prices=prices,
            max_usd=25,
            concurrency=2,
        )
        made = len(srv.log)
    # worst case $10 a request: 2 fit under $25 before the spend of the first is known
    failures = accounted(examples, ctx)
    assert made == len(examples) and made >= 2
    assert {f["reason"] for f in failures} == {"budget"}
    assert ctx.stats["distill"]["budget_stop"] == 1 and ctx.stats["distill"][
        "failed_budget"
    ] == len(failures)


def test_judge_rejects_weak_answers(tmp_path):
    def strict(api, body):
        text = wiki_responder(api, body)
        return '{"score": 3, "reason": "vague"}' if text.startswith('{"score"') else text

    with FakeTeacherServer(strict) as srv:
        examples, ctx, _ = run_source(tmp_path, srv, categories={"self_instruct": 2})
    failures = accounted(examples, ctx)
    assert examples == [] and [f["reason"] for f in failures] == ["judge_rejected"] * 2


def dry_run(tmp_path, srv, teacher=None, repos=("shop",), categories=None):
    make_shop_repo(tmp_path / "shop")
    source = {
        "kind": "synthetic",
        "teacher": teacher
        or {
            "provider": "anthropic",
            "model": "claude-sonnet-5-5",
            "base_url": srv.url,
            "max_tokens": 1000,
            "max_usd": 1,
        },
        "repos": list(repos),
        "categories": categories or {"component": 3, "multi_turn": 1, "architecture": 50},
    }
    recipe = load_recipe(write_recipe(tmp_path / "recipe.yaml", source))
    ctx = SourceContext(
        recipe=recipe,
        cache_dir=tmp_path / "cache",
        key_path=("data", "sources", "distill"),
        dry_run=True,
    )
    config = recipe.data["data"]["sources"]["distill"]
    return synthetic.estimate("distill", config, ctx), synthetic.plan_lines("distill", config, ctx)


def test_dry_run_estimate_spends_nothing(tmp_path):
    with FakeTeacherServer(wiki_responder) as srv:
        teacher = {
            "provider": "anthropic",
            "model": "claude-sonnet-5-5",
            "base_url": srv.url,
            "max_tokens": 4096,
            "max_usd": 1,
        }
        est, lines = dry_run(tmp_path, srv, teacher)
        assert srv.log == []
    # 2 code files x 2 variants for folder subjects (root and shop/) = 4 architecture items
    assert est["items"] == 3 + 1 + 4 and est["short"] == {"architecture": 46}
    assert est["requests"] == 3 + 3 + 4
    assert est["input_tokens"] > 1000
    cost, per = est["expected_usd"], est["usd_per_item"]
    assert cost["plain"] > 0 and est["worst_case_usd"] > cost["plain"]
    # batch is half price; the shop's files are below Sonnet's 2,048-token cache minimum, so
    # only multi_turn's continued conversation is cached (outside batches)
    assert cost["batch"] == pytest.approx(cost["plain"] / 2)
    assert cost["cached"] < cost["plain"] and cost["batch_cached"] == cost["batch"]
    assert per["plain"] == pytest.approx(cost["plain"] / est["items"], abs=1e-6)
    assert est["per_category"]["multi_turn"]["requests"] == 3
    assert "anthropic/claude-sonnet-5-5" in lines[0] and "architecture -46" in lines[-1]
    assert "prompt caching $" in lines[1] and "/item) <- this recipe" in lines[1]
    assert any(line.strip().startswith("component") and "3 items" in line for line in lines)
    assert any("within max_usd $1.00" in line for line in lines)


def test_dry_run_prices_a_shared_context_read_from_the_prompt_cache(tmp_path, monkeypatch):
    # Pretend the model caches from 50 tokens: the shop's file listings then qualify.
    monkeypatch.setattr(teacher_estimate, "min_cacheable_tokens", lambda model: 50)
    with FakeTeacherServer(wiki_responder) as srv:
        est, _ = dry_run(tmp_path, srv, categories={"component": 6, "mermaid": 6, "qa": 4})
    cost = est["expected_usd"]
    # 16 items over 2 files: each file's context is written once (1.25x, 1h batch: 2x) and
    # read by its 7 other items (0.1x)
    assert est["cache_read_tokens"] > 0.5 * est["input_tokens"]
    assert cost["cached"] < cost["plain"] and cost["batch_cached"] < cost["batch"]
    assert est["batch_cached_no_hits_usd"] > cost["batch"]  # writes with no hit cost extra


def test_dry_run_of_an_offline_teacher_spends_nothing(tmp_path):
    offline = {"provider": "anthropic", "model": "claude-sonnet-4-5", "offline": True}
    with FakeTeacherServer(wiki_responder) as srv:
        _, lines = dry_run(tmp_path, srv, offline, categories={"component": 2})
    assert lines == [
        "synthetic source 'distill': anthropic/claude-sonnet-4-5, 2 items (2 requested), "
        "~2 requests; offline: every answer comes from the teacher cache, nothing is sent or spent"
    ]


def test_dry_run_names_repositories_not_cloned_and_clones_nothing(tmp_path):
    url = "https://git.example.invalid/acme/app.git"  # .invalid: a clone attempt would fail
    with FakeTeacherServer(wiki_responder) as srv:
        est, lines = dry_run(tmp_path, srv, repos=("shop", url), categories={"component": 10})
    assert est["uncloned"] == [url] and est["items"] == 6  # the shop's 2 files x 3 variants
    note = lines[-1]
    assert "1 repository is not cloned yet (https://git.example.invalid/acme/app.git)" in note
    assert "estimates that leave them out" in note and "items still missing" in note
    assert not (tmp_path / "cache" / "repos").exists()


def test_dry_run_with_every_repository_uncloned_prices_a_stand_in_not_zero(tmp_path):
    url = "https://git.example.invalid/acme/app.git"
    with FakeTeacherServer(wiki_responder) as srv:
        est, lines = dry_run(tmp_path, srv, repos=(url,), categories={"component": 2000})
    assert est["uncloned"] == [url] and est["stand_in"] == "wikikit's own code"
    # measured on the stand-in's own items: their count is what wikikit's package offers
    assert 0 < est["items"] < 2000 and est["usd_per_item"]["plain"] > 0
    assert "2,000 items requested" in lines[0]
    assert (
        "none of its 1 repository is cloned yet (https://git.example.invalid/acme/app.git)"
        in (lines[1])
    )
    assert f"({est['items']:,} items like these)" in lines[1]
    chosen = est["usd_per_item"][
        teacher_estimate.chosen_scenario(est["batch"], est["prompt_cache"])
    ]
    assert f"expected ~${2000 * chosen:,.2f}" in lines[2]
    # 2,000 items at max_tokens 1000 cannot fit max_usd $1: the extrapolation says so
    assert "OVER max_usd $1.00" in lines[2] and "a guess" in lines[2]
    assert not (tmp_path / "cache" / "repos").exists()


def test_batch_mode_every_category_through_message_batches(tmp_path, monkeypatch):
    from wikikit.teachers import batch

    monkeypatch.setattr(batch, "COLLECT_QUIET_S", 0.05)
    with FakeTeacherServer(wiki_responder) as srv:
        examples, ctx, _ = run_source(
            tmp_path, srv, "anthropic", batch=True, batch_poll_s=0.01, max_tokens=512
        )
        creates = srv.calls("anthropic_batch_create")
        direct = srv.calls("anthropic")
        usages = list(srv.usages)
    assert accounted(examples, ctx) == []
    assert sorted(e.category for e in examples) == sorted(
        c for c, n in ALL.items() for _ in range(n)
    )
    stats = ctx.stats["distill"]
    # one batch per round of steps: tool_use items take the most (discover, read, write, end)
    assert direct == 0 and 4 <= creates == stats["batches_created"] <= 8
    prices = lookup("claude-haiku-4-5")
    expected = sum(
        prices.cost(
            TokenUsage(
                u["usage"]["input_tokens"],
                u["usage"]["output_tokens"],
                u["usage"]["cache_creation"]["ephemeral_5m_input_tokens"],
                u["usage"]["cache_creation"]["ephemeral_1h_input_tokens"],
                u["usage"]["cache_read_input_tokens"],
            ),
            batch=True,
        )
        for u in usages
    )
    assert stats["usd"] == pytest.approx(expected, abs=1e-6) and stats["cache_read_tokens"] > 0


def test_refused_temperature_stops_the_run_with_the_recipe_key(tmp_path):
    import os
    import subprocess
    import sys

    make_shop_repo(tmp_path / "shop")
    with FakeTeacherServer(wiki_responder, reject_params=("temperature",)) as srv:
        teacher = {
            "provider": "anthropic",
            "model": "claude-opus-5-5",  # not known to refuse: the server's 400 says so
            "base_url": srv.url,
            "temperature": 0.4,
            "concurrency": 2,
            "backoff_base_s": 0.01,
        }
        source = {"kind": "synthetic", "teacher": teacher, "repos": ["shop"], "categories": ALL}
        recipe = write_recipe(tmp_path / "recipe.yaml", source)
        proc = subprocess.run(
            [str(Path(sys.executable).parent / "wikikit"), "run", str(recipe), "--only", "data",
             "--run-dir", str(tmp_path / "run")],
            cwd=tmp_path, capture_output=True, text=True, timeout=120,
            env={**os.environ, "ANTHROPIC_API_KEY": "sk-ant-fake"},
        )  # fmt: skip
        sent = srv.calls("anthropic")
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert len(errors) == 1 and "Traceback" not in proc.stderr
    assert errors[0].startswith("error: data.sources.distill.teacher.temperature: anthropic")
    assert "temperature: not supported" in errors[0]
    assert sent <= 2  # the requests in flight when the first refusal came back; no retries


@pytest.mark.slow
def test_flagship_recipe_dry_run_estimate():
    root = Path(__file__).resolve().parents[1]
    recipe = load_recipe(root / "recipes" / "semanticwiki-gpt-oss-20b.yaml")
    key = ("data", "sources", "agent_tool_use")
    ctx = SourceContext(
        recipe=recipe, cache_dir=root / ".cache" / "test-flagship", key_path=key, dry_run=True
    )
    # The flagship's repositories are on GitHub; the estimate counts this checkout instead,
    # so the test never leaves the machine.
    config = {**recipe.data["data"]["sources"]["agent_tool_use"], "repos": [str(root)]}
    lines = synthetic.plan_lines("agent_tool_use", config, ctx)
    shutil.rmtree(root / ".cache" / "test-flagship", ignore_errors=True)
    assert "anthropic/claude-sonnet-5-5" in lines[0] and "(3000 requested)" in lines[0]
    assert "/item) <- this recipe" in lines[1] and "batch + caching $" in lines[1]
    assert "within max_usd $450.00" in lines[3]


def test_failure_report_holds_no_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTH_TEST_KEY", "sk-very-secret-987")
    with FakeTeacherServer(wiki_responder, faults={"def remove": ["400"] * 9}) as srv:
        examples, ctx, config = run_source(
            tmp_path, srv, categories={"component": 3}, api_key="${SYNTH_TEST_KEY}"
        )
        assert any("sk-very-secret-987" in " ".join(r["headers"].values()) for r in srv.log)
    failures = accounted(examples, ctx)
    assert failures and "sk-very-secret-987" not in json.dumps(failures)
    assert "sk-very-secret-987" not in (tmp_path / "cache" / "teacher.sqlite").read_text(
        errors="ignore"
    )
