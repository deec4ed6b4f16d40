"""wikikit as SemanticWiki's model: an Ollama-speaking HTTP server on 127.0.0.1.

SemanticWiki 1.2.1 with `--full-local --use-ollama --ollama-host URL --local-model NAME` talks
to its model through the `ollama` JS client 0.5.18 (src/llm/ollama-provider.ts at commit
438524a; seen against a logging server on loopback). It makes exactly two kinds of request:

- `GET /api/tags` once (`client.list()`): the model must be listed with `name` equal to NAME or
  starting with `NAME:`;
- `POST /api/chat` per call (`client.chat()`), a JSON body `{model, messages, options:
  {num_predict, temperature}, stream: false}` (plus `tools` only when the caller has tools; local
  mode has none). It reads `message.content`, `message.tool_calls`, `prompt_eval_count` and
  `eval_count` of the one JSON object that answers it; a failed request becomes an empty answer.

Field names follow Ollama's API (docs.ollama.com/api/tags, /api/chat). Each chat request goes to
an *answerer*; every request is logged as received (`requests.jsonl`) and every chat exchange
recorded (`exchanges.jsonl`: system, user, answer, thinking, options, status, timings), both
written atomically when the endpoint closes. An answerer may defer a request (return None): the
client then gets an empty answer and the exchange is recorded as `pending`, so a later pass can
answer it from a store (see wikikit.semanticwiki.answerers).

Node's fetch gives up on a response whose headers take over 300 s (undici's headersTimeout), so
an answer not ready within `first_byte_s` is sent as a chunked 200 whose body starts with
whitespace, one space every `heartbeat_s`, then the JSON (JSON allows leading whitespace).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol

from wikikit.atomic import open_atomic
from wikikit.semanticwiki.protocol import call_kind

MAX_BODY_BYTES = 16 * 1024 * 1024  # a page prompt is ~12-20 kB; anything near this is not one


@dataclass
class ChatRequest:
    """One `/api/chat` call as the client sent it."""

    model: str
    system: str | None
    user: str
    messages: list[dict[str, Any]]
    options: dict[str, Any]
    raw: str  # the request body, exactly as received

    @property
    def call(self) -> str | None:
        return call_kind(self.user)

    @classmethod
    def parse(cls, raw: str) -> ChatRequest:
        body = json.loads(raw)
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            raise ValueError("body must be an object with a messages list")
        messages = [m for m in body["messages"] if isinstance(m, dict)]
        system = next((m.get("content") for m in messages if m.get("role") == "system"), None)
        user = next((m.get("content") for m in reversed(messages) if m.get("role") == "user"), "")
        return cls(
            model=str(body.get("model") or ""),
            system=system,
            user=user or "",
            messages=messages,
            options=dict(body.get("options") or {}),
            raw=raw,
        )


@dataclass
class Answer:
    content: str
    thinking: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # answerer-specific (cache hit, page, ...)
    prompt_tokens: int = 0
    output_tokens: int = 0


class Answerer(Protocol):
    name: str

    def answer(self, request: ChatRequest) -> Answer | None:
        """The answer, or None to defer it (the client gets an empty answer this pass)."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64


def _iso_now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def model_tag(name: str) -> str:
    """Ollama lists a model as `name:tag`; `latest` when the name carries none."""
    return name if ":" in name else f"{name}:latest"


class OllamaEndpoint:
    """`with OllamaEndpoint(answerer, model, record_dir) as ep:` serves on `ep.url` until exit."""

    def __init__(
        self,
        answerer: Answerer,
        model: str,
        record_dir: Path,
        *,
        first_byte_s: float = 10.0,
        heartbeat_s: float = 15.0,
        max_workers: int = 8,
    ):
        self.answerer = answerer
        self.model = model
        self.record_dir = Path(record_dir)
        self.first_byte_s = first_byte_s
        self.heartbeat_s = heartbeat_s
        self.exchanges: list[dict[str, Any]] = []
        self.requests = 0
        self._lock = threading.Lock()
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers, "wikikit-answerer")
        self._stack = contextlib.ExitStack()
        self._httpd: _Server | None = None
        self._requests_log: Any = None
        self._exchanges_log: Any = None

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> OllamaEndpoint:
        self.record_dir.mkdir(parents=True, exist_ok=True)
        self._requests_log = self._stack.enter_context(
            open_atomic(self.record_dir / "requests.jsonl")
        )
        self._exchanges_log = self._stack.enter_context(
            open_atomic(self.record_dir / "exchanges.jsonl")
        )
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):  # the request log is ours
                pass

            def do_GET(self):
                endpoint._handle(self, "GET")

            def do_POST(self):
                endpoint._handle(self, "POST")

            def do_HEAD(self):
                endpoint._handle(self, "HEAD")

        self._httpd = _Server(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self._httpd is not None
        self._httpd.shutdown()
        self._httpd.server_close()
        self._pool.shutdown(wait=True)
        self._stack.__exit__(exc_type, exc, tb)

    @property
    def url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    # -- logging ---------------------------------------------------------------------------
    def _log(self, handle: Any, row: dict[str, Any]) -> None:
        with self._lock:
            handle.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
            handle.flush()

    # -- handling --------------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            h.close_connection = True
            return self._send(h, 413, {"error": "request body too large"})
        raw = h.rfile.read(length).decode("utf-8", errors="replace") if length else ""
        path = h.path.split("?", 1)[0]
        with self._lock:
            self.requests += 1
            n = self.requests
        self._log(self._requests_log, {"n": n, "method": method, "path": h.path, "body": raw})
        if method in ("GET", "HEAD") and path == "/":
            return self._send_text(h, 200, "Ollama is running", head=method == "HEAD")
        if method == "GET" and path == "/api/tags":
            return self._send(h, 200, {"models": [self._model_entry()]})
        if method == "GET" and path == "/api/version":
            return self._send(h, 200, {"version": "0.0.0-wikikit"})
        if method == "POST" and path == "/api/chat":
            return self._chat(h, n, raw)
        return self._send(h, 404, {"error": f"{method} {path} is not served here"})

    def _model_entry(self) -> dict[str, Any]:
        name = model_tag(self.model)
        return {
            "name": name,
            "model": name,
            "modified_at": "1970-01-01T00:00:00Z",
            "size": 0,
            "digest": hashlib.sha256(name.encode()).hexdigest(),
            "details": {"format": "gguf", "family": "gpt-oss", "families": ["gpt-oss"]},
        }

    def _chat(self, h: BaseHTTPRequestHandler, n: int, raw: str) -> None:
        try:
            request = ChatRequest.parse(raw)
        except (ValueError, json.JSONDecodeError) as exc:
            return self._send(h, 400, {"error": f"invalid chat request: {exc}"})
        if json.loads(raw).get("stream") is True:
            # ollama-js only streams when asked (`stream: true`); SemanticWiki never asks.
            return self._send(h, 400, {"error": "streaming is not served by wikikit's endpoint"})
        if request.model not in (self.model, model_tag(self.model)):
            return self._send(h, 404, {"error": f"model '{request.model}' not found"})
        started = time.monotonic()
        future = self._pool.submit(self.answerer.answer, request)
        heartbeat = False
        try:
            answer, error = future.result(timeout=self.first_byte_s), None
        except concurrent.futures.TimeoutError:
            heartbeat = True
            answer, error = self._wait_with_heartbeat(h, future)
        except Exception as exc:  # noqa: BLE001 - the answerer's failure is this call's result
            answer, error = None, f"{type(exc).__name__}: {exc}"
        seconds = time.monotonic() - started
        status = "error" if error else ("pending" if answer is None else "answered")
        self._record(n, request, answer, status, error, seconds)
        payload = self._chat_payload(request, answer, seconds)
        if heartbeat:
            self._finish_chunked(h, payload)
        elif error:
            self._send(h, 500, {"error": error})
        else:
            self._send(h, 200, payload)

    def _wait_with_heartbeat(self, h, future) -> tuple[Answer | None, str | None]:
        try:
            h.send_response(200)
            h.send_header("Content-Type", "application/json; charset=utf-8")
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
        except OSError:
            pass
        while True:
            try:
                return future.result(timeout=self.heartbeat_s), None
            except concurrent.futures.TimeoutError:
                with contextlib.suppress(OSError):
                    h.wfile.write(b"1\r\n \r\n")
                    h.wfile.flush()
            except Exception as exc:  # noqa: BLE001
                return None, f"{type(exc).__name__}: {exc}"

    def _finish_chunked(self, h, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        with contextlib.suppress(OSError):
            h.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n\r\n")
            h.wfile.flush()

    def _chat_payload(
        self, request: ChatRequest, answer: Answer | None, seconds: float
    ) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": answer.content if answer else ""}
        if answer is not None and answer.thinking:
            message["thinking"] = answer.thinking
        return {
            "model": request.model,
            "created_at": _iso_now(),
            "message": message,
            "done": True,
            "done_reason": "stop",
            "total_duration": int(seconds * 1e9),
            "prompt_eval_count": answer.prompt_tokens if answer else 0,
            "eval_count": answer.output_tokens if answer else 0,
        }

    def _record(
        self,
        n: int,
        request: ChatRequest,
        answer: Answer | None,
        status: str,
        error: str | None,
        seconds: float,
    ) -> None:
        row = {
            "request": n,
            "call": request.call,
            "model": request.model,
            "system": request.system,
            "user": request.user,
            "turns": len(request.messages),
            "options": request.options,
            "answer": answer.content if answer else "",
            "thinking": answer.thinking if answer else None,
            "status": status,
            "error": error,
            "answerer": getattr(self.answerer, "name", type(self.answerer).__name__),
            "meta": answer.meta if answer else {},
            "seconds": round(seconds, 4),
            # The day it was recorded (UTC): `model.current_date: recording` dates the training
            # example made of it with this day (wikikit/recipe/dates.py).
            "date": datetime.now(UTC).date().isoformat(),
        }
        if answer is not None and (answer.prompt_tokens or answer.output_tokens):
            row["tokens"] = {"prompt": answer.prompt_tokens, "completion": answer.output_tokens}
        with self._lock:
            self.exchanges.append(row)
        self._log(self._exchanges_log, row)

    # -- responses -------------------------------------------------------------------------
    def _send(self, h, status: int, obj: Any) -> None:
        data = json.dumps(obj, ensure_ascii=False).encode()
        self._send_bytes(h, status, data, "application/json; charset=utf-8")

    def _send_text(self, h, status: int, text: str, head: bool = False) -> None:
        self._send_bytes(h, status, text.encode(), "text/plain; charset=utf-8", head)

    def _send_bytes(self, h, status: int, data: bytes, ctype: str, head: bool = False) -> None:
        try:
            h.send_response(status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            if not head:
                h.wfile.write(data)
            h.wfile.flush()
        except OSError:
            h.close_connection = True
