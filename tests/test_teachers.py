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
