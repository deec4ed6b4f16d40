"""SemanticWiki's code retrieval as deployments have it: faiss-node built offline, and every run
naming the retrieval it really used.

- the log lines wikikit reads are the client's own: each is found in the vendored 1.2.1 pack
  (dist/rag/index.js, dist/wiki-agent.js), and logs written from those very source lines are
  read back as the mode they announce;
- an install made before faiss-node was built (its stamp has no `faiss`) gets the binding on its
  next use, built against the system's faiss and loaded by node; the second use is a no-op;
- the real client, installed by the shared fixture, indexes with FAISS + BM25, and a page whose
  title holds `(` and `+` (which throw in the keyword fallback's `new RegExp`) gets retrieved
  code chunks in its prompt.
"""

from __future__ import annotations

import json
import re
import shutil
import tarfile
from pathlib import Path

import pytest
import semanticwiki_fixtures
from shared_paths import SEMANTICWIKI_TGZ

from wikikit.semanticwiki import faiss_build, install, protocol
from wikikit.semanticwiki.endpoint import Answer
from wikikit.semanticwiki.retrieval import DEPLOYMENT_EMBEDDING_MODEL, announce, detect
from wikikit.semanticwiki.session import Job, run_pass

semanticwiki_client = semanticwiki_fixtures.semanticwiki_client  # the session fixture
MINILM = "Xenova/all-MiniLM-L6-v2"
# The client's own source lines (template literals) that print what wikikit reads; a test-local
# copy, checked against the pack below.
RAG_LINES = {
    "missing": "console.warn('Warning: faiss-node not available, using fallback similarity search')",
    "loading": "console.log(`  Loading embedding model: ${this.embeddingModelName}...`)",
    "fell_back": "console.warn(`  Failed to load ${this.embeddingModelName}, falling back to "
    "${FALLBACK_EMBEDDING_MODEL}`)",
    "faiss": "console.log(`  ✓ Indexed ${this.documentCount} chunks with FAISS + BM25 (commit "
    "${currentCommit.slice(0, 7)})`)",
    "keyword": "console.log(`  ✓ Indexed ${this.documentCount} chunks (keyword search mode, "
    "commit ${currentCommit.slice(0, 7)})`)",
}
AGENT_LINES = {
    "searching": 'console.log(`[Local]   Searching for: "${query.slice(0, 50)}..."`)',
    "found": "console.log(`[Local]     Found ${results.length} results`)",
    "error": 'console.log(`[Local]   RAG search error for "${query}": ${err.message}`)',
    "context": "console.log(`[Local]   RAG context: ${ragContext.length} chars from "
    "${seenChunks.size} chunks`)",
    "fallback": "console.log(`[Local]   Using file fallback (RAG context insufficient)`)",
}


def _pack_file(name: str) -> str:
    if SEMANTICWIKI_TGZ is None or not SEMANTICWIKI_TGZ.is_file():
        pytest.skip("needs ../shared/vendor/semanticwiki (the real client's pack)")
    with tarfile.open(SEMANTICWIKI_TGZ) as tar:
        return tar.extractfile(f"package/dist/{name}").read().decode("utf-8")


def _render(line: str, **values: str) -> str:
    """The text a console.log/warn line of the source prints, with `values` for its ${...}."""
    body = re.match(r"console\.\w+\([`'](.*)[`']\)$", line).group(1)
    # each ${...} by the first name in it (`this.` aside): ${query.slice(0, 50)} -> query
    name = lambda m: re.match(r"\w+", m.group(1).removeprefix("this.")).group(0)  # noqa: E731
    return re.sub(r"\$\{([^}]+)\}", lambda m: values[name(m)], body)


def test_the_markers_are_the_clients_own_lines():
    rag, agent = _pack_file("rag/index.js"), _pack_file("wiki-agent.js")
    for line in RAG_LINES.values():
        assert line in rag, line
    for line in AGENT_LINES.values():
        assert line in agent, line
    assert f"const DEFAULT_EMBEDDING_MODEL = '{DEPLOYMENT_EMBEDDING_MODEL}';" in rag
    assert f"const FALLBACK_EMBEDDING_MODEL = '{MINILM}';" in rag
    # the keyword fallback's per-word RegExp, which throws on `(` and `+`
    assert "content.match(new RegExp(term, 'g'))" in rag


def _log(tmp_path: Path, lines: list[str]) -> Path:
    log = tmp_path / "client.log"
    log.write_text("$ node cli.js generate ...\n" + "\n".join(lines) + "\n")
    return log


def test_logs_of_the_clients_lines_read_as_their_mode(tmp_path):
    v = {"embeddingModelName": DEPLOYMENT_EMBEDDING_MODEL, "FALLBACK_EMBEDDING_MODEL": MINILM}
    common = [_render(RAG_LINES["loading"], **v), _render(RAG_LINES["fell_back"], **v)]
    search = [
        _render(AGENT_LINES["searching"], query="Gateway (HTTP API)"),
        _render(
            AGENT_LINES["error"],
            query="Gateway (HTTP API)",
            err="Invalid regular expression: /(http/g: Unterminated group",
        ),
        _render(AGENT_LINES["searching"], query="http"),
        _render(AGENT_LINES["found"], results="5"),
        _render(AGENT_LINES["context"], ragContext="3415", seenChunks="10"),
    ]
    keyword = detect(
        _log(tmp_path, [_render(RAG_LINES["missing"]), *common,
                        _render(RAG_LINES["keyword"], documentCount="37", currentCommit="abc1234"),
                        *search]),
        tmp_path / "no-output",
    )  # fmt: skip
    assert (keyword.mode, keyword.faiss_loaded, keyword.chunks) == ("keyword", False, 37)
    assert keyword.embedding_model == MINILM  # the fallback named by the client
    assert (keyword.searches, keyword.search_errors, keyword.pages_with_chunks) == (2, 1, 1)
    assert keyword.error_examples[0].startswith("Gateway (HTTP API): Invalid regular expression")
    assert not keyword.deployment_equal and len(keyword.differences()) == 2
    faiss_line = _render(RAG_LINES["faiss"], documentCount="22", currentCommit="abc1234")
    vector = detect(_log(tmp_path, [*common, faiss_line]), tmp_path / "no-output")
    assert (vector.mode, vector.faiss_loaded, vector.chunks) == ("vector+bm25", True, 22)
    assert vector.embedding_model == MINILM and not vector.deployment_equal
    # an online install loaded bge, as the index state the client wrote says: deployment-equal
    _log(tmp_path, [_render(RAG_LINES["loading"], **v), faiss_line])
    state = tmp_path / "wiki" / ".semanticwiki-cache" / "index-state.json"
    state.parent.mkdir(parents=True)
    state.write_text(json.dumps({"embeddingModel": DEPLOYMENT_EMBEDDING_MODEL, "chunkCount": 9}))
    online = detect(tmp_path / "client.log", tmp_path / "wiki")
    assert online.deployment_equal and online.differences() == []
    assert online.record()["deployment_equal"] is True


def test_keyword_mode_is_a_warning_vector_mode_a_line(tmp_path, capsys):
    log = _log(tmp_path, [_render(RAG_LINES["missing"]),
                          _render(RAG_LINES["keyword"], documentCount="5", currentCommit="x")])  # fmt: skip
    announce(detect(log, tmp_path), "on demo/x")
    err = capsys.readouterr().err
    assert err.startswith("warning: SemanticWiki on demo/x used its KEYWORD fallback search")
    assert "faiss-node did not load" in err and "make setup" in err
    log = _log(tmp_path, [_render(RAG_LINES["faiss"], documentCount="50", currentCommit="x")])
    announce(detect(log, tmp_path), "on demo/x")
    err = capsys.readouterr().err
    assert err.startswith("SemanticWiki on demo/x: FAISS vector + BM25 search, 50 chunks")


def _fake_old_install(cache: Path, real: install.ClientInstall) -> Path:
    """An install as wikikit made it before it built faiss-node: the npm tree of faiss-node and
    its loader, and a stamp without `faiss`."""
    dest = install.install_dir(cache)
    for name in ("faiss-node", "bindings", "file-uri-to-path"):
        shutil.copytree(real.root / "node_modules" / name, dest / "node_modules" / name,
                        ignore=shutil.ignore_patterns("build"))  # fmt: skip
    stamp = json.loads((real.root / "stamp.json").read_text())
    stamp.pop("faiss", None)
    (dest / "stamp.json").write_text(json.dumps(stamp))
    return dest


@pytest.mark.slow
def test_an_install_without_the_binding_gets_it(tmp_path, semanticwiki_client, monkeypatch):
    dest = _fake_old_install(tmp_path / "cache", semanticwiki_client)
    binding = dest / "node_modules" / "faiss-node" / faiss_build.BINDING
    assert not binding.exists()
    # without the binding node cannot load faiss-node: what the client then catches (index.js:22-28)
    with pytest.raises(Exception, match="does not load"):
        faiss_build.probe(dest)
    got = install.ensure_client(install.ClientSpec(), tmp_path / "cache")
    assert got.faiss["faiss_node"] == faiss_build.FAISS_NODE_VERSION
    assert got.faiss["libfaiss"] == faiss_build.find_libfaiss().version
    assert json.loads((dest / "stamp.json").read_text())["faiss"] == got.faiss
    assert faiss_build.probe(dest) == {"ntotal": 2, "label": 0}  # loaded, added to, searched
    cached = list((tmp_path / "cache" / "faiss-node").glob("*/faiss-node.node"))
    assert len(cached) == 1
    # Used again: nothing is built (the stamp says so and the binding is there).
    before = binding.stat().st_mtime_ns
    monkeypatch.setattr(faiss_build, "compiler", lambda: pytest.fail("compiled again"))
    assert install.ensure_client(install.ClientSpec(), tmp_path / "cache").faiss == got.faiss
    assert binding.stat().st_mtime_ns == before


def test_no_faiss_library_setup_fails_a_run_warns(tmp_path, monkeypatch, capsys):
    dest = install.install_dir(tmp_path)
    (dest / "node_modules" / "faiss-node" / "src").mkdir(parents=True)
    (dest / "node_modules" / "faiss-node" / "src" / "faiss.cc").write_text("// source")
    napi = dest / "node_modules" / "faiss-node" / "node_modules" / "node-addon-api" / "napi.h"
    napi.parent.mkdir(parents=True)
    napi.write_text("// header")
    (dest / "node_modules" / "faiss-node" / "package.json").write_text('{"version": "0.5.1"}')
    (dest / "stamp.json").write_text(
        json.dumps({"cli": "cli.js", "version": "1.2.1", "source": "tgz"})
    )
    monkeypatch.setattr(faiss_build, "find_libfaiss", lambda cxx=None: None)
    monkeypatch.setattr(faiss_build.os, "geteuid", lambda: 1000)  # not root: no apt-get
    monkeypatch.setenv("WIKIKIT_CACHE", str(tmp_path))
    monkeypatch.delenv("WIKIKIT_SEMANTICWIKI", raising=False)
    monkeypatch.delenv("WIKIKIT_SEMANTICWIKI_TGZ", raising=False)
    # a run: the client is usable, the missing retrieval is a warning
    assert install.ensure_client(install.ClientSpec(), tmp_path).faiss is None
    err = capsys.readouterr().err
    assert err.startswith("warning: faiss-node: no faiss library found") and "keyword" in err
    assert "faiss" not in json.loads((dest / "stamp.json").read_text())
    # `make setup`: one line, exit 1, naming the package to install as root
    assert install.main() == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "libfaiss-dev as root" in err


# -- the real client --------------------------------------------------------------------------

# A small service of 40 chunks (FAISS is asked for 30 per search: dist/rag/index.js:760, :829).
MODULES = {
    "gateway/http.py": ("HTTP gateway", ["parse_request", "route_request", "send_response"]),
    "gateway/routes.py": ("route table", ["add_route", "match_route", "remove_route"]),
    "gateway/auth.py": ("token authentication", ["issue_token", "verify_token", "revoke_token"]),
    "store/db.py": ("database access", ["open_db", "run_query", "insert_row", "delete_row"]),
    "store/cache.py": ("in-memory cache", ["cache_get", "cache_put", "cache_evict"]),
    "jobs/queue.py": ("background job queue", ["enqueue_job", "dequeue_job", "retry_job"]),
    "jobs/worker.py": ("job worker loop", ["start_worker", "stop_worker", "run_once"]),
    "metrics/counters.py": ("metrics counters", ["count_request", "count_error", "snapshot"]),
}
PAREN_TITLE = "Gateway (HTTP API)"  # keyword mode: /(http/ "Unterminated group"
PLUS_TITLE = "C++ Style Store"  # keyword mode: /c++/ "Nothing to repeat"
PLAN = {
    "projectType": "Python service",
    "pages": [
        {"title": PAREN_TITLE, "filename": "gateway-http-api.md", "type": "component",
         "context": "Requests entering the gateway", "files": ["gateway/http.py"]},
        {"title": PLUS_TITLE, "filename": "store.md", "type": "component",
         "context": "Database and cache", "files": ["store/db.py", "store/cache.py"]},
        {"title": "Jobs", "filename": "jobs.md", "type": "module",
         "context": "Background jobs", "files": ["jobs/queue.py", "jobs/worker.py"]},
        {"title": "Metrics", "filename": "metrics.md", "type": "module",
         "context": "Counters", "files": ["metrics/counters.py"]},
        {"title": "Overview", "filename": "overview.md", "type": "overview",
         "context": "The whole service", "files": ["README.md"]},
    ],
}  # fmt: skip
RAG_HEADER = re.compile(r"^### \w+: (\w+) \(([\w/]+\.py):(\d+)\)$", re.M)  # a retrieved chunk


def write_service(root: Path) -> None:
    for rel, (topic, functions) in MODULES.items():
        lines = [f'"""The {topic}."""', ""]
        for fn in functions:
            lines += [
                f"def {fn}(state: dict, value: str) -> dict:",
                f'    """{fn.replace("_", " ").capitalize()} for the {topic}; returns the state."""',
                f"    history = state.setdefault({fn!r}, [])",
                "    history.append(value.strip().lower())",
                f"    state['last'] = ({fn!r}, len(history))",
                "    return state",
                "",
                "",
            ]
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines))
        (path.parent / "__init__.py").write_text("")
    (root / "README.md").write_text("# service\n\nAn HTTP gateway with a store, jobs, metrics.\n")


class PlanThenPages:
    """Answers the plan with PLAN, each page with its H1 and enough text to be kept."""

    name = "scripted"

    def answer(self, request):
        kind = protocol.call_kind(request.user)
        if kind == "plan":
            return Answer(json.dumps(PLAN))
        title = request.user.split('"', 2)[1] if kind == "page" else "Index"
        return Answer(f"# {title}\n\n" + "Text of the page. " * 20)


@pytest.mark.slow
def test_the_real_client_searches_with_faiss(tmp_path, semanticwiki_client):
    repo = tmp_path / "service"
    write_service(repo)
    result = run_pass(
        semanticwiki_client, Job("service", repo, PlanThenPages()), tmp_path / "pass",
        timeout_s=600,
    )  # fmt: skip
    assert result.run.ok, result.run.log_tail()
    log = result.run.log.read_text()
    assert "faiss-node not available" not in log
    indexed = re.search(r"✓ Indexed (\d+) chunks with FAISS \+ BM25", log)
    assert indexed and int(indexed.group(1)) >= 30, "the log shows no FAISS index"
    assert (result.run.output_dir / ".semanticwiki-cache" / "index.faiss").is_file()
    for title in (PAREN_TITLE, PLUS_TITLE):
        # the title's own query found chunks (in keyword mode it throws)
        assert f'Searching for: "{title}..."\n[Local]     Found 5 results' in log, title
    prompts = {
        e["user"].split('"', 2)[1]: e["user"]
        for e in result.exchanges
        if protocol.call_kind(e["user"]) == "page"
    }
    chunks = RAG_HEADER.findall(prompts[PAREN_TITLE])
    assert ("parse_request", "gateway/http.py") in {(n, p) for n, p, _ in chunks}
    for name, path, line in chunks:  # each chunk header points at its function's def line
        lines = (repo / path).read_text().splitlines()
        assert lines[int(line) - 1].startswith(f"def {name}("), (name, path, line)
    found = result.retrieval
    assert (found.mode, found.faiss_loaded, found.embedding_model) == ("vector+bm25", True, MINILM)
    assert found.search_errors == 0 and found.searches >= 10
    assert found.pages_with_chunks >= 5 and found.chunks == int(indexed.group(1))
    assert found == detect(result.run.log, result.run.output_dir)
