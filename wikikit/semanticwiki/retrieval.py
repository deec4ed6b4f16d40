"""Which code retrieval a SemanticWiki run really used, read from what the client printed and wrote.

Every page prompt of local mode carries code chunks found by the client's own search
(dist/wiki-agent.js:2086-2135 in the 1.2.1 pack: the page's title, context and up to three file
basenames are each searched with `ragSystem.search(query, {maxResults: 5})`). How it searches
depends on the install, and so do the chunks a recording trains on or an eval scores:

- vector + BM25 (what a deployment with faiss-node gets): FAISS IndexFlatIP over
  transformers.js embeddings fused with BM25 by reciprocal rank (dist/rag/index.js:740-815);
- keyword: faiss-node did not load (:27), so the "vector" half scores chunks with
  `new RegExp(term)` per query word (:855-868), which throws on `(`, `+` and the like and loses
  that query's chunks ("RAG search error", wiki-agent.js:2122);
- none: no index at all (`--skip-index` over an empty metadata file, or no chunks): each page
  gets the first 1,500 characters of up to five planned files (wiki-agent.js:2131-2145).

The embedding model is `Xenova/bge-small-en-v1.5`, or `Xenova/all-MiniLM-L6-v2` when that fails
to load (rag/index.js:82-85, :121-137); offline only the seeded MiniLM cache exists.

The markers below are the client's own log lines (rag/index.js and wiki-agent.js line numbers in
the 1.2.1 pack; tests/test_semanticwiki_retrieval.py finds each in the vendored pack) and the
index state it writes in `<output>/.semanticwiki-cache/` (index-state.json :498-509, index.faiss
only when FAISS indexed, :480).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wikikit import console

DEPLOYMENT_MODE = "vector+bm25"
DEPLOYMENT_EMBEDDING_MODEL = "Xenova/bge-small-en-v1.5"  # rag/index.js:83 DEFAULT_EMBEDDING_MODEL
CACHE_DIR = ".semanticwiki-cache"  # wiki-agent.js:506, under --output

FAISS_MISSING = "Warning: faiss-node not available, using fallback similarity search"  # :27
FAISS_ADD_FAILED = "FAISS batch add failed, falling back to keyword search"  # :474
LOADING_MODEL = re.compile(r"Loading embedding model: (\S+?)\.\.\.$")  # :125
MODEL_FELL_BACK = re.compile(r"Failed to load (\S+), falling back to (\S+)$")  # :131
LOADED_MODEL = re.compile(r"✓ Loaded (\S+/\S+)$")  # :128 (a hub id holds a slash)
VECTOR_MARKERS = (
    re.compile(r"✓ Indexed (\d+) chunks with FAISS \+ BM25"),  # :511
    re.compile(r"^Loaded cached index with (\d+) chunks"),  # :356, :359
    re.compile(r"Loaded FAISS index with (\d+) chunks"),  # :1101
)
KEYWORD_MARKERS = (
    re.compile(r"✓ Indexed (\d+) chunks \(keyword search mode"),  # :553
    re.compile(r"Loaded (\d+) chunks \(keyword search mode\)"),  # :1108
    re.compile(r"FAISS index not available, using hybrid/keyword search \((\d+) chunks\)"),  # :1104
)
NO_CHUNKS = "No code chunks to index"  # :420
# wiki-agent.js, generating one page in local mode
SEARCHING = "[Local]   Searching for: "  # :2099
SEARCH_ERROR = re.compile(r'^\[Local\]   RAG search error for "(.*)": (.*)$')  # :2122
RAG_CONTEXT = re.compile(r"^\[Local\]   RAG context: (\d+) chars from (\d+) chunks$")  # :2127
FILE_FALLBACK = "[Local]   Using file fallback (RAG context insufficient)"  # :2132


@dataclass(frozen=True)
class Retrieval:
    mode: str  # "vector+bm25" | "keyword" | "none" | "unknown"
    faiss_loaded: bool
    embedding_model: str | None
    chunks: int | None
    searches: int = 0  # page-context queries the client ran
    search_errors: int = 0  # of them, those that threw (their chunks lost)
    error_examples: tuple[str, ...] = ()  # a few `query: message`
    pages_with_chunks: int = 0  # page prompts that got retrieved code chunks
    pages_file_fallback: int = 0  # page prompts that got the first lines of files instead

    @property
    def deployment_equal(self) -> bool:
        """Retrieval as an online install with faiss-node has it: FAISS + BM25 over bge."""
        return self.mode == DEPLOYMENT_MODE and self.embedding_model == DEPLOYMENT_EMBEDDING_MODEL

    def differences(self) -> list[str]:
        out = []
        if self.mode != DEPLOYMENT_MODE:
            why = "faiss-node did not load" if not self.faiss_loaded else "see the client log"
            out.append(f"{self.mode} retrieval, not FAISS vector + BM25 ({why})")
        if self.embedding_model and self.embedding_model != DEPLOYMENT_EMBEDDING_MODEL:
            out.append(
                f"embeddings {self.embedding_model}, not {DEPLOYMENT_EMBEDDING_MODEL} "
                "(no registry package ships it; see the README's retrieval section)"
            )
        return out

    def record(self) -> dict[str, Any]:
        """What recordings.json, an Example's meta and scores.json hold about it."""
        return {
            "mode": self.mode,
            "faiss_loaded": self.faiss_loaded,
            "embedding_model": self.embedding_model,
            "chunks": self.chunks,
            "searches": self.searches,
            "search_errors": self.search_errors,
            "error_examples": list(self.error_examples),
            "pages_with_chunks": self.pages_with_chunks,
            "pages_file_fallback": self.pages_file_fallback,
            "deployment_equal": self.deployment_equal,
            "differences": self.differences(),
        }

    def describe(self) -> str:
        what = {
            "vector+bm25": "FAISS vector + BM25 search",
            "keyword": "KEYWORD fallback search",
            "none": "no code index (file fallback)",
            "unknown": "retrieval unknown (the client printed no index line)",
        }[self.mode]
        parts = [what]
        if self.embedding_model:
            parts.append(f"embeddings {self.embedding_model}")
        if self.chunks is not None:
            parts.append(f"{self.chunks} chunks")
        if self.searches:
            parts.append(f"{self.searches - self.search_errors}/{self.searches} searches answered")
        return ", ".join(parts)


def _index_state(output_dir: Path) -> dict[str, Any]:
    path = Path(output_dir) / CACHE_DIR / "index-state.json"
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def detect(log: Path, output_dir: Path) -> Retrieval:
    """The retrieval of the client run whose output is `log` and whose --output is `output_dir`."""
    text = Path(log).read_text(encoding="utf-8", errors="replace") if Path(log).is_file() else ""
    faiss_loaded = FAISS_MISSING not in text
    mode, chunks, model = "unknown", None, None
    searches = errors = with_chunks = fallback = 0
    examples: list[str] = []
    for raw in text.splitlines():
        line = raw.strip() if not raw.startswith("[Local]") else raw.rstrip()
        if m := LOADING_MODEL.search(line):
            model = model or m.group(1)
        elif m := MODEL_FELL_BACK.search(line):
            model = m.group(2)
        elif m := LOADED_MODEL.search(line):
            model = m.group(1)
        for kind, markers in (("vector+bm25", VECTOR_MARKERS), ("keyword", KEYWORD_MARKERS)):
            for marker in markers:
                if m := marker.search(line):
                    mode, chunks = kind, int(m.group(1))
        if line.startswith(SEARCHING):
            searches += 1
        elif m := SEARCH_ERROR.match(line):
            errors += 1
            if len(examples) < 3:
                examples.append(f"{m.group(1)}: {m.group(2)}")
        elif m := RAG_CONTEXT.match(line):
            with_chunks += int(m.group(2)) > 0
        elif line == FILE_FALLBACK:
            fallback += 1
    state = _index_state(output_dir)
    if state.get("embeddingModel"):
        model = str(state["embeddingModel"])  # what the index was really built with
    if mode == "unknown" and NO_CHUNKS in text:
        mode, chunks = "none", 0
    if mode != "unknown" and chunks == 0:
        mode = "none"  # `--skip-index` over an empty metadata file: nothing to search
    if mode == "none" and "Generating embeddings" not in text:
        model = None  # no index was embedded, whatever a cache folder says
    return Retrieval(
        mode, faiss_loaded, model, chunks, searches, errors, tuple(examples), with_chunks, fallback
    )


def announce(found: Retrieval, what: str) -> None:
    """One console line per run: keyword (or unknown) retrieval is a warning, never silent."""
    if found.mode in ("keyword", "unknown"):
        lost = (
            f"; {found.search_errors} of {found.searches} page searches threw and lost their "
            f"chunks (first: {found.error_examples[0]})"
            if found.search_errors
            else ""
        )
        console.warn(
            f"SemanticWiki {what} used its {found.describe()}, not the FAISS vector search a "
            f"deployment uses (faiss-node {'loaded' if found.faiss_loaded else 'did not load'}): "
            f"its page prompts hold other code chunks{lost}; run `make setup` to build faiss-node"
        )
        return
    line = f"SemanticWiki {what}: {found.describe()}"
    if found.search_errors:
        line += f"; {found.search_errors} searches threw (first: {found.error_examples[0]})"
    if found.embedding_model and found.embedding_model != DEPLOYMENT_EMBEDDING_MODEL:
        line += f" (deployments online embed with {DEPLOYMENT_EMBEDDING_MODEL})"
    if found.searches and found.search_errors == found.searches:
        # As in a deployment, e.g. faiss-node refusing k > ntotal on a repository of under 30
        # chunks (hybrid search asks FAISS for 6 x maxResults): no page got retrieved code.
        console.warn(f"{line}; no page prompt got retrieved code chunks")
    else:
        console.info(line)
