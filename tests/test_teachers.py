"""Teachers against a local server speaking each provider's real wire API (SDKs pointed at it)."""

from __future__ import annotations

import collections
import sqlite3

import pytest
from teacher_fakes import FakeTeacherServer

from wikikit.errors import InputError
from wikikit.teachers import (
    BudgetExhausted,
    Fatal,
    OfflineMiss,
    RetriesExhausted,
    TeacherRequest,
    TeacherResponse,
    make_teacher,
)
from wikikit.teachers.cache import request_key
from wikikit.teachers.pricing import lookup, resolve_prices

PROVIDERS = ["anthropic", "openai", "ollama"]
SECRET = "sk-test-SECRET-123"


def teacher_for(srv, provider, tmp_path, **extra):
    config = {
        "provider": provider,
        "model": "claude-sonnet-5-5" if provider == "anthropic" else "gpt-4o",
        "base_url": srv.base_url(provider),
        "timeout_s": 0.5,
        "max_attempts": 3,
        "backoff_base_s": 0.01,
        "max_tokens": 64,
        **extra,
    }
    return make_teacher(config, api_key=SECRET, cache_path=tmp_path / "teacher.sqlite")


def requests(n):
    return [
        TeacherRequest.of([("user", f"question item-{i}.")], system="be brief") for i in range(n)
    ]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_faults_each_item_ends_exactly_once(provider, tmp_path):
    faults = {
        "item-1.": ["429", "ok"],
        "item-2.": ["500", "500", "500"],  # exhausts max_attempts=3
        "item-3.": ["timeout", "ok"],
        "item-4.": ["malformed", "ok"],
        "item-5.": ["truncated", "ok"],
        "item-6.": ["400"],
        "item-7.": ["500", "429", "ok"],
    }
    with FakeTeacherServer(faults=faults, hang_s=1.5) as srv:
        teacher = teacher_for(srv, provider, tmp_path)
        out = teacher.complete_many(requests(10))
        served = collections.Counter((r["marker"], r["fault"]) for r in srv.log)
    assert len(out) == 10
    ok = [i for i, o in enumerate(out) if isinstance(o, TeacherResponse)]
    assert ok == [0, 1, 3, 4, 5, 7, 8, 9]
    for i in ok:
        assert out[i].text == f"Answer to: question item-{i}."
    assert isinstance(out[2], RetriesExhausted) and "http_500" in str(out[2])
    assert isinstance(out[6], Fatal)
    # each fault was really served by the server, then retried to success
    for marker, fault in [
        ("item-1.", "429"),
        ("item-3.", "timeout"),
        ("item-4.", "malformed"),
        ("item-5.", "truncated"),
    ]:
        assert served[(marker, fault)] == 1 and served[(marker, "ok")] == 1
    assert served[("item-2.", "500")] == 3 and served[("item-6.", "400")] == 1
    # the key went to the server in the provider's header, and nowhere into the cache
    assert any(SECRET in " ".join(r["headers"].values()) for r in srv.log)
    blob = (tmp_path / "teacher.sqlite").read_bytes()
    assert SECRET.encode() not in blob
    assert SECRET not in str(out[2]) + str(out[6])
    assert teacher.usage.responses == 8


@pytest.mark.parametrize("provider", PROVIDERS)
def test_retry_after_is_honoured(provider, tmp_path):
    import time

    with FakeTeacherServer(faults={"item-0.": ["429", "ok"]}, retry_after="0.6") as srv:
        teacher = teacher_for(srv, provider, tmp_path)
        start = time.monotonic()
        out = teacher.complete_many(requests(1))
        elapsed = time.monotonic() - start
    assert isinstance(out[0], TeacherResponse)
    assert elapsed >= 0.6  # backoff alone (base 0.01 s) would have retried at once


@pytest.mark.parametrize("provider", PROVIDERS)
def test_cache_second_run_makes_no_request(provider, tmp_path):
    with FakeTeacherServer() as srv:
        first = teacher_for(srv, provider, tmp_path).complete_many(requests(5))
        n = len(srv.log)
        second_teacher = teacher_for(srv, provider, tmp_path)
        second = second_teacher.complete_many(requests(5))
        assert len(srv.log) == n == 5
    assert [r.text for r in first] == [r.text for r in second]
    assert second_teacher.usage.cache_hits == 5 and second_teacher.usage.api_calls == 0


def test_offline_serves_cache_and_reports_misses(tmp_path):
    with FakeTeacherServer() as srv:
        teacher_for(srv, "openai", tmp_path).complete_many(requests(3))
        offline = teacher_for(srv, "openai", tmp_path, offline=True)
        out = offline.complete_many(requests(5))
        assert len(srv.log) == 3
    assert [type(o).__name__ for o in out] == ["TeacherResponse"] * 3 + ["OfflineMiss"] * 2
    assert offline.usage.offline_misses == 2 and isinstance(out[4], OfflineMiss)


def test_offline_leaves_a_shipped_cache_byte_for_byte(tmp_path):
    # The demo ships its teacher cache in the checkout: an offline run reads it and must not
    # touch it (a writable open would switch it to WAL mode, rewriting its header).
    with FakeTeacherServer() as srv:
        online = teacher_for(srv, "openai", tmp_path)
        online.complete_many(requests(3))
        online.cache.close()
    shipped = tmp_path / "teacher.sqlite"
    conn = sqlite3.connect(shipped)
    conn.execute("PRAGMA journal_mode=DELETE")  # as demo/build_teacher_cache.py ships it
    conn.close()
    before = shipped.read_bytes()
    with FakeTeacherServer() as srv:
        offline = teacher_for(srv, "openai", tmp_path, offline=True)
        out = offline.complete_many(requests(4))
        assert srv.log == []
    assert [type(o).__name__ for o in out] == ["TeacherResponse"] * 3 + ["OfflineMiss"]
    assert shipped.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["teacher.sqlite"]  # no -wal, no -shm
    gone = tmp_path / "none" / "teacher.sqlite"  # a cache that is not there reads as empty
    missing = make_teacher(
        {"provider": "openai", "model": "gpt-4o", "offline": True}, api_key=None, cache_path=gone
    )
    assert isinstance(missing.complete_many(requests(1))[0], OfflineMiss)
    assert not gone.parent.exists()


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_budget_exactly_the_requests_that_fit(provider, tmp_path):
    # Output costs $1 per token; every answer uses all 10 max_tokens -> $10 per request (input
    # free). max_usd 35 fits exactly 3 requests at worst-case accounting.
    prices = {"input_per_mtok": 0.0, "output_per_mtok": 1_000_000.0}
    with FakeTeacherServer(output_tokens=lambda body, text: body["max_tokens"]) as srv:
        teacher = teacher_for(
            srv, provider, tmp_path, max_tokens=10, prices=prices, max_usd=35, concurrency=4
        )
        out = teacher.complete_many(requests(8))
        made = len(srv.log)
    assert made == 3
    assert sum(isinstance(o, TeacherResponse) for o in out) == 3
    assert sum(isinstance(o, BudgetExhausted) for o in out) == 5
    assert teacher.usage.budget_stop and teacher.usage.usd == pytest.approx(30.0)


def test_worst_case_counts_input_with_the_real_tokenizer(tmp_path):
    from wikikit.tokens import count_tokens

    teacher = make_teacher(
        {
            "provider": "openai",
            "model": "gpt-4o",
            "base_url": "http://127.0.0.1:9/v1",
            "max_tokens": 100,
        },
        api_key=None,
        cache_path=None,
    )
    req = TeacherRequest.of([("user", "Explain the cart module, please.")], system="be brief")
    tokens = count_tokens("Explain the cart module, please.") + count_tokens("be brief") + 8
    assert teacher.input_tokens(req) == tokens
    assert teacher.worst_case_usd(req) == pytest.approx((tokens * 2.5 + 100 * 10.0) / 1e6)


def test_cache_key_covers_parameters_and_rows_hold_no_secret(tmp_path):
    base = request_key(
        "openai", "m", "s", [{"role": "user", "content": "x"}], {"max_tokens": 1, "temperature": 0}
    )
    assert base != request_key(
        "openai", "m", "s", [{"role": "user", "content": "x"}], {"max_tokens": 2, "temperature": 0}
    )
    assert base != request_key(
        "anthropic",
        "m",
        "s",
        [{"role": "user", "content": "x"}],
        {"max_tokens": 1, "temperature": 0},
    )
    with FakeTeacherServer() as srv:
        teacher_for(srv, "anthropic", tmp_path).complete_many(requests(2))
    rows = (
        sqlite3.connect(tmp_path / "teacher.sqlite").execute("SELECT * FROM responses").fetchall()
    )
    assert len(rows) == 2 and all(SECRET not in str(r) and "127.0.0.1" not in str(r) for r in rows)


def test_missing_key_fails_once_up_front(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(InputError, match="ANTHROPIC_API_KEY"):
        make_teacher(
            {"provider": "anthropic", "model": "claude-haiku-4-5"}, api_key=None, cache_path=None
        )
    # offline mode and a local OpenAI-compatible server need none
    make_teacher(
        {"provider": "anthropic", "model": "claude-haiku-4-5", "offline": True},
        api_key=None,
        cache_path=None,
    )
    make_teacher(
        {"provider": "openai", "model": "x", "base_url": "http://127.0.0.1:9/v1"},
        api_key=None,
        cache_path=None,
    )


def test_prices_table_and_override():
    assert lookup("claude-sonnet-4-5-20250929").output_per_mtok == 15.0
    assert resolve_prices("openai", "gpt-4o", {"output_per_mtok": 1.0}).input_per_mtok == 2.5
    assert resolve_prices("openai", "my-local-model", None) is None
    assert resolve_prices("ollama", "llama3", None).input_per_mtok == 0.0
    with pytest.raises(InputError, match="prices"):
        make_teacher(
            {"provider": "openai", "model": "my-local-model", "max_usd": 1},
            api_key=None,
            cache_path=None,
        )


def test_concurrency_limit_is_respected(tmp_path):
    import threading
    import time

    active = {"now": 0, "max": 0}
    lock = threading.Lock()

    def responder(api, body):
        with lock:
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])
        time.sleep(0.05)
        with lock:
            active["now"] -= 1
        return "ok"

    with FakeTeacherServer(responder) as srv:
        # a long timeout: a retry after a client timeout would overlap its abandoned attempt
        teacher = teacher_for(srv, "openai", tmp_path, concurrency=3, timeout_s=30)
        teacher.complete_many(requests(12))
    assert teacher.usage.api_calls == 12
    assert active["max"] == 3


# -- today's API: prices, model lifecycle, sampling, refusals, prompt caching ---------------


def test_price_table_has_current_models_with_cache_and_batch_prices():
    from wikikit.teachers.pricing import TokenUsage

    s55 = lookup("claude-sonnet-5-5")
    assert (s55.input_per_mtok, s55.output_per_mtok) == (2.0, 10.0)
    assert (s55.cache_write_5m_per_mtok, s55.cache_write_1h_per_mtok) == (2.5, 4.0)
    assert s55.cache_read_per_mtok == pytest.approx(0.2) and s55.batch_discount == 0.5
    assert lookup("claude-sonnet-5").output_per_mtok == 10.0
    assert (lookup("claude-opus-5-5").input_per_mtok, lookup("claude-opus-5").input_per_mtok) == (
        4.0,
        5.0,
    )
    assert lookup("claude-haiku-4-5-20251001").output_per_mtok == 5.0
    assert lookup("claude-opus-4-7") is None  # never priced as claude-opus-4 ($15)
    assert lookup("gpt-4o-mini").input_per_mtok == 0.15 and lookup("gpt-4o-2024-08-06")
    u = TokenUsage(
        input=1000, output=500, cache_write_5m=2000, cache_write_1h=3000, cache_read=4000
    )
    plain = (1000 * 2 + 500 * 10 + 2000 * 2.5 + 3000 * 4 + 4000 * 0.2) / 1e6
    assert s55.cost(u) == pytest.approx(plain) and s55.cost(u, batch=True) == pytest.approx(
        plain / 2
    )
    # worst case: every input token at the dearer of input and the cache write in use
    assert s55.worst_case(1000, 100, "1h") == pytest.approx((1000 * 4 + 100 * 10) / 1e6)
    assert s55.worst_case(1000, 100, None, batch=True) == pytest.approx((1000 * 2 + 1000) / 2e6)
    # a recipe's new input price moves Anthropic's cache prices with it
    moved = resolve_prices("anthropic", "claude-sonnet-5-5", {"input_per_mtok": 3.0})
    assert moved.cache_read_per_mtok == pytest.approx(0.3) and moved.output_per_mtok == 10.0


def test_model_lifecycle_from_the_sdk():
    import datetime as dt
    from typing import get_args

    from anthropic.resources.messages.messages import DEPRECATED_MODELS
    from anthropic.types.model_param import ModelParam

    from wikikit.teachers.models import CURRENT_ANTHROPIC, end_of_life, teacher_problems

    assert DEPRECATED_MODELS["claude-sonnet-4-5"] == "November 30th, 2026"
    # the models wikikit suggests are the SDK's own, not deprecated, and priced
    sdk_models = set(get_args(get_args(ModelParam)[0]))
    for name in CURRENT_ANTHROPIC.values():
        assert name in sdk_models and name not in DEPRECATED_MODELS and lookup(name)
    assert end_of_life("claude-sonnet-4-5") == dt.date(2026, 11, 30)
    cfg = {"provider": "anthropic", "model": "claude-sonnet-4-5"}
    kp = ("data", "sources", "distill", "teacher")
    before = teacher_problems(cfg, kp, today=dt.date(2026, 11, 1))
    assert [p.severity for p in before] == ["warning"]
    assert "2026-11-30" in before[0].message and "claude-sonnet-5-5" in before[0].message
    after = teacher_problems(cfg, kp, today=dt.date(2026, 12, 1))
    assert [(p.severity, p.key_path[-1]) for p in after] == [("error", "model")]
    assert "use claude-sonnet-5-5" in after[0].message
    # offline (the cache answers) or another server: a warning, not an error
    for extra in ({"offline": True}, {"base_url": "http://127.0.0.1:9"}):
        got = teacher_problems({**cfg, **extra}, kp, today=dt.date(2026, 12, 1))
        assert [p.severity for p in got] == ["warning"]
    assert teacher_problems({"provider": "anthropic", "model": "claude-opus-4-0"}, kp)[0].message
    assert teacher_problems({"provider": "anthropic", "model": "claude-sonnet-5-5"}, kp) == []
    # what Sonnet 5 refuses is caught before anything is sent
    bad = {
        "provider": "anthropic",
        "model": "claude-sonnet-5",
        "temperature": 0.5,
        "top_k": 5,
        "thinking": {"type": "enabled", "budget_tokens": 2000},
    }
    keys = [p.key_path[len(kp) :] for p in teacher_problems(bad, kp)]
    assert keys == [("temperature",), ("top_k",), ("thinking", "type")]
    with pytest.raises(InputError, match=r"teacher\.temperature: claude-sonnet-5 answers HTTP 400"):
        make_teacher(bad, api_key="k", cache_path=None)


def test_validate_names_the_key_and_line_of_a_model_past_end_of_life(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from synthetic_fakes import write_recipe

    teacher = {"provider": "anthropic", "model": "claude-2.1"}
    recipe = write_recipe(
        tmp_path / "r.yaml", {"kind": "synthetic", "repos": ["."], "teacher": teacher}
    )
    model_line = recipe.read_text().splitlines().index("        model: claude-2.1") + 1
    wikikit_bin = Path(sys.executable).parent / "wikikit"
    proc = subprocess.run(
        [str(wikikit_bin), "validate", str(recipe)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2, proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert f"r.yaml:{model_line}:9: data.sources.distill.teacher.model: claude-2.1" in line
    assert "reached end of life on 2025-07-21" in line and "use claude-" in line
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("provider", PROVIDERS)
def test_sampling_parameters_only_when_the_recipe_sets_them(provider, tmp_path):
    model = "claude-opus-5-5" if provider == "anthropic" else "gpt-4o"
    with FakeTeacherServer() as srv:
        teacher_for(srv, provider, tmp_path, model=model).complete_many(requests(1))
        teacher_for(
            srv, provider, tmp_path / "b", model=model, temperature=0.3, top_p=0.9, top_k=7
        ).complete_many(requests(1))
        plain, tuned = (r["body"] for r in srv.log)
    if provider == "ollama":
        plain, tuned = plain["options"], tuned["options"]
        assert plain == {"num_predict": 64}
    else:
        assert {"temperature", "top_p", "top_k"}.isdisjoint(plain)
    assert (tuned["temperature"], tuned["top_p"], tuned["top_k"]) == (0.3, 0.9, 7)


def test_cache_key_is_unchanged_for_unchanged_requests():
    """The demo's shipped cache stays valid: the key is the old formula, layout aside."""
    teacher = make_teacher(
        {
            "provider": "anthropic",
            "model": "claude-sonnet-4-5",
            "offline": True,
            "temperature": 0.7,
        },
        api_key=None,
        cache_path=None,
    )
    turns = [("user", "Repository: shop\n\nFile: a.py\n\nDocument it.")]
    old = request_key(
        "anthropic",
        "claude-sonnet-4-5",
        "sys",
        [{"role": "user", "content": turns[0][1]}],
        {"max_tokens": 4096, "temperature": 0.7},
    )
    assert teacher.key(TeacherRequest.of(turns, system="sys")) == old
    assert teacher.key(TeacherRequest.of(turns, system="sys", shared="Repository: shop")) == old
    with pytest.raises(ValueError, match="start of the first user turn"):
        TeacherRequest.of(turns, system="sys", shared="not the start")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_server_refusing_temperature_fails_the_run_at_once_with_the_key(provider, tmp_path):
    from wikikit.teachers import ConfigRejected

    model = "claude-opus-5-5" if provider == "anthropic" else "gpt-4o"  # not known to refuse
    with FakeTeacherServer(reject_params=("temperature",)) as srv:
        teacher = make_teacher(
            {
                "provider": provider,
                "model": model,
                "base_url": srv.base_url(provider),
                "temperature": 0.2,
                "concurrency": 2,
                "max_attempts": 5,
                "backoff_base_s": 0.01,
            },
            api_key=SECRET,
            cache_path=tmp_path / "t.sqlite",
            key_path="data.sources.distill.teacher",
        )
        with pytest.raises(ConfigRejected) as err:
            teacher.complete_many(requests(20))
        sent = len(srv.log)
    message = str(err.value)
    assert message.startswith("data.sources.distill.teacher.temperature: ")
    assert "temperature: not supported" in message and SECRET not in message
    assert sent <= 2  # the requests already in flight; no retries, no other item


def test_prompt_cache_layout_and_cost_from_the_reported_usage(tmp_path):
    shared = "Repository: shop\n\nFile: shop/cart.py (30 lines)\n" + "code line\n" * 30
    reqs = [
        TeacherRequest.of([("user", f"{shared}\n\nTask {i}.")], system="rules", shared=shared)
        for i in range(3)
    ]
    conversation = TeacherRequest.of(
        [("user", f"{shared}\n\nTask 0."), ("assistant", "First answer."), ("user", "More.")],
        system="rules",
        shared=shared,
    )
    with FakeTeacherServer() as srv:
        teacher = teacher_for(srv, "anthropic", tmp_path, concurrency=1)
        out = teacher.complete_many([*reqs, conversation])
        bodies = [r["body"] for r in srv.log]
    mark = {"type": "ephemeral", "ttl": "5m"}
    assert bodies[0]["system"] == [{"type": "text", "text": "rules", "cache_control": mark}]
    assert bodies[0]["messages"][0]["content"] == [
        {"type": "text", "text": shared, "cache_control": mark},
        {"type": "text", "text": "\n\nTask 0."},
    ]
    # a continued conversation also marks its last answer, for the next step to read
    assert bodies[3]["messages"][1]["content"] == [
        {"type": "text", "text": "First answer.", "cache_control": mark}
    ]
    assert out[0].cache_write_5m > 0 and out[0].cache_read == 0
    assert all(o.cache_read == out[0].cache_write_5m for o in out[1:3])
    assert out[3].cache_read > 0 and out[3].cache_write_5m > 0
    prices = lookup("claude-sonnet-5-5")
    expected = 0.0
    for rec in srv.usages:
        u = rec["usage"]
        expected += (
            u["input_tokens"] * prices.input_per_mtok
            + u["output_tokens"] * prices.output_per_mtok
            + u["cache_creation"]["ephemeral_5m_input_tokens"] * prices.cache_write_5m_per_mtok
            + u["cache_read_input_tokens"] * prices.cache_read_per_mtok
        ) / 1e6
    assert teacher.usage.usd == pytest.approx(expected, rel=1e-12) and expected > 0
    assert teacher.usage.cache_read_tokens == sum(o.cache_read for o in out)
    # prompt_cache: false sends plain strings, no marks
    with FakeTeacherServer() as srv:
        teacher_for(srv, "anthropic", tmp_path / "off", prompt_cache=False).complete_many(reqs[:1])
        body = srv.log[0]["body"]
    assert body["system"] == "rules" and body["messages"][0]["content"] == f"{shared}\n\nTask 0."
