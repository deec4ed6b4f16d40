"""A small OpenAI-compatible server on 127.0.0.1 for the eval tests.

It answers /v1/chat/completions and /v1/completions with answers built from the prompt, so each
task's metric has something real to score: documentation citing the shown lines, a Mermaid
diagram of the asked type, a bundled tool call for the tool the request names, a marked wiki,
and CodeWikiBench judge verdicts (reading pages through the docs_navigator tool first). `broken=True` answers badly instead (hallucinated paths, a
broken diagram, the wrong tool), so tests can see scores move.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from wikikit.eval.codewikibench.judge import SYSTEM as JUDGE_SYSTEM
from wikikit.eval.codewikibench.judge import TOOL

DIAGRAMS = {
    "sequence": "sequenceDiagram\n    Client->>Gateway: request\n    Gateway-->>Client: token",
    "flowchart": "flowchart TD\n    A[start] --> B{valid?}\n    B -->|yes| C[ok]\n    B -->|no| D[error]",
    "class": "classDiagram\n    class Service\n    class Repository\n    Service --> Repository",
    "state": "stateDiagram-v2\n    [*] --> pending\n    pending --> paid\n    paid --> cancelled",
    "er": "erDiagram\n    CUSTOMER ||--o{ ORDER : places",
}
TOOL_FOR = [
    ("overview of its layout", {"tool": "directory_tree", "args": {"path": ".", "depth": 2}}),
    ("Open ", {"tool": "read_file", "args": {"path": "gateway/auth/jwt_provider.py"}}),
    ("Find where", {"tool": "search_codebase", "args": {"query": "DeadLetter"}}),
    ("Analyze the structure", {"tool": "analyze_code_structure", "args": {"filePath": "src/cache/lru.ts"}}),
    ("Write the wiki page", {"tool": "write_wiki_page",
                             "args": {"pagePath": "components/cache.md", "title": "Page cache", "content": "LRU."}}),
    ("Check that no internal link", {"tool": "verify_wiki_completeness", "args": {}}),
    ("Which wiki pages", {"tool": "list_wiki_pages", "args": {}}),
]  # fmt: skip
_FILE = re.compile(r"File: (?P<path>\S+)\n```\w*\n(?P<body>.*?)\n```", re.S)
_NUMBERED = re.compile(r"^\s*(\d+) \| (.*)$", re.M)


def _files(prompt: str) -> list[tuple[str, list[str]]]:
    return [
        (m["path"], [line for _, line in _NUMBERED.findall(m["body"])])
        for m in _FILE.finditer(prompt)
    ]


def _documentation(prompt: str, broken: bool) -> str:
    parts = []
    for path, lines in _files(prompt):
        # cite the first class/def/func/interface line with the name it declares
        for i, line in enumerate(lines, 1):
            m = re.search(r"\b(?:class|def|func|interface)\s+(?:\([^)]*\)\s*)?(\w+)", line)
            if m:
                shown = "made/up/path.py" if broken else path
                parts.append(
                    f"## {m[1]}\n\n`{m[1]}` is declared here.\n\n"
                    f"**Source:** [`{shown}:{i}-{i}`]({shown}#L{i}-L{i})\n"
                )
                break
    return "# Overview\n\n" + "\n".join(parts)


def _judge(prompt: str) -> str:
    """CodeWikiBench's per-leaf judge: read every page with the tool, then a keyword check."""
    criterion = re.search(r'Criterion: "(.*?)"\n', prompt)[1]
    if "Documentation tree:" in prompt and TOOL + " result:" not in prompt:
        tree = json.loads(prompt.split("```json\n", 1)[1].split("\n```", 1)[0])
        paths = [["subpages", i, "content"] for i in range(len(tree.get("subpages") or []))]
        return json.dumps({"tool": TOOL, "paths": paths})
    if TOOL + " result:" in prompt:
        docs = prompt.split(TOOL + " result:", 1)[1].lower()
    else:  # the whole wiki, before the criterion
        docs = prompt.split("Documentation:", 1)[-1].split("Evaluate this criterion", 1)[0].lower()
    words = re.findall(r"[a-z]{5,}", criterion.lower())
    hit = any(w in docs for w in words)
    return json.dumps({"criteria": criterion, "score": int(hit), "reasoning": "keyword check",
                       "evidence": criterion})  # fmt: skip


_CHUNK = re.compile(r"^### (?P<kind>\w+): (?P<name>\w+) \((?P<path>[^:()]+):(?P<line>\d+)\)$", re.M)


def _semanticwiki_page(prompt: str, broken: bool) -> str:
    """A page as SemanticWiki asks for it, one component per chunk of the prompt's context."""
    title = re.search(r'# Documentation Task: "(.*)"', prompt)[1]
    related = re.findall(r"^- \[[^\]]*\]\((\./[^)]+)\)$", prompt, re.M)
    parts = [
        f"# {title}",
        "",
        "## Overview",
        "",
        f"What {title} does.",
        "",
        "## Key Components",
        "",
    ]
    for m in _CHUNK.finditer(prompt):
        path = "made/up/path.py" if broken else m["path"]
        line = int(m["line"]) + (500 if broken else 0)
        parts += [f"### `{m['name']}`", "", f"The `{m['name']}` {m['kind']} is defined here "
                  f"📄 [{path}:{line}](../{path}#L{line}).", ""]  # fmt: skip
    parts += ["## How It Works", "", "```mermaid", "flowchart TD", "  A[call] --> B[result]",
              "```", "", "## Related Documentation", ""]  # fmt: skip
    parts += [f"- [{r[2:-3]}]({r})" for r in related]
    return "\n".join(parts) + "\n"


def answer(system: str, prompt: str, broken: bool = False) -> str:
    if system.startswith(JUDGE_SYSTEM):
        return _judge(prompt)
    if '# Documentation Task: "' in prompt:
        return _semanticwiki_page(prompt, broken)
    asked = re.search(r"\(Mermaid (\w+) diagram\.\)", prompt)
    if asked:
        body = "flowchart TD\n    A --> B --> " if broken else DIAGRAMS[asked[1]]
        return f"Here is the diagram.\n\n```mermaid\n{body}\n```\n"
    if "To call a tool" in prompt or "namespace functions" in prompt:
        if broken:
            return '{"tool": "read_file", "args": {}}'
        ask = prompt.rsplit("<|start|>user<|message|>", 1)[-1].split("<|end|>")[0]
        ask = ask.rsplit("\n\n", 1)[-1]
        for needle, call in TOOL_FOR:
            if needle in ask:
                return json.dumps(call)
        return "A reference is written as `path:start-end`."
    if "<!-- page: PATH -->" in prompt:
        doc = _documentation(prompt, broken)
        return (
            "<!-- page: overview.md -->\n" + doc + "\nSee [Architecture](architecture.md).\n"
            "<!-- page: architecture.md -->\n# Architecture\n\nBack to [overview](overview.md).\n"
            + doc.split("\n", 2)[2]
        )
    return _documentation(prompt, broken)


class _Handler(BaseHTTPRequestHandler):
    server: StubServer

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def _send(self, obj: dict[str, Any], status: int = 200) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            models = [{"id": m, "object": "model"} for m in self.server.model_ids]
            self._send({"object": "list", "data": models})
        else:
            self._send({"error": "not found"}, 404)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        self.server.requests.append({"path": self.path, "body": body})
        usage = {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}
        if self.path.endswith("/chat/completions"):
            msgs = body.get("messages", [])
            system = "\n".join(m["content"] for m in msgs if m["role"] in ("system", "developer"))
            prompt = "\n".join(m["content"] for m in msgs if m["role"] == "user")
            text = answer(system, prompt, self.server.broken)
            choice = {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
            self._send({"id": "c", "object": "chat.completion", "model": body.get("model"),
                        "choices": [choice], "usage": usage})  # fmt: skip
        elif self.path.endswith("/completions"):
            prompts = body.get("prompt")
            prompts = prompts if isinstance(prompts, list) else [prompts]
            choices = [
                {"index": i, "text": answer("", p, self.server.broken), "finish_reason": "stop"}
                for i, p in enumerate(prompts)
            ]
            self._send({"id": "c", "object": "text_completion", "choices": choices, "usage": usage})
        else:
            self._send({"error": "not found"}, 404)


class StubServer(ThreadingHTTPServer):
    def __init__(self, broken: bool = False, port: int = 0, model_ids: tuple[str, ...] = ("stub",)):
        super().__init__(("127.0.0.1", port), _Handler)
        self.broken = broken
        self.model_ids = list(model_ids)
        self.requests: list[dict[str, Any]] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def __enter__(self) -> StubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()
        self.server_close()
