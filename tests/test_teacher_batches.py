"""Batch mode against loopback servers speaking Anthropic's Message Batches and OpenAI's Batch
API through the official SDKs: every item ends exactly once, a killed run resumes its batch
instead of paying twice, and the recorded cost is the server's usage times the prices."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from teacher_fakes import FakeTeacherServer

from wikikit.teachers import (
    Fatal,
    RetriesExhausted,
    TeacherRequest,
    TeacherResponse,
    make_teacher,
)
from wikikit.teachers.pricing import TokenUsage, lookup

MODELS = {"anthropic": "claude-sonnet-5-5", "openai": "gpt-4o"}
CONTEXT = "Repository: shop. The code all items share."


def batch_teacher(srv, provider, cache, **extra):
    config = {
        "provider": provider,
        "model": MODELS[provider],
        "base_url": srv.base_url(provider),
        "batch": True,
        "batch_poll_s": 0.01,
        "max_attempts": 2,
        "backoff_base_s": 0.01,
        "max_tokens": 64,
        "timeout_s": 5,
        **extra,
    }
    return make_teacher(config, api_key="sk-test-batch", cache_path=cache)


def requests(n):
    return [
        TeacherRequest.of(
            [("user", f"{CONTEXT}\n\nquestion item-{i}.")], system="be brief", shared=CONTEXT
        )
        for i in range(n)
    ]


def server_usd(srv, provider, batch=True) -> float:
    """What the server's reported usage costs at the shipped prices."""
    prices = lookup(MODELS[provider])
    total = 0.0
    for rec in srv.usages:
        u = rec["usage"]
        if provider == "anthropic":
            split = u["cache_creation"]
            usage = TokenUsage(
                u["input_tokens"],
                u["output_tokens"],
                split["ephemeral_5m_input_tokens"],
                split["ephemeral_1h_input_tokens"],
                u["cache_read_input_tokens"],
            )
        else:
            usage = TokenUsage(u["prompt_tokens"], u["completion_tokens"])
        total += prices.cost(usage, batch=batch)
    return total


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_batch_every_item_ends_exactly_once(provider, tmp_path):
    faults = {
        "item-1.": ["errored"],  # transient: resubmitted, then answered
        "item-2.": ["expired"],  # expired: resubmitted, then answered
        "item-3.": ["invalid"],  # refused: reported once, never resubmitted
        "item-4.": ["expired", "expired"],  # expired at both submissions: reported
        "item-5.": ["canceled"] if provider == "anthropic" else [],
    }
    with FakeTeacherServer(batch_faults=faults, batch_polls=2) as srv:
        teacher = batch_teacher(srv, provider, tmp_path / "teacher.sqlite")
        out = teacher.complete_batch(requests(8))
        creates = srv.calls(f"{provider}_batch_create")
    assert len(out) == 8
    ok = [i for i, o in enumerate(out) if isinstance(o, TeacherResponse)]
    expect_ok = [0, 1, 2, 6, 7] if provider == "anthropic" else [0, 1, 2, 5, 6, 7]
    assert ok == expect_ok
    for i in ok:
        assert out[i].text == f"Answer to: {CONTEXT}\n\nquestion item-{i}."
    assert isinstance(out[3], Fatal) and "bad request" in str(out[3])
    assert isinstance(out[4], RetriesExhausted) and "expired" in str(out[4])
    if provider == "anthropic":
        assert out[5].reason == "canceled"
    # Round one holds all 8; round two only items 1, 2 and 4 (errored/expired ones).
    assert creates == 2
    items_sent = [len(b["items"]) for b in srv.batches.values()]
    assert items_sent == [8, 3]
    # Each answered item is in the response cache, keyed by its custom id.
    assert len(teacher.cache) == len(ok)
    assert teacher.usage.batches_created == 2 and teacher.usage.batch_requests == 11
    # The recorded cost is the server's usage at batch prices, exactly.
    assert teacher.usage.usd == pytest.approx(server_usd(srv, provider), rel=1e-12)
    assert teacher.usage.usd > 0


def test_batch_results_are_matched_by_custom_id_and_served_from_cache_after(tmp_path):
    with FakeTeacherServer() as srv:
        first = batch_teacher(srv, "anthropic", tmp_path / "t.sqlite").complete_batch(requests(4))
        # The server answers in reverse order; answers still land in request order.
        assert [r.text[-7:] for r in first] == [f"item-{i}." for i in range(4)]
        again = batch_teacher(srv, "anthropic", tmp_path / "t.sqlite")
        second = again.complete_batch(requests(4))
        assert srv.calls("anthropic_batch_create") == 1
    assert [r.text for r in second] == [r.text for r in first]
    assert again.usage.cache_hits == 4 and again.usage.usd == 0


def test_batch_prompt_cache_layout_and_prices(tmp_path):
    with FakeTeacherServer() as srv:
        teacher = batch_teacher(srv, "anthropic", tmp_path / "t.sqlite")
        out = teacher.complete_batch(requests(3))
        params = [i["params"] for i in srv.batches["msgbatch_0001"]["items"]]
    mark = {"type": "ephemeral", "ttl": "1h"}  # batch mode defaults to the 1-hour TTL
    assert params[0]["system"] == [{"type": "text", "text": "be brief", "cache_control": mark}]
    blocks = params[0]["messages"][0]["content"]
    assert blocks[0] == {"type": "text", "text": CONTEXT, "cache_control": mark}
    assert blocks[1] == {"type": "text", "text": "\n\nquestion item-0."}
    assert "temperature" not in params[0]  # sampling parameters only when the recipe sets them
    # The first request writes the shared prefix, the others read it.
    writes = [o.cache_write_1h for o in out]
    reads = [o.cache_read for o in out]
    assert sorted(writes, reverse=True)[0] > 0 and sum(r > 0 for r in reads) == 2
    prices = lookup("claude-sonnet-5-5")
    for o in out:
        expected = (
            (
                o.input_tokens * 2.0
                + o.output_tokens * 10.0
                + o.cache_write_1h * 4.0
                + o.cache_read * 0.2
            )
            * 0.5
            / 1e6
        )
        assert o.usd == pytest.approx(expected) and prices.cost(o.usage, batch=True) == o.usd


def test_batch_budget_reserves_worst_case_at_batch_prices(tmp_path):
    # Output at $1 per token in batch mode ($2 list): 10 max_tokens -> $10 worst case each.
    prices = {"input_per_mtok": 0.0, "output_per_mtok": 2_000_000.0}
    with FakeTeacherServer(output_tokens=lambda body, text: 3) as srv:
        teacher = batch_teacher(
            srv, "anthropic", tmp_path / "t.sqlite", max_tokens=10, prices=prices, max_usd=35
        )
        out = teacher.complete_batch(requests(6))
        sent = [len(b["items"]) for b in srv.batches.values()]
    assert sent == [3]  # 3 x $10 reserved fits $35; the 4th would not
    assert [type(o).__name__ for o in out] == ["TeacherResponse"] * 3 + ["BudgetExhausted"] * 3
    assert teacher.usage.usd == pytest.approx(3 * 3 * 1.0)  # 3 tokens each, at $1 a token


def test_batch_rejected_setting_fails_the_run_with_the_key(tmp_path):
    from wikikit.teachers import ConfigRejected

    with FakeTeacherServer(reject_params=("temperature",)) as srv:
        # claude-opus-5-5 is not known to refuse it: the server's 400 is the first word.
        teacher = batch_teacher(
            srv, "anthropic", tmp_path / "t.sqlite", model="claude-opus-5-5", temperature=0.2
        )
        teacher.settings.key_path = "data.sources.distill.teacher"
        with pytest.raises(ConfigRejected, match=r"data\.sources\.distill\.teacher\.temperature"):
            teacher.complete_batch(requests(5))
        assert srv.calls("anthropic_batch_create") == 1  # never resubmitted


CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    import wikikit  # offline tokenizer paths first
    from test_teacher_batches import batch_teacher, requests

    class Srv:
        def base_url(self, provider):
            return {url!r} + ("/v1" if provider == "openai" else "")

    out = batch_teacher(Srv(), {provider!r}, Path({cache!r})).complete_batch(requests(5))
    print("finished", len(out))
    """
)


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_sigkill_during_a_batch_then_rerun_collects_it_without_resubmitting(provider, tmp_path):
    cache = tmp_path / "teacher.sqlite"
    tests = str(Path(__file__).parent)
    with FakeTeacherServer() as srv:
        srv.hold_batches = True  # the batch stays in progress until released
        script = tmp_path / "child.py"
        script.write_text(
            CHILD.format(tests=tests, url=srv.url, provider=provider, cache=str(cache))
        )
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([tests, os.environ.get("PYTHONPATH", "")]),
        }
        child = subprocess.Popen(
            [sys.executable, str(script)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            # Polling has begun, so the batch id is already stored in the cache file.
            while srv.calls(f"{provider}_batch_retrieve") < 2:
                assert child.poll() is None, child.stdout.read().decode()
                assert time.monotonic() < deadline, "the child never polled its batch"
                time.sleep(0.05)
            os.killpg(child.pid, signal.SIGKILL)
            child.wait(10)
        finally:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)
        assert child.returncode == -signal.SIGKILL
        srv.release_batches()
        teacher = batch_teacher(srv, provider, cache)
        out = teacher.complete_batch(requests(5))
        creates = srv.calls(f"{provider}_batch_create")
    assert creates == 1  # the re-run collected the killed run's batch: paid once
    assert all(isinstance(o, TeacherResponse) for o in out)
    assert [o.text[-7:] for o in out] == [f"item-{i}." for i in range(5)]
    assert teacher.usage.batches_resumed == 1 and teacher.usage.batches_created == 0
    assert teacher.usage.usd == pytest.approx(server_usd(srv, provider), rel=1e-12)
    # Collected: a third run finds every answer in the cache and no open batch.
    assert teacher.cache.open_batches(teacher.settings.provider, teacher.settings.model) == []
