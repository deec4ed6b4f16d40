"""The real SemanticWiki client (1.2.1, from ../shared/vendor) in the loop, wikikit as its model.

- with a teacher answerer served from loopback (a fake OpenAI-compatible teacher): every call
  the client makes is exactly one recorded exchange, and the examples' prompts are, byte for
  byte, what the client sent;
- with the demo DeepWiki pages replayed: every `📄` reference of every page answer resolves,
  re-checked by reading the files (an independent regex, not wikikit's parser);
- with nothing behind it: the client sends exactly the prompts of the captured real run.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import model_fixtures
import pytest
import semanticwiki_fixtures
from semanticwiki_fixtures import SHOP, shop_teacher
from shared_paths import SEMANTICWIKI_PROMPTS
from teacher_fakes import FakeTeacherServer

from wikikit.bounded import read_jsonl
from wikikit.data.sources import SourceContext
from wikikit.data.sources.semanticwiki import generate
from wikikit.deepwiki.demo_site import DEFAULT_ROOT, serve_site
from wikikit.recipe.load import load_recipe
from wikikit.semanticwiki.endpoint import Answer
from wikikit.semanticwiki.session import Job, run_pass

pytestmark = pytest.mark.slow
semanticwiki_client = semanticwiki_fixtures.semanticwiki_client  # the session fixture
# SemanticWiki's own local-mode reference, read with a regex of this test's own.
LOCAL_REF = re.compile(r"📄 \[([^\]\s:]+):(\d+)\]\(\.\./([^)#\s]+)#L(\d+)\)")


def run_source(tmp_path: Path, answerer: str) -> tuple[list, SourceContext]:
    recipe_path = tmp_path / "r.yaml"
    recipe_path.write_text(
        "wikikit: 1\nname: t\nmodel: {base: tiny-gpt-oss}\ndata:\n"
        "  mix: {all: {weight: 1, sources: [sw]}}\n  sources:\n    sw:\n"
        f"      kind: semanticwiki\n      repos: [{{path: {SHOP}, name: demo/shop}}]\n"
        + textwrap.indent(answerer, "      ")
    )
    recipe = load_recipe(recipe_path)
    ctx = SourceContext(
        recipe=recipe, cache_dir=tmp_path / "cache", key_path=("data", "sources", "sw")
    )
    return list(generate("sw", recipe.data["data"]["sources"]["sw"], ctx)), ctx


def recording(ctx: SourceContext) -> dict:
    """The recording's entry, its paths made absolute (they are relative to the cache)."""
    (entry,) = ctx.artifacts["semanticwiki/sw/recordings.json"].values()
    paths = ("exchanges", "requests_log", "client_log")
    return {k: (Path(ctx.cache_dir) / v if k in paths else v) for k, v in entry.items()}


def test_teacher_answers_through_the_real_client(tmp_path, semanticwiki_client):
    with FakeTeacherServer(shop_teacher) as server:
        answerer = (
            "answerer:\n  kind: teacher\n  teacher:\n    provider: openai\n    model: teacher-x\n"
            f"    base_url: {server.base_url('openai')}\n    cache: {tmp_path / 'teacher.sqlite'}\n"
        )
        examples, ctx = run_source(tmp_path, answerer)
        asked = len(server.log)
        # Run again: the finished recording is reused, no client run, no teacher request.
        again, ctx2 = run_source(tmp_path, answerer)
        assert len(server.log) == asked and ctx2.stats["sw"]["recordings_reused"] == 1
        assert [e.to_json() for e in again] == [e.to_json() for e in examples]
    entry, stats = recording(ctx), ctx.stats["sw"]
    assert entry["passes"] == 4 and entry["pending"] == 0  # plan, pages, index, then all cached
    # Every pass: each chat request the client made is exactly one recorded exchange.
    folders = sorted(Path(entry["exchanges"]).parents[2].glob("pass-*"))
    assert len(folders) == 4
    for folder in folders:
        requests = read_jsonl(folder / "record" / "requests.jsonl")
        exchanges = read_jsonl(folder / "record" / "exchanges.jsonl")
        chats = [r for r in requests if r["path"] == "/api/chat"]
        assert [r["path"] for r in requests if r not in chats] == ["/api/tags"]
        users = [json.loads(r["body"])["messages"][-1]["content"] for r in chats]
        assert users == [e["user"] for e in exchanges]
    final = read_jsonl(Path(entry["exchanges"]))
    assert {e["status"] for e in final} == {"answered"} and stats["exchanges"] == len(final)
    assert asked == len({(e["system"], e["user"]) for e in final})  # each prompt asked once
    # The examples' prompts are, byte for byte, what the client sent in its last pass.
    sent = [
        json.loads(r["body"])["messages"]
        for r in read_jsonl(Path(entry["requests_log"]))
        if r["path"] == "/api/chat"
    ]
    sent_pairs = {(m[0]["content"].encode(), m[-1]["content"].encode()) for m in sent}
    assert {e.category for e in examples} == {"plan", "page", "index"}
    assert len([e for e in examples if e.category == "page"]) == 6
    for ex in examples:
        system, user = ex.messages[0].content, ex.messages[1].content
        assert (system.encode(), user.encode()) in sent_pairs
        assert ex.meta["protocol"] == "semanticwiki-1.2.1/full-local"
        assert ex.messages[2].content == shop_teacher(
            "openai", {"messages": [{"role": "user", "content": user}]}
        )
    # The system prompts are SemanticWiki's own (the captured real run; its files end in "\n\n").
    if SEMANTICWIKI_PROMPTS is not None:
        captured = {
            f.name.split("-")[1].split(".")[0]: f.read_text().rstrip("\n")
            for f in (SEMANTICWIKI_PROMPTS / "with-rag").glob("*.system.txt")
        }
        for ex in examples:
            assert ex.messages[0].content == captured[ex.category]


def test_replayed_deepwiki_pages_cite_only_real_lines(tmp_path, semanticwiki_client):
    with serve_site(DEFAULT_ROOT) as base:
        examples, ctx = run_source(
            tmp_path,
            "answerer:\n  kind: replay\n  wiki: deepwiki\n  deepwiki:\n"
            f"    base_url: {base}\n    autothrottle: false\n    download_delay: 0\n",
        )
    pages = [e for e in examples if e.category == "page"]
    assert len(pages) == 6 and [e.category for e in examples].count("plan") == 1
    checked = 0
    for ex in pages:
        text = ex.messages[-1].content
        assert text.startswith(f"# {ex.meta['title']}\n") and "]()" not in text
        found = LOCAL_REF.findall(text)
        assert found, ex.meta["title"]
        for path, line, target, anchor in found:
            assert path == target and line == anchor, (path, target)
            lines = (SHOP / path).read_text(encoding="utf-8").splitlines()
            assert 1 <= int(line) <= len(lines), (path, line)
            checked += 1
    assert checked == ctx.stats["sw"]["refs_total"] > 20
    (plan,) = [e for e in examples if e.category == "plan"]
    for page in json.loads(plan.messages[-1].content)["pages"]:
        assert all((SHOP / f).is_file() for f in page["files"]), page


# The with-rag capture was made by an install without faiss-node's binding (`npm ci
# --ignore-scripts`): its page prompts hold keyword-mode chunks (`### function: module
# (README.md:1)`). To replay that capture the client runs as that install did: node refuses to
# load faiss-node, so the client takes its own fallback (dist/rag/index.js:22-28).
NO_FAISS_JS = """
const Module = require('module');
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === 'faiss-node') throw new Error('faiss-node hidden: the capture had no binding');
  return load.call(this, request, ...rest);
};
"""


def _without_faiss(monkeypatch, folder: Path) -> None:
    from wikikit.semanticwiki import session

    hook = folder / "no-faiss.cjs"
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text(NO_FAISS_JS)
    real = session.run_generate

    def run_generate(*args, **kwargs):
        return real(*args, **kwargs, extra_env={"NODE_OPTIONS": f"--require {hook}"})

    monkeypatch.setattr(session, "run_generate", run_generate)


@pytest.mark.parametrize("mode", ["with-rag", "skip-index"])
def test_the_client_sends_the_captured_prompts(tmp_path, semanticwiki_client, mode, monkeypatch):
    if SEMANTICWIKI_PROMPTS is None:
        pytest.skip("needs ../shared (captured SemanticWiki prompts)")
    _without_faiss(monkeypatch, tmp_path / "hook")

    class Silent:  # like the tiny model of the capture: no usable plan, so the client plans
        name = "silent"

        def answer(self, request):
            return Answer("")

    result = run_pass(
        semanticwiki_client, Job("shop", SHOP, Silent()), tmp_path / "pass",
        skip_index=mode == "skip-index", timeout_s=600,
    )  # fmt: skip
    assert result.run.ok, result.run.log_tail()
    if mode == "with-rag":  # the client's own keyword fallback, as in the capture
        assert "faiss-node not available" in result.run.log.read_text()
    sent = []
    for e in result.exchanges:  # a page answered with "" is asked twice; the capture has it once
        if not sent or sent[-1] != (e["system"], e["user"]):
            sent.append((e["system"], e["user"]))
    folder = SEMANTICWIKI_PROMPTS / mode
    expected = [
        (f.with_name(f.name.replace(".user.", ".system.")).read_text().rstrip("\n"), f.read_text())
        for f in sorted(folder.glob("*.user.txt"))
    ]
    assert sent[: len(expected)] == expected


tiny_model = model_fixtures.tiny_model  # the session fixtures the served model needs
tiny_gguf = model_fixtures.tiny_gguf


def test_model_answerer_asks_a_served_gguf_with_the_clients_options(tmp_path, tiny_gguf):
    """`python -m llama_cpp.server` on loopback serving the tiny gpt-oss: the answer comes back
    parsed (final text, token counts) and the client's num_predict bounds it."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    from wikikit.semanticwiki.answerers import ModelAnswerer
    from wikikit.semanticwiki.endpoint import ChatRequest

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(tiny_gguf), "--host",
           "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--model_alias", "tiny"]  # fmt: skip
    with open(tmp_path / "server.log", "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.5)
        body = {
            "model": "wikikit",
            "messages": [
                {"role": "system", "content": "You write docs."},
                {"role": "user", "content": '# Documentation Task: "Cart"\n\nDocument it.'},
            ],
            "options": {"num_predict": 12, "temperature": 0.3},
            "stream": False,
        }
        answerer = ModelAnswerer(f"http://127.0.0.1:{port}/v1", "tiny", timeout_s=120)
        answer = answerer.answer(ChatRequest.parse(json.dumps(body)))
        answerer.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert isinstance(answer.content, str) and "<|channel|>" not in answer.content
    assert 1 <= answer.output_tokens <= 12 and answer.prompt_tokens > 10
    assert answer.meta["finish_reason"] in ("length", "stop")
