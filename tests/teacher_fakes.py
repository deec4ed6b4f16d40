"""A local HTTP server on 127.0.0.1 speaking the three teacher wire APIs, with scripted faults.

- Anthropic Messages: POST /v1/messages
- OpenAI chat completions: POST /v1/chat/completions
- Ollama chat: POST /api/chat

`faults` maps a marker (any substring of the request body) to the faults of its successive
attempts, e.g. {"item-3": ["429", "ok"]}; an attempt past the end of the list is "ok". Faults:
"429" (with retry-after), "500", "timeout" (hangs past the client's timeout), "malformed" (a 200
with a body that is not JSON), "truncated" (Content-Length promises more than is sent, then the
connection closes), "400" (a request error no retry can fix). Every request is logged.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # listen() backlog: the default 5 drops SYNs under concurrency


Responder = Callable[[str, dict[str, Any]], str]


def last_user_text(body: dict[str, Any]) -> str:
    for m in reversed(body.get("messages") or []):
        if m.get("role") == "user":
            c = m.get("content")
            if isinstance(c, list):  # anthropic content blocks
                return "".join(b.get("text", "") for b in c if isinstance(b, dict))
            return c or ""
    return ""


def echo_responder(api: str, body: dict[str, Any]) -> str:
    return f"Answer to: {last_user_text(body)[:80]}"


class FakeTeacherServer:
    def __init__(
        self,
        responder: Responder = echo_responder,
        *,
        faults: dict[str, list[str]] | None = None,
        latency_s: float = 0.0,
        hang_s: float = 2.0,
        retry_after: str = "0.05",
        output_tokens: Callable[[dict[str, Any], str], int] | None = None,
    ):
        self.responder = responder
        self.faults = {k: list(v) for k, v in (faults or {}).items()}
        self.latency_s = latency_s
        self.hang_s = hang_s
        self.retry_after = retry_after
        self.output_tokens = output_tokens or (lambda body, text: len(text.split()))
        self.log: list[dict[str, Any]] = []
        self._attempts: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> FakeTeacherServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like real APIs
            # Headers and body go out in separate writes: without TCP_NODELAY, Nagle plus the
            # client's delayed ACK adds ~40 ms to every response.
            disable_nagle_algorithm = True

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                server._handle(self)

        self._httpd = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        assert self._httpd is not None
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def base_url(self, provider: str) -> str:
        return self.url + "/v1" if provider == "openai" else self.url

    # -- handling ------------------------------------------------------------------------
    def _fault_for(self, raw: str) -> tuple[str, str | None]:
        with self._lock:
            for marker, plan in self.faults.items():
                if marker in raw:
                    n = self._attempts[marker]
                    self._attempts[marker] += 1
                    return (plan[n] if n < len(plan) else "ok"), marker
        return "ok", None

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length).decode("utf-8")
        body = json.loads(raw)
        api = {
            "/v1/messages": "anthropic",
            "/v1/chat/completions": "openai",
            "/api/chat": "ollama",
        }.get(h.path)
        fault, marker = self._fault_for(raw)
        with self._lock:
            self.log.append(
                {
                    "path": h.path,
                    "api": api,
                    "fault": fault,
                    "marker": marker,
                    "headers": dict(h.headers),
                }
            )
        if self.latency_s:
            time.sleep(self.latency_s)
        if api is None:
            return self._send(h, 404, {"error": "not found"})
        if fault == "429":
            return self._send(
                h, 429, _error(api, "rate limited"), {"retry-after": self.retry_after}
            )
        if fault == "500":
            return self._send(h, 500, _error(api, "internal error"))
        if fault == "400":
            return self._send(h, 400, _error(api, "bad request"))
        if fault == "timeout":
            time.sleep(self.hang_s)
            h.close_connection = True
            return None
        text = self.responder(api, body)
        payload = _success(api, body, text, self.output_tokens(body, text))
        if fault == "malformed":
            return self._send_raw(h, 200, b'{"id": "x", "content": [{"type": "text", "te')
        if fault == "truncated":
            data = json.dumps(payload).encode()
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data[: len(data) // 2])
            h.wfile.flush()
            h.close_connection = True
            return None
        return self._send(h, 200, payload)

    def _send(self, h, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self._send_raw(h, status, json.dumps(obj).encode(), headers)

    def _send_raw(self, h, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            h.send_response(status)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(data)
            h.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True

    # -- assertions helpers --------------------------------------------------------------
    def requests_for(self, marker: str) -> int:
        return sum(1 for r in self.log if r["marker"] == marker)


def _error(api: str, message: str) -> dict[str, Any]:
    if api == "anthropic":
        return {"type": "error", "error": {"type": "api_error", "message": message}}
    if api == "openai":
        return {"error": {"message": message, "type": "server_error", "code": None}}
    return {"error": message}


def _success(api: str, body: dict[str, Any], text: str, out_tokens: int) -> dict[str, Any]:
    in_tokens = len(json.dumps(body.get("messages")).split())
    model = body.get("model", "fake")
    if api == "anthropic":
        return {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": in_tokens, "output_tokens": out_tokens},
        }
    if api == "openai":
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": in_tokens,
                "completion_tokens": out_tokens,
                "total_tokens": in_tokens + out_tokens,
            },
        }
    return {
        "model": model,
        "created_at": "2025-01-01T00:00:00Z",
        "message": {"role": "assistant", "content": text},
        "done": True,
        "done_reason": "stop",
        "prompt_eval_count": in_tokens,
        "eval_count": out_tokens,
    }
