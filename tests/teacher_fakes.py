"""A local HTTP server on 127.0.0.1 speaking the teacher wire APIs, with scripted faults.

- Anthropic Messages: POST /v1/messages, with prompt caching as the API reports it: a block
  marked `cache_control` ends a cached prefix; the first request with a prefix writes it
  (`cache_creation_input_tokens`, split by TTL in `cache_creation`), later ones read it
  (`cache_read_input_tokens`); `input_tokens` counts the rest. Tokens are words here.
- Anthropic Message Batches: POST /v1/messages/batches, GET /v1/messages/batches/{id} (in
  progress while `hold_batches` is set or for the first `batch_polls - 1` polls), GET
  /v1/messages/batches/{id}/results (JSONL, one `{custom_id, result}` per request).
- OpenAI chat completions: POST /v1/chat/completions; Batch API: POST /v1/files (multipart,
  purpose=batch), POST /v1/batches, GET /v1/batches/{id}, GET /v1/files/{id}/content.
- Ollama chat: POST /api/chat

`faults` maps a marker (any substring of the request body) to the faults of its successive
attempts, e.g. {"item-3": ["429", "ok"]}; an attempt past the end of the list is "ok". Faults:
"429" (with retry-after), "500", "timeout" (hangs past the client's timeout), "malformed" (a 200
with a body that is not JSON), "truncated" (Content-Length promises more than is sent, then the
connection closes), "400" (a request error no retry can fix). `batch_faults` does the same for
the items of batches, one entry per submission: "succeeded", "errored" (api_error, transient),
"invalid" (invalid_request_error), "expired", "canceled". `reject_params` names body keys the
server answers 400 to (as Sonnet 5 does to `temperature`), directly and in batches. Every
request is logged; every usage the server reports is kept in `usages`. `fault_fn(api, body)`
may name a fault for any request (faults that depend on more than one substring).
"""

from __future__ import annotations

import email.parser
import hashlib
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


def anthropic_blocks(body: dict[str, Any]) -> list[tuple[str, dict | None]]:
    """(text, cache_control) of every text block in prompt order: system, then messages."""
    out: list[tuple[str, dict | None]] = []
    system = body.get("system")
    for part in [system] if isinstance(system, str) else system or []:
        out.append(
            (part, None) if isinstance(part, str) else (part["text"], part.get("cache_control"))
        )
    for m in body.get("messages") or []:
        c = m.get("content")
        if isinstance(c, str):
            out.append((c, None))
        else:
            out += [(b.get("text", ""), b.get("cache_control")) for b in c]
    return out


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
        batch_faults: dict[str, list[str]] | None = None,
        reject_params: tuple[str, ...] = (),
        batch_polls: int = 1,
        min_cacheable_words: int = 0,
        thinking: Callable[[dict[str, Any]], str | None] | None = None,
        fault_fn: Callable[[str, dict[str, Any]], str | None] | None = None,
    ):
        self.responder = responder
        self.faults = {k: list(v) for k, v in (faults or {}).items()}
        self.batch_faults = {k: list(v) for k, v in (batch_faults or {}).items()}
        self.reject_params = reject_params
        self.latency_s = latency_s
        self.hang_s = hang_s
        self.retry_after = retry_after
        self.output_tokens = output_tokens or (lambda body, text: len(text.split()))
        self.batch_polls = batch_polls
        self.hold_batches = False
        self.min_cacheable_words = min_cacheable_words
        self.thinking = thinking  # Anthropic: a thinking block before the text (adaptive thinking)
        self.fault_fn = fault_fn  # (api, body) -> a fault for this request, or None
        self.log: list[dict[str, Any]] = []
        self.usages: list[dict[str, Any]] = []  # (model, usage) of every answer given
        self.batches: dict[str, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}
        self._prompt_cache: set[str] = set()
        self._attempts: dict[str, int] = defaultdict(int)
        self._batch_attempts: dict[str, int] = defaultdict(int)
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

            def do_GET(self):
                server._handle_get(self)

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

    def _batch_fault_for(self, raw: str) -> str:
        with self._lock:
            for marker, plan in self.batch_faults.items():
                if marker in raw:
                    n = self._batch_attempts[marker]
                    self._batch_attempts[marker] += 1
                    return plan[n] if n < len(plan) else "succeeded"
        return "succeeded"

    def _record(self, h, api: str | None, fault: str, marker: str | None, body: Any = None) -> None:
        with self._lock:
            self.log.append(
                {
                    "method": h.command,
                    "path": h.path,
                    "api": api,
                    "fault": fault,
                    "marker": marker,
                    "headers": dict(h.headers),
                    "body": body,
                }
            )

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        data = h.rfile.read(length)
        if h.path == "/v1/files":
            self._record(h, "openai_files", "ok", None)
            return self._upload(h, data)
        raw = data.decode("utf-8")
        body = json.loads(raw)
        path = h.path.rstrip("/")
        if path == "/v1/messages/batches":
            self._record(h, "anthropic_batch_create", "ok", None)
            return self._send(h, 200, self._create_anthropic_batch(body))
        if path == "/v1/batches":
            self._record(h, "openai_batch_create", "ok", None)
            return self._send(h, 200, self._create_openai_batch(body))
        api = {
            "/v1/messages": "anthropic",
            "/v1/chat/completions": "openai",
            "/api/chat": "ollama",
        }.get(h.path)
        fault, marker = self._fault_for(raw)
        if self.fault_fn is not None and fault == "ok":
            fault = self.fault_fn(api or "", body) or "ok"
        self._record(h, api, fault, marker, body)
        if self.latency_s:
            time.sleep(self.latency_s)
        if api is None:
            return self._send(h, 404, {"error": "not found"})
        rejected = self._rejected_param(body)
        if rejected:
            return self._send(h, 400, _error(api, f"{rejected}: not supported by this model", 400))
        if fault == "429":
            return self._send(
                h, 429, _error(api, "rate limited"), {"retry-after": self.retry_after}
            )
        if fault == "500":
            return self._send(h, 500, _error(api, "internal error"))
        if fault == "400":
            return self._send(h, 400, _error(api, "bad request", 400))
        if fault == "timeout":
            time.sleep(self.hang_s)
            h.close_connection = True
            return None
        payload = self._answer(api, body)
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

    def _rejected_param(self, body: dict[str, Any]) -> str | None:
        options = body.get("options") or {}  # Ollama's sampling parameters
        return next((p for p in self.reject_params if p in body or p in options), None)

    def _answer(self, api: str, body: dict[str, Any]) -> dict[str, Any]:
        text = self.responder(api, body)
        out = self.output_tokens(body, text)
        usage = self._anthropic_usage(body, out) if api == "anthropic" else None
        payload = _success(api, body, text, out, usage)
        trace = self.thinking(body) if self.thinking and api == "anthropic" else None
        if trace:
            block = {"type": "thinking", "thinking": trace, "signature": "sig"}
            payload["content"].insert(0, block)
        with self._lock:
            self.usages.append(
                {"model": body.get("model"), "api": api, "usage": payload.get("usage")}
            )
        return payload

    def _anthropic_usage(self, body: dict[str, Any], out_tokens: int) -> dict[str, Any]:
        """Usage as the Messages API reports it, from a simulated prompt cache."""
        blocks = anthropic_blocks(body)
        cum, total = [], 0
        for text, _ in blocks:
            total += len(text.split())
            cum.append(total)
        marks = [i for i, (_, cc) in enumerate(blocks) if cc]
        keys = {
            i: hashlib.sha256(json.dumps([t for t, _ in blocks[: i + 1]]).encode()).hexdigest()
            for i in marks
        }
        read = written = 0
        ttl = "5m"
        with self._lock:
            read = max((cum[i] for i in marks if keys[i] in self._prompt_cache), default=0)
            if marks and cum[marks[-1]] > read and cum[marks[-1]] >= self.min_cacheable_words:
                written = cum[marks[-1]] - read
                ttl = blocks[marks[-1]][1].get("ttl", "5m")
            for i in marks:
                if cum[i] >= self.min_cacheable_words:
                    self._prompt_cache.add(keys[i])
        return {
            "input_tokens": total - read - written,
            "output_tokens": out_tokens,
            "cache_creation_input_tokens": written,
            "cache_read_input_tokens": read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": written if ttl == "5m" else 0,
                "ephemeral_1h_input_tokens": written if ttl == "1h" else 0,
            },
        }

    # -- Anthropic Message Batches ---------------------------------------------------------
    def _create_anthropic_batch(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            batch_id = f"msgbatch_{len(self.batches) + 1:04d}"
        items = [
            {"custom_id": r["custom_id"], "params": r["params"]}
            | {"outcome": self._batch_fault_for(json.dumps(r["params"]))}
            for r in body["requests"]
        ]
        with self._lock:
            self.batches[batch_id] = {
                "api": "anthropic",
                "items": items,
                "polls": 0,
                "results": None,
            }
        return self._anthropic_batch_view(batch_id)

    def _batch_ended(self, batch_id: str) -> bool:
        b = self.batches[batch_id]
        return not self.hold_batches and b["polls"] >= self.batch_polls

    def _anthropic_batch_view(self, batch_id: str) -> dict[str, Any]:
        b = self.batches[batch_id]
        ended = b["results"] is not None
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        for item in b["items"]:
            if not ended:
                counts["processing"] += 1
            else:
                kind = {"invalid": "errored"}.get(item["outcome"], item["outcome"])
                counts[kind] += 1
        return {
            "id": batch_id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": counts,
            "created_at": "2026-12-01T00:00:00Z",
            "expires_at": "2026-12-02T00:00:00Z",
            "ended_at": "2026-12-01T00:10:00Z" if ended else None,
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": f"{self.url}/v1/messages/batches/{batch_id}/results" if ended else None,
        }

    def _finish_anthropic_batch(self, batch_id: str) -> None:
        lines = []
        for item in self.batches[batch_id]["items"]:
            outcome, params = item["outcome"], item["params"]
            rejected = self._rejected_param(params)
            if rejected or outcome == "invalid":
                why = f"{rejected}: not supported by this model" if rejected else "bad request"
                result = _batch_error("invalid_request_error", why)
            elif outcome == "errored":
                result = _batch_error("api_error", "internal error")
            elif outcome in ("expired", "canceled"):
                result = {"type": outcome}
            else:
                result = {"type": "succeeded", "message": self._answer("anthropic", params)}
            lines.append({"custom_id": item["custom_id"], "result": result})
        self.batches[batch_id]["results"] = lines[::-1]  # any order, says the API

    # -- OpenAI Batch API ------------------------------------------------------------------
    def _upload(self, h: BaseHTTPRequestHandler, data: bytes) -> None:
        head = f"Content-Type: {h.headers['Content-Type']}\r\n\r\n".encode()
        message = email.parser.BytesParser().parsebytes(head + data)
        fields = {
            part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
            for part in message.get_payload()
        }
        with self._lock:
            file_id = f"file-{len(self.files) + 1:04d}"
            self.files[file_id] = fields["file"]
        self._send(
            h,
            200,
            {
                "id": file_id,
                "object": "file",
                "bytes": len(fields["file"]),
                "created_at": 0,
                "filename": "input.jsonl",
                "purpose": fields["purpose"].decode(),
                "status": "processed",
            },
        )

    def _create_openai_batch(self, body: dict[str, Any]) -> dict[str, Any]:
        lines = [json.loads(x) for x in self.files[body["input_file_id"]].splitlines() if x.strip()]
        items = [
            {"custom_id": x["custom_id"], "params": x["body"]}
            | {"outcome": self._batch_fault_for(json.dumps(x["body"]))}
            for x in lines
        ]
        with self._lock:
            batch_id = f"batch_{len(self.batches) + 1:04d}"
            self.batches[batch_id] = {
                "api": "openai",
                "items": items,
                "polls": 0,
                "results": None,
                "input_file_id": body["input_file_id"],
            }
        return self._openai_batch_view(batch_id)

    def _openai_batch_view(self, batch_id: str) -> dict[str, Any]:
        b = self.batches[batch_id]
        ended = b["results"] is not None
        expired = any(i["outcome"] == "expired" for i in b["items"])
        status = ("expired" if expired else "completed") if ended else "in_progress"
        done = sum(i["outcome"] == "succeeded" for i in b["items"]) if ended else 0
        return {
            "id": batch_id,
            "object": "batch",
            "endpoint": "/v1/chat/completions",
            "input_file_id": b["input_file_id"],
            "completion_window": "24h",
            "status": status,
            "created_at": 0,
            "output_file_id": b.get("output_file_id"),
            "error_file_id": b.get("error_file_id"),
            "request_counts": {
                "total": len(b["items"]),
                "completed": done,
                "failed": len(b["items"]) - done if ended else 0,
            },
        }

    def _finish_openai_batch(self, batch_id: str) -> None:
        ok, bad = [], []
        for n, item in enumerate(self.batches[batch_id]["items"]):
            line: dict[str, Any] = {"id": f"batch_req_{n}", "custom_id": item["custom_id"]}
            rejected = self._rejected_param(item["params"])
            outcome = "invalid" if rejected else item["outcome"]
            if outcome == "succeeded":
                body = self._answer("openai", item["params"])
                ok.append(line | {"response": {"status_code": 200, "body": body}, "error": None})
            elif outcome == "expired":
                err = {"code": "batch_expired", "message": "not executed before the window expired"}
                bad.append(line | {"response": None, "error": err})
            else:
                status = 400 if outcome == "invalid" else 500
                why = (
                    f"{rejected}: not supported"
                    if rejected
                    else ("bad request" if outcome == "invalid" else "failed")
                )
                body = {"error": {"message": why, "type": "invalid_request_error"}}
                bad.append(
                    line | {"response": {"status_code": status, "body": body}, "error": None}
                )
        b = self.batches[batch_id]
        for kind, rows in (("output_file_id", ok), ("error_file_id", bad)):
            if rows:
                file_id = f"file-{len(self.files) + 1:04d}"
                self.files[file_id] = b"".join(json.dumps(r).encode() + b"\n" for r in rows[::-1])
                b[kind] = file_id
        b["results"] = ok + bad

    # -- GET -------------------------------------------------------------------------------
    def _handle_get(self, h: BaseHTTPRequestHandler) -> None:
        parts = h.path.strip("/").split("/")
        with self._lock:
            known = len(parts) >= 3 and parts[2] in self.batches
        if parts[:3] == ["v1", "messages", "batches"] and len(parts) >= 4:
            batch_id = parts[3]
            if batch_id not in self.batches:
                self._record(h, "anthropic_batch_retrieve", "404", None)
                return self._send(h, 404, _error("anthropic", "batch not found"))
            if len(parts) == 5 and parts[4] == "results":
                self._record(h, "anthropic_batch_results", "ok", None)
                lines = self.batches[batch_id]["results"] or []
                data = b"".join(json.dumps(x).encode() + b"\n" for x in lines)
                return self._send_raw(h, 200, data, content_type="application/binary")
            self._record(h, "anthropic_batch_retrieve", "ok", None)
            self._poll(batch_id, self._finish_anthropic_batch)
            return self._send(h, 200, self._anthropic_batch_view(batch_id))
        if parts[:2] == ["v1", "batches"] and known:
            self._record(h, "openai_batch_retrieve", "ok", None)
            self._poll(parts[2], self._finish_openai_batch)
            return self._send(h, 200, self._openai_batch_view(parts[2]))
        if parts[:2] == ["v1", "files"] and len(parts) == 4 and parts[3] == "content":
            self._record(h, "openai_file_content", "ok", None)
            return self._send_raw(h, 200, self.files[parts[2]], content_type="application/binary")
        self._record(h, None, "404", None)
        return self._send(h, 404, {"error": "not found"})

    def _poll(self, batch_id: str, finish: Callable[[str], None]) -> None:
        with self._lock:
            b = self.batches[batch_id]
            b["polls"] += 1
            ready = b["results"] is None and self._batch_ended(batch_id)
        if ready:
            finish(batch_id)

    def release_batches(self) -> None:
        self.hold_batches = False

    def _send(self, h, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self._send_raw(h, status, json.dumps(obj).encode(), headers)

    def _send_raw(
        self,
        h,
        status: int,
        data: bytes,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        try:
            h.send_response(status)
            h.send_header("Content-Type", content_type)
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

    def calls(self, api: str) -> int:
        return sum(1 for r in self.log if r["api"] == api)


def _error(api: str, message: str, status: int = 500) -> dict[str, Any]:
    if api == "anthropic":
        etype = "invalid_request_error" if status == 400 else "api_error"
        return {"type": "error", "error": {"type": etype, "message": message}}
    if api == "openai":
        return {"error": {"message": message, "type": "server_error", "code": None}}
    return {"error": message}


def _batch_error(etype: str, message: str) -> dict[str, Any]:
    return {
        "type": "errored",
        "error": {
            "type": "error",
            "error": {"type": etype, "message": message},
            "request_id": None,
        },
    }


def _success(
    api: str, body: dict[str, Any], text: str, out_tokens: int, usage: dict | None = None
) -> dict[str, Any]:
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
            "usage": usage or {"input_tokens": in_tokens, "output_tokens": out_tokens},
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
