"""A loopback MCP server with DeepWiki's tools, speaking MCP's streamable HTTP, for tests and bench.

What it speaks (MCP specification 2025-03-26 / 2025-06-18, basic/transports; DeepWiki's tools as
tnguyen21/dw2md calls them, see wikikit/deepwiki/mcp.py): POST /mcp only, with `Accept`
naming both application/json and text/event-stream (else 406); `initialize` answers JSON with
an `Mcp-Session-Id` header; every later message must carry that id (400 without one, 404 for
an unknown or ended one) and, after initialization, `MCP-Protocol-Version` (400 if unsupported);
notifications get 202; `tools/call` answers as an SSE stream (`event: message`, `data:` line)
or JSON (`sse=False`). Tools: `read_wiki_structure` (`Available pages for o/r:` and `- 2.1 Title`
lines, indented by depth) and `read_wiki_contents` (each page as `# Page: <title>` then its
markdown). A repo it does not know gets DeepWiki's kind of answer: text saying so.

Knobs: `rate_limit_first` (answer that many tool calls 429 with `Retry-After`), `end_session_after`
(forget the session after that many tool calls: the client must initialize again).
Every request is logged: (time, method, session id, protocol header, status).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SUPPORTED = ("2025-06-18", "2025-03-26")


@dataclass
class McpWikiServer:
    wikis: dict[str, list[tuple[str, str, str]]]  # repo -> [(id, title, markdown)]
    sse: bool = True
    rate_limit_first: int = 0
    retry_after: str = "1"
    end_session_after: int | None = None
    errors: set[str] = field(default_factory=set)  # repos whose tool calls report an error
    log: list[dict] = field(default_factory=list)
    sessions: set[str] = field(default_factory=set)
    tool_calls: int = 0
    server: ThreadingHTTPServer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/mcp"

    def start(self) -> McpWikiServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                status, headers, body = owner.answer(self.path, dict(self.headers), raw)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802 - no server-initiated stream here
                self.send_response(405)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    # -- the protocol -----------------------------------------------------------------------

    def answer(self, path: str, headers: dict, raw: bytes) -> tuple[int, dict, bytes]:
        h = {k.lower(): v for k, v in headers.items()}
        try:
            message = json.loads(raw)
        except ValueError:
            message = {}
        method = message.get("method") if isinstance(message, dict) else None
        sid = h.get("mcp-session-id")
        entry = {
            "t": time.monotonic(),
            "method": method,
            "session": sid,
            "protocol": h.get("mcp-protocol-version"),
            "tool": (message.get("params") or {}).get("name") if method == "tools/call" else None,
        }

        def done(
            status: int, hdrs: dict | None = None, body: bytes = b""
        ) -> tuple[int, dict, bytes]:
            entry["status"] = status
            with self.lock:
                self.log.append(entry)
            return status, hdrs or {}, body

        if path != "/mcp":
            return done(404)
        accept = h.get("accept", "")
        if "application/json" not in accept or "text/event-stream" not in accept:
            return done(406, {"Content-Type": "text/plain"}, b"Not Acceptable")
        if method == "initialize":
            new = uuid.uuid4().hex
            with self.lock:
                self.sessions.add(new)
            asked = (message.get("params") or {}).get("protocolVersion")
            result = {
                "protocolVersion": asked if asked in SUPPORTED else SUPPORTED[0],
                "capabilities": {"tools": {"listChanged": False}},
                "serverInfo": {"name": "DeepWiki", "version": "loopback"},
            }
            return done(
                200,
                {"Content-Type": "application/json", "Mcp-Session-Id": new},
                self._reply(message, result, sse=False)[1],
            )
        if not sid:
            return done(400, {"Content-Type": "text/plain"}, b"Bad Request: no Mcp-Session-Id")
        if sid not in self.sessions:
            return done(404, {"Content-Type": "text/plain"}, b"Session not found")
        if entry["protocol"] not in SUPPORTED:
            return done(400, {"Content-Type": "text/plain"}, b"Bad MCP-Protocol-Version")
        if "id" not in message:
            return done(202)
        if method == "tools/list":
            tools = [
                {"name": n, "inputSchema": {"type": "object"}}
                for n in ("read_wiki_structure", "read_wiki_contents", "ask_question")
            ]
            ctype, body = self._reply(message, {"tools": tools})
            return done(200, {"Content-Type": ctype}, body)
        if method != "tools/call":
            ctype, body = self._reply(
                message, None, error={"code": -32601, "message": "Method not found"}
            )
            return done(200, {"Content-Type": ctype}, body)
        with self.lock:
            self.tool_calls += 1
            n = self.tool_calls
            if self.end_session_after is not None and n > self.end_session_after:
                self.end_session_after = None
                self.sessions.discard(sid)
                forget = True
            else:
                forget = False
        if forget:
            return done(404, {"Content-Type": "text/plain"}, b"Session not found")
        if n <= self.rate_limit_first:
            return done(
                429,
                {"Content-Type": "text/plain", "Retry-After": self.retry_after},
                b"Too Many Requests",
            )
        params = message.get("params") or {}
        repo = str((params.get("arguments") or {}).get("repoName", ""))
        text = self.tool_text(str(params.get("name")), repo)
        if repo in self.errors:
            ctype, body = self._reply(
                message,
                {
                    "content": [{"type": "text", "text": "Error fetching wiki: upstream timeout"}],
                    "isError": True,
                },
            )
        elif text is None:
            ctype, body = self._reply(
                message, {"content": [{"type": "text", "text": "Unknown tool"}], "isError": True}
            )
        else:
            ctype, body = self._reply(message, {"content": [{"type": "text", "text": text}]})
        return done(200, {"Content-Type": ctype}, body)

    def tool_text(self, tool: str, repo: str) -> str | None:
        pages = self.wikis.get(repo)
        if tool not in ("read_wiki_structure", "read_wiki_contents"):
            return None
        if pages is None:
            return f"Repository not found. Visit https://deepwiki.com/{repo} to index it."
        if tool == "read_wiki_structure":
            lines = [f"Available pages for {repo}:", ""]
            lines += [f"{'  ' * pid.count('.')}- {pid} {title}" for pid, title, _ in pages]
            return "\n".join(lines) + "\n"
        return "\n\n".join(
            f"# Page: {title}\n\n{markdown.strip()}\n" for _, title, markdown in pages
        )

    def _reply(
        self, message: dict, result, error=None, sse: bool | None = None
    ) -> tuple[str, bytes]:
        payload = {"jsonrpc": "2.0", "id": message.get("id")}
        payload.update({"error": error} if error else {"result": result})
        data = json.dumps(payload)
        if self.sse if sse is None else sse:
            # One event; a comment and a notification before it, as a stream may carry.
            note = json.dumps(
                {
                    "jsonrpc": "2.0",
                    "method": "notifications/message",
                    "params": {"level": "info", "data": "working"},
                }
            )
            body = f": keep-alive\n\nevent: message\ndata: {note}\n\nevent: message\nid: 1\ndata: {data}\n\n"
            return "text/event-stream", body.encode()
        return "application/json", data.encode()
