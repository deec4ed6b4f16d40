"""DeepWiki's official MCP server as a transport: JSON-RPC 2.0 over MCP's streamable HTTP.

Facts this relies on, and where they were read:
- the server is https://mcp.deepwiki.com/mcp (its old /sse endpoint answers 410), with tools
  `read_wiki_structure`, `read_wiki_contents` and `ask_question`, each taking
  `{"repoName": "owner/repo"}` (../shared/fixtures/deepwiki-real/README.md; tnguyen21/dw2md
  src/compiler/mod.rs @7a85930 and src/mcp/mod.rs @0d7b86f);
- `read_wiki_structure` answers text such as `Available pages for o/r:` then `- 1 Overview`,
  `  - 1.1 Repository Structure` (dw2md src/wiki/mod.rs @09b60ad); `read_wiki_contents`
  answers every page concatenated, each starting with a `# Page: <title>` line, in the
  markdown form wikikit.deepwiki.page reads (same sources);
- streamable HTTP (MCP specification 2025-03-26 and 2025-06-18, basic/transports): each
  JSON-RPC message is one POST with `Accept: application/json, text/event-stream`; a request is
  answered with `application/json` or with an SSE stream whose `data:` lines carry JSON-RPC
  messages, ours being the response with our id; the InitializeResult may come with an
  `Mcp-Session-Id` header that every later request sends back; a notification is answered
  202; a 404 to a request carrying a session id means the session ended and the client must
  initialize again; after initialization requests carry `MCP-Protocol-Version`. The handshake
  is initialize, then the `notifications/initialized` notification (dw2md src/mcp/mod.rs).

Answers are read within `max_response_bytes`; a 429 or 503 waits out Retry-After (up to
`retry_after_max_s`, beyond which `RateLimited` stops the crawl); transient failures are
retried with backoff. A tool's error or a repository without a wiki is `McpError`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from wikikit.deepwiki.markdown import FENCE_OPEN
from wikikit.deepwiki.page import wiki_page
from wikikit.deepwiki.polite import RATE_LIMIT_CODES, RateLimited, Throttle, retry_after_s
from wikikit.deepwiki.wiki import Wiki

DEFAULT_URL = "https://mcp.deepwiki.com/mcp"
PROTOCOL_VERSIONS = ("2025-06-18", "2025-03-26")  # the first is proposed
PAGE_LINE = re.compile(r"^# Page:\s*(.*?)\s*$")
STRUCTURE_LINE = re.compile(
    r"^(?P<indent>\s*)[-*]\s+(?P<id>\d+(?:\.\d+)*)\.?\s+(?P<title>\S.*?)\s*$"
)
TRANSIENT_CODES = (500, 502, 504, 408, 522, 524)


class McpError(Exception):
    """The server answered, but not with what was asked for (an error, no wiki, bad framing)."""


@dataclass
class McpSettings:
    url: str = DEFAULT_URL
    timeout_s: float = 30.0
    retries: int = 3
    retry_after_max_s: float = 300.0
    max_response_bytes: int = 64 * 2**20
    user_agent: str = "wikikit-deepwiki (+https://github.com/GhostScientist/semanticwiki)"
    client_name: str = "wikikit"
    client_version: str = "0.1.0"


class McpClient:
    """One MCP session with a server; thread-safe enough for one thread (use one per thread)."""

    def __init__(self, settings: McpSettings, throttle: Throttle | None = None, http: Any = None):
        import httpx

        self.settings = settings
        self.throttle = throttle or Throttle()
        self.http = http or httpx.Client(
            timeout=settings.timeout_s, headers={"User-Agent": settings.user_agent}
        )
        self.session_id: str | None = None
        self.protocol_version: str | None = None
        self.requests = 0  # HTTP requests sent by this client
        self._next_id = 1

    def close(self) -> None:
        self.http.close()

    # -- the protocol ---------------------------------------------------------------------

    def initialize(self) -> None:
        self.session_id = None
        self.protocol_version = None
        result = self._request(
            "initialize",
            {
                "protocolVersion": PROTOCOL_VERSIONS[0],
                "capabilities": {},
                "clientInfo": {
                    "name": self.settings.client_name,
                    "version": self.settings.client_version,
                },
            },
            initializing=True,
        )
        version = result.get("protocolVersion") if isinstance(result, dict) else None
        if version not in PROTOCOL_VERSIONS:
            raise McpError(f"the server speaks MCP {version!r}, not one of {PROTOCOL_VERSIONS}")
        self.protocol_version = version
        self._post({"jsonrpc": "2.0", "method": "notifications/initialized"}, None)

    def call_tool(self, name: str, arguments: dict[str, Any]) -> str:
        """The text a tool returns (its text contents joined); McpError when it reports an error."""
        if self.protocol_version is None:
            self.initialize()
        result = self._request("tools/call", {"name": name, "arguments": arguments})
        if not isinstance(result, dict):
            raise McpError(f"{name}: the result is not an object")
        content = result.get("content")
        texts = [
            c.get("text", "")
            for c in (content if isinstance(content, list) else [])
            if isinstance(c, dict) and c.get("type") == "text" and isinstance(c.get("text"), str)
        ]
        text = "".join(texts)
        if result.get("isError"):
            raise McpError(f"{name}: {_first_line(text) or 'the tool reported an error'}")
        return text

    def _request(self, method: str, params: dict[str, Any], initializing: bool = False) -> Any:
        rid = self._next_id
        self._next_id += 1
        message = {"jsonrpc": "2.0", "id": rid, "method": method, "params": params}
        for attempt in range(2):
            try:
                answer = self._post(message, rid, initializing=initializing)
            except _SessionExpired:
                if initializing or attempt:
                    raise McpError("the server ended the session twice in a row") from None
                self.initialize()
                continue
            if not isinstance(answer, dict):
                raise McpError(f"{method}: no JSON-RPC response")
            if "error" in answer:
                err = answer["error"] if isinstance(answer["error"], dict) else {}
                raise McpError(f"{method}: error {err.get('code')}: {err.get('message', '')}"[:300])
            return answer.get("result")
        raise McpError(f"{method}: no response")

    # -- HTTP -----------------------------------------------------------------------------

    def _headers(self, initializing: bool) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        }
        if self.session_id and not initializing:
            headers["Mcp-Session-Id"] = self.session_id
        if self.protocol_version and not initializing:
            headers["MCP-Protocol-Version"] = self.protocol_version
        return headers

    def _post(self, message: dict, rid: int | None, initializing: bool = False) -> Any:
        """Send one message; the JSON-RPC response with id `rid` (None for a notification)."""
        import httpx

        body = json.dumps(message).encode()
        delay = 1.0
        for attempt in range(self.settings.retries + 1):
            self.throttle.wait()
            self.requests += 1
            last = attempt == self.settings.retries
            try:
                with self.http.stream(
                    "POST", self.settings.url, content=body, headers=self._headers(initializing)
                ) as response:
                    status = response.status_code
                    if status in RATE_LIMIT_CODES and not last:
                        wait = retry_after_s(response.headers.get("Retry-After"))
                        wait = delay if wait is None else wait
                        if wait > self.settings.retry_after_max_s:
                            raise RateLimited(wait, self.settings.retry_after_max_s)
                        self.throttle.backoff(wait)
                        delay *= 2
                        continue
                    if status in TRANSIENT_CODES and not last:
                        self.throttle.backoff(delay)
                        delay *= 2
                        continue
                    if status == 404 and self.session_id and not initializing:
                        raise _SessionExpired()
                    if status == 202 or rid is None:
                        if status >= 400:
                            raise McpError(f"HTTP {status} to a notification")
                        return None
                    if status >= 400:
                        text = self._read(response).decode("utf-8", errors="replace")
                        raise McpError(f"HTTP {status}: {_first_line(text)[:200]}")
                    if initializing and response.headers.get("Mcp-Session-Id"):
                        self.session_id = response.headers["Mcp-Session-Id"]
                    ctype = response.headers.get("Content-Type", "")
                    if "text/event-stream" in ctype:
                        return self._read_sse(response, rid)
                    try:
                        return json.loads(self._read(response))
                    except (ValueError, RecursionError) as exc:
                        raise McpError(f"the response is not JSON ({exc})") from None
            except (httpx.TransportError, httpx.TimeoutException) as exc:
                if last:
                    raise McpError(f"{type(exc).__name__}: {exc}"[:300]) from None
                self.throttle.backoff(delay)
                delay *= 2
        raise McpError("no answer after retries")

    def _read(self, response: Any) -> bytes:
        buf = bytearray()
        for chunk in response.iter_bytes():
            buf += chunk
            if len(buf) > self.settings.max_response_bytes:
                raise McpError(f"the response is over {_size(self.settings.max_response_bytes)}")
        return bytes(buf)

    def _read_sse(self, response: Any, rid: int) -> Any:
        """The JSON-RPC message with id `rid` from an SSE stream (events: `data:` lines, blank line)."""
        size = 0
        pending = b""
        data_lines: list[bytes] = []
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.settings.max_response_bytes:
                raise McpError(
                    f"the event stream is over {_size(self.settings.max_response_bytes)}"
                )
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for raw in lines:
                line = raw.rstrip(b"\r")
                if line:
                    if line.startswith(b"data:"):
                        data_lines.append(line[5:].removeprefix(b" "))
                    continue  # event:, id:, retry: and comments carry nothing we need
                message = _event_message(data_lines)
                data_lines = []
                if isinstance(message, dict) and message.get("id") == rid:
                    return message
        message = _event_message(data_lines + ([pending] if pending.startswith(b"data:") else []))
        if isinstance(message, dict) and message.get("id") == rid:
            return message
        raise McpError("the event stream ended without our response")


class _SessionExpired(Exception):
    pass


def _event_message(data_lines: list[bytes]) -> Any:
    if not data_lines:
        return None
    try:
        return json.loads(b"\n".join(data_lines))
    except (ValueError, RecursionError):
        return None


def _size(n: int) -> str:
    return f"{n / 2**20:g} MiB" if n >= 2**20 else f"{n} bytes"


def _first_line(text: str) -> str:
    return next((s.strip() for s in text.splitlines() if s.strip()), "")


# -- the wiki ---------------------------------------------------------------------------------


def split_pages(text: str) -> list[tuple[str, str]]:
    """(title, markdown) of each `# Page: <title>` section, in order; fenced code never splits."""
    pages: list[tuple[str, list[str]]] = []
    fence = ""
    for line in text.replace("\r\n", "\n").split("\n"):
        opened = FENCE_OPEN.match(line)
        if fence:
            stripped = line.strip()
            if stripped.startswith(fence) and set(stripped) == {fence[0]}:
                fence = ""
        elif opened:
            fence = opened.group(1)
        else:
            m = PAGE_LINE.match(line)
            if m:
                pages.append((m.group(1), []))
                continue
        if pages:
            pages[-1][1].append(line)
    return [(title, "\n".join(lines).strip() + "\n") for title, lines in pages]


def parse_structure(text: str) -> list[tuple[str, str]]:
    """(id, title) of each page `read_wiki_structure` lists, in order."""
    out = []
    for line in text.split("\n"):
        m = STRUCTURE_LINE.match(line)
        if m:
            out.append((m.group("id"), m.group("title")))
    return out


def wiki_from_mcp(repo: str, structure: str, contents: str, url: str | None = None) -> Wiki:
    """The pages of `read_wiki_contents`, each given its id from `read_wiki_structure`."""
    listed = parse_structure(structure)
    ids_by_title: dict[str, list[str]] = {}
    for pid, title in listed:
        ids_by_title.setdefault(title, []).append(pid)
    wiki = Wiki(repo=repo, transport="mcp", url=url)
    dropped: dict[str, int] = {}
    for n, (title, markdown) in enumerate(split_pages(contents)):
        # In order when the two lists agree, else by title (dw2md matches by title too).
        if n < len(listed) and listed[n][1] == title:
            pid = listed[n][0]
        elif ids_by_title.get(title):
            pid = ids_by_title[title][0]
        else:
            pid = None
            dropped["pages_without_id"] = dropped.get("pages_without_id", 0) + 1
        if not markdown.strip():
            dropped["pages_without_content"] = dropped.get("pages_without_content", 0) + 1
            continue
        wiki.pages.append(wiki_page(pid, title, markdown))
    wiki.dropped = dropped
    return wiki


def fetch_wiki_mcp(client: McpClient, repo: str) -> Wiki:
    """One repository's wiki over MCP (two tool calls); McpError when it has none."""
    before = client.requests
    structure = client.call_tool("read_wiki_structure", {"repoName": repo})
    contents = client.call_tool("read_wiki_contents", {"repoName": repo})
    wiki = wiki_from_mcp(repo, structure, contents, client.settings.url)
    wiki.requests = client.requests - before
    if not wiki.pages:
        raise NoWiki(_first_line(contents)[:200] or "read_wiki_contents returned no pages")
    return wiki


class NoWiki(McpError):
    """The server answered for the repository, with no page of a wiki."""
