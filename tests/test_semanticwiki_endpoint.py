"""The Ollama-speaking endpoint: the requests the ollama JS client makes, answered and recorded."""

from __future__ import annotations

import datetime
import json
import threading
import time
import urllib.error
import urllib.request

import pytest

from wikikit.bounded import read_jsonl
from wikikit.semanticwiki.endpoint import Answer, OllamaEndpoint

PLAN_USER = (
    "You are analyzing a software project to create comprehensive architectural documentation.\n"
    "\n## Project Files\nshop/cart.py (.py, medium)\n"
)
SYSTEM = "You are a software architect creating documentation plans."


def chat_body(user: str, model: str = "wikikit", **extra) -> dict:
    # The shape ollama-js 0.5.18 posts for SemanticWiki (seen on a logging loopback server).
    body = {
        "model": model,
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}],
        "options": {"num_predict": 8192, "temperature": 0.3},
        "stream": False,
    }
    return {**body, **extra}


def call(url: str, path: str, body: dict | bytes | None = None) -> tuple[int, bytes]:
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        url + path, data=data, method="POST" if data is not None else "GET",
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class Scripted:
    name = "scripted"

    def __init__(self, reply=None, delay: float = 0.0):
        self.reply = reply
        self.delay = delay
        self.seen = []

    def answer(self, request):
        self.seen.append(request)
        time.sleep(self.delay)
        if isinstance(self.reply, Exception):
            raise self.reply
        return self.reply


def test_model_listing_and_chat_round_trip(tmp_path):
    answerer = Scripted(Answer('{"pages": []}', thinking="plan it", meta={"k": 1}, output_tokens=3))
    body = chat_body(PLAN_USER)
    with OllamaEndpoint(answerer, "wikikit", tmp_path) as ep:
        status, tags = call(ep.url, "/api/tags")
        assert status == 200
        names = [m["name"] for m in json.loads(tags)["models"]]
        assert names == ["wikikit:latest"]  # SemanticWiki accepts NAME or NAME:tag
        raw = json.dumps(body, ensure_ascii=False).encode()
        status, reply = call(ep.url, "/api/chat", raw)
        assert call(ep.url, "/")[1] == b"Ollama is running"
    assert status == 200
    reply = json.loads(reply)
    assert reply["message"] == {
        "role": "assistant",
        "content": '{"pages": []}',
        "thinking": "plan it",
    }
    assert reply["done"] is True and reply["eval_count"] == 3
    # The answerer saw the prompt as sent; the files hold every request and the exchange.
    seen = answerer.seen[0]
    assert (seen.system, seen.user, seen.call, seen.options) == (
        SYSTEM,
        PLAN_USER,
        "plan",
        {"num_predict": 8192, "temperature": 0.3},
    )
    requests = read_jsonl(tmp_path / "requests.jsonl")
    assert [(r["method"], r["path"]) for r in requests] == [
        ("GET", "/api/tags"),
        ("POST", "/api/chat"),
        ("GET", "/"),
    ]
    assert requests[1]["body"].encode() == raw  # byte for byte
    (exchange,) = read_jsonl(tmp_path / "exchanges.jsonl")
    assert exchange["status"] == "answered" and exchange["call"] == "plan"
    assert (exchange["system"], exchange["user"], exchange["answer"]) == (
        SYSTEM,
        PLAN_USER,
        '{"pages": []}',
    )
    assert exchange["thinking"] == "plan it" and exchange["meta"] == {"k": 1}
    assert exchange["options"] == {"num_predict": 8192, "temperature": 0.3}


def test_deferred_failed_and_refused_requests(tmp_path):
    pending, failing = Scripted(None), Scripted(RuntimeError("teacher down"))
    with OllamaEndpoint(pending, "wikikit", tmp_path / "a") as ep:
        status, reply = call(ep.url, "/api/chat", chat_body(PLAN_USER))
        assert status == 200 and json.loads(reply)["message"]["content"] == ""
        assert call(ep.url, "/api/chat", chat_body(PLAN_USER, model="other"))[0] == 404
        assert call(ep.url, "/api/chat", chat_body(PLAN_USER, stream=True))[0] == 400
        assert call(ep.url, "/api/chat", b"{not json")[0] == 400
        assert call(ep.url, "/api/generate", chat_body(PLAN_USER))[0] == 404
    with OllamaEndpoint(failing, "wikikit", tmp_path / "b") as ep:
        status, reply = call(ep.url, "/api/chat", chat_body(PLAN_USER))
    assert status == 500 and "teacher down" in json.loads(reply)["error"]
    assert [e["status"] for e in read_jsonl(tmp_path / "a" / "exchanges.jsonl")] == ["pending"]
    (failed,) = read_jsonl(tmp_path / "b" / "exchanges.jsonl")
    assert failed["status"] == "error" and "teacher down" in failed["error"]
    # Every request is logged, refused ones included.
    assert len(read_jsonl(tmp_path / "a" / "requests.jsonl")) == 5


def test_a_slow_answer_keeps_the_connection_alive(tmp_path):
    """Past first_byte_s the reply is a chunked 200 that opens with whitespace: still one JSON
    object to a client (Node's fetch would give up on headers after 300 s)."""
    answerer = Scripted(Answer("late but here"), delay=0.8)
    with OllamaEndpoint(answerer, "wikikit", tmp_path, first_byte_s=0.1, heartbeat_s=0.2) as ep:
        status, raw = call(ep.url, "/api/chat", chat_body(PLAN_USER))
    assert status == 200 and raw.startswith(b" ")
    assert json.loads(raw)["message"]["content"] == "late but here"
    (exchange,) = read_jsonl(tmp_path / "exchanges.jsonl")
    assert exchange["seconds"] >= 0.8
    # the day it was recorded (model.current_date: recording dates its training example by it)
    assert exchange["date"] == datetime.datetime.now(datetime.UTC).date().isoformat()


def test_concurrent_requests_each_one_exchange(tmp_path):
    answerer = Scripted(Answer("ok"), delay=0.05)
    with OllamaEndpoint(answerer, "wikikit", tmp_path) as ep:
        threads = [
            threading.Thread(target=call, args=(ep.url, "/api/chat", chat_body(f"{PLAN_USER}{i}")))
            for i in range(8)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    users = sorted(e["user"] for e in read_jsonl(tmp_path / "exchanges.jsonl"))
    assert users == sorted(f"{PLAN_USER}{i}" for i in range(8))


def test_a_killed_endpoint_leaves_no_record(tmp_path):
    with (
        pytest.raises(KeyboardInterrupt),
        OllamaEndpoint(Scripted(Answer("x")), "wikikit", tmp_path) as ep,
    ):
        call(ep.url, "/api/chat", chat_body(PLAN_USER))
        raise KeyboardInterrupt
    assert not (tmp_path / "exchanges.jsonl").exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no half-written file either
