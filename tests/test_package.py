"""The package stage: llama.cpp's converter on the tiny gpt-oss, GGUF checks, llama-cpp-python
(load, greedy tokens against transformers, its OpenAI server), the Modelfile, and `ollama
create` against a local server speaking Ollama's HTTP API (blob upload, create, chat)."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import model_fixtures
import pytest

from wikikit.errors import WikikitError
from wikikit.package.modelfile import build_spec, parse_modelfile, render_modelfile
from wikikit.package.ollama_publish import OllamaUnreachable, create_model, finish_later_commands
from wikikit.stage import StageContext

# shared fixtures (tests/model_fixtures.py), registered in this module
merged_model = model_fixtures.merged_model
tiny_model = model_fixtures.tiny_model

for _k, _v in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "WANDB_MODE": "disabled",
}.items():
    os.environ.setdefault(_k, _v)


# ------------------------------------------------------------------ a local Ollama API server


class FakeOllama:
    """The endpoints the ollama client calls, with Ollama's digest check on blob uploads."""

    def __init__(self, chat_reply: str = "An architectural wiki explains a codebase."):
        self.blobs: dict[str, bytes] = {}
        self.creates: list[dict] = []
        self.chats: list[dict] = []
        self.chat_reply = chat_reply
        self.models: set[str] = set()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _json(self, code: int, obj) -> None:
                body = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    data = b""
                    while True:
                        size = int(self.rfile.readline().strip(), 16)
                        if size == 0:
                            self.rfile.readline()
                            return data
                        data += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length", 0)))

            def do_HEAD(self):
                if self.path.startswith("/api/blobs/"):
                    digest = self.path.rsplit("/", 1)[1]
                    self.send_response(200 if digest in fake.blobs else 404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self._json(404, {"error": "not found"})

            def do_GET(self):
                if self.path == "/api/tags":
                    self._json(200, {"models": [{"name": m} for m in sorted(fake.models)]})
                elif self.path == "/api/version":
                    self._json(200, {"version": "0.12.0"})
                else:
                    self._json(404, {"error": "not found"})

            def do_POST(self):
                body = self._body()
                if self.path.startswith("/api/blobs/"):
                    digest = self.path.rsplit("/", 1)[1]
                    actual = "sha256:" + hashlib.sha256(body).hexdigest()
                    if actual != digest:
                        self._json(
                            400, {"error": f"digest mismatch, expected {digest}, got {actual}"}
                        )
                        return
                    fake.blobs[digest] = body
                    self.send_response(201)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif self.path == "/api/create":
                    req = json.loads(body)
                    fake.creates.append(req)
                    missing = [d for d in req.get("files", {}).values() if d not in fake.blobs]
                    if missing:
                        self._json(400, {"error": f"missing blobs {missing}"})
                        return
                    fake.models.add(req["model"])
                    lines = [
                        {"status": "parsing GGUF"},
                        {"status": "using existing layer"},
                        {"status": "writing manifest"},
                        {"status": "success"},
                    ]
                    data = "".join(json.dumps(x) + "\n" for x in lines).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/x-ndjson")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                elif self.path == "/api/chat":
                    req = json.loads(body)
                    fake.chats.append(req)
                    if req["model"] not in fake.models:
                        self._json(404, {"error": f"model '{req['model']}' not found"})
                        return
                    self._json(
                        200,
                        {
                            "model": req["model"],
                            "created_at": "2026-01-01T00:00:00Z",
                            "message": {"role": "assistant", "content": fake.chat_reply},
                            "done": True,
                            "done_reason": "stop",
                        },
                    )
                else:
                    self._json(404, {"error": "not found"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeOllama:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ ollama create (fast)


def test_create_uploads_the_gguf_and_sends_the_modelfiles_settings(tmp_path):
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF" + os.urandom(300_000))
    text = render_modelfile(build_spec("./model.gguf", {"num_ctx": 4096}))
    spec = parse_modelfile(text)
    with FakeOllama() as server:
        res = create_model("wiki-agent", gguf, spec, server.host)
    want = "sha256:" + hashlib.sha256(gguf.read_bytes()).hexdigest()
    assert res.digest == want and list(server.blobs) == [want]
    (req,) = server.creates
    assert req["model"] == "wiki-agent" and req["files"] == {"model.gguf": want}
    assert req["template"] == spec.template and "<|start|>" in req["template"]
    assert req["system"] == spec.system
    assert req["parameters"] == {
        "temperature": 0.7,
        "num_ctx": 4096,
        "stop": ["<|return|>", "<|call|>"],
    }
    assert "Apache" in str(req["license"])
    assert res.statuses[-1] == "success"
    assert server.chats[0]["model"] == "wiki-agent" and res.smoke_reply.startswith(
        "An architectural"
    )


def test_empty_smoke_reply_fails(tmp_path):
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF0000")
    with FakeOllama(chat_reply="") as server, pytest.raises(WikikitError, match="no text"):
        create_model("m", gguf, build_spec("./model.gguf"), server.host)


def test_unreachable_server_is_reported_plainly(tmp_path):
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    host = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(OllamaUnreachable, match=f"no Ollama server reachable at {host}"):
        create_model("m", gguf, build_spec("./model.gguf"), host)
    cmds = finish_later_commands("wiki", tmp_path, "model.gguf")
    assert cmds[0] == f"cd {tmp_path} && ollama create wiki -f Modelfile"
    assert cmds[1] == "semanticwiki generate -r ./repo --full-local --use-ollama --local-model wiki"
    assert f"--model-path {tmp_path / 'model.gguf'}" in cmds[2]


# ------------------------------------------------------------------ the whole stage (slow)


@dataclass
class StubRecipe:
    data: dict
    path: Path

    def resolve_path(self, value, key_path) -> Path:
        return (self.path.parent / value).resolve()


def _ctx(tmp_path: Path, train: Path, package: dict) -> StageContext:
    recipe = StubRecipe({"name": "Tiny Wiki", "package": package}, tmp_path / "recipe.yaml")
    return StageContext(
        recipe=recipe,  # type: ignore[arg-type]
        stage="package",
        run_dir=tmp_path,
        out_dir=tmp_path / "package",
        cache_dir=tmp_path / "cache" / "package",
        inputs={"train": train},
    )


@pytest.fixture(scope="module")
def packaged(merged_model, tmp_path_factory):
    """The package stage run once, f16, against a local Ollama API server."""
    from wikikit.package.stage import run_stage

    tmp = tmp_path_factory.mktemp("run")
    with FakeOllama() as server:
        ctx = _ctx(
            tmp,
            merged_model,
            {"gguf": {"outtype": "f16", "verify_tokens": 8}, "ollama": {"host": server.host}},
        )
        start = time.monotonic()
        result = run_stage(ctx)
        seconds = time.monotonic() - start
    return ctx, result, server, seconds


@pytest.mark.slow
def test_stage_writes_a_checked_gguf_and_creates_the_model(packaged):
    ctx, result, server, seconds = packaged
    out = ctx.out_dir
    assert sorted(result.outputs) == sorted(
        ["model.gguf", "Modelfile", "convert.log", "package.json"]
    )
    for name in result.outputs:
        assert (out / name).is_file()
    meta = json.loads((out / "package.json").read_text())
    gguf = out / "model.gguf"
    digest = hashlib.sha256(gguf.read_bytes()).hexdigest()
    assert meta["gguf"]["sha256"] == digest and meta["gguf"]["bytes"] == gguf.stat().st_size
    info = meta["verification"]["metadata"]
    assert info["architecture"] == "gpt-oss" and info["tensor_count"] == 3 + 19 * 2
    assert info["tokenizer_pre"] == "gpt-4o" and info["vocab_size"] == 201088
    assert info["chat_template_chars"] > 0 and "F16" in info["tensor_types"]
    greedy = meta["verification"]["greedy"]
    assert (
        greedy["ok"] and greedy["required"] == 4 and greedy["agreed_prefix"] >= greedy["required"]
    )
    assert "convert_hf_to_gguf" in (out / "convert.log").read_text()
    # Ollama got the GGUF's bytes and the Modelfile's template.
    assert list(server.blobs) == [f"sha256:{digest}"]
    modelfile = parse_modelfile((out / "Modelfile").read_text())
    assert modelfile.from_ == "./model.gguf"
    (req,) = server.creates
    assert req["model"] == "tiny-wiki" and req["template"] == modelfile.template
    assert meta["ollama"]["created"] and meta["ollama"]["digest"] == f"sha256:{digest}"
    print(
        f"\ntiny gpt-oss f16 GGUF: {gguf.stat().st_size:,} bytes; convert {meta['times']['convert_s']}s; stage {seconds:.1f}s"
    )


@pytest.mark.slow
def test_gguf_is_served_by_llama_cpp_server(packaged, merged_model, tmp_path):
    from wikikit.package.gguf_verify import prompt_ids

    ctx, *_ = packaged
    port = free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(ctx.out_dir / "model.gguf")]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "1024", "--model_alias", "tiny"]
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115  (a file, not a pipe: the load log is long)
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/v1/models", timeout=2) as r:
                    assert "tiny" in r.read().decode()
                break
            except OSError:
                assert proc.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "llama_cpp.server did not start"
                time.sleep(0.5)
        body = {
            "model": "tiny",
            "messages": [{"role": "user", "content": "Say hi."}],
            "max_tokens": 8,
            "temperature": 0,
        }
        req = urllib.request.Request(
            f"{base}/v1/chat/completions",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=120) as r:
            reply = json.loads(r.read())
        choice = reply["choices"][0]
        assert choice["message"]["role"] == "assistant" and choice["message"]["content"]
        assert reply["usage"]["completion_tokens"] >= 1
        # The server rendered the GGUF's own chat template: the same harmony prompt as transformers.
        want = prompt_ids(merged_model / "merged", "Say hi.")
        assert reply["usage"]["prompt_tokens"] == len(want)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.mark.slow
def test_unreachable_ollama_leaves_a_ready_package(merged_model, tmp_path):
    from wikikit.package.stage import run_stage

    host = f"http://127.0.0.1:{free_port()}"
    pkg = {"gguf": {"outtype": "f32", "verify": False}, "ollama": {"host": host, "name": "wiki"}}
    result = run_stage(_ctx(tmp_path, merged_model, pkg))
    meta = json.loads((tmp_path / "package" / "package.json").read_text())
    assert (
        not meta["ollama"]["created"]
        and "no Ollama server reachable" in meta["ollama"]["unreachable"]
    )
    assert meta["ollama"]["commands"][0].endswith("ollama create wiki -f Modelfile")
    assert meta["gguf"]["outtype"] == "f32" and "Ollama: not created" in result.summary
    assert (tmp_path / "package" / "Modelfile").is_file()
    required = {**pkg, "ollama": {**pkg["ollama"], "required": True}}
    with pytest.raises(WikikitError, match="ollama create wiki -f Modelfile"):
        run_stage(_ctx(tmp_path / "again", merged_model, required))
    assert not (tmp_path / "again" / "package" / "model.gguf").exists()  # failed before converting
