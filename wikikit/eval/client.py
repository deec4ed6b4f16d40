"""What the eval stage and `wikikit try` need from the SemanticWiki client, as one interface.

The client itself (installing the pinned SemanticWiki build, the model endpoint that records the
exchanges, running `semanticwiki generate --full-local`) lives in wikikit.semanticwiki; this
module says exactly what is expected of it and finds it:

    wikikit.semanticwiki.client.run_client(
        repo: Repo,            # the repository to document, checked out at its commit
        model: ClientModel,    # what answers the client: a GGUF (bundled mode) or an endpoint
        out_dir: Path,         # everything of this run goes here (created if missing)
        *, timeout_s: float | None = None, threads: int | None = None,
    ) -> ClientRun

- `model.kind == "gguf"`: `--full-local --model-path model.path` (node-llama-cpp, how users run
  the packaged model); nothing sits between client and model, so exchanges are recorded only if
  the client module can (ClientRun.exchanges may then be None).
- `model.kind == "endpoint"`: `--full-local --use-ollama --ollama-host <wikikit's model endpoint>`
  whose `model` answerer forwards to `model.url` (an OpenAI-compatible URL: vLLM, llama.cpp
  server; or an Ollama host) under `model.name`; every exchange is recorded.
- The client's own sampling settings apply (wikikit sets none).
- It returns when the client exits; a non-zero exit, a timeout or a missing install is a
  WikikitError saying which and where the log is. The wiki is `ClientRun.wiki_dir`
  (`out_dir/wiki`), the exchanges `out_dir/exchanges.jsonl` in the shape of
  wikikit.eval.wiki.exchanges, the client's output `out_dir/client.log`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from wikikit.code.repo import Repo
from wikikit.errors import WikikitError

CLIENT_MODULE = "wikikit.semanticwiki.client"


@dataclass(frozen=True)
class ClientModel:
    kind: str  # "gguf" | "endpoint"
    path: Path | None = None  # kind gguf
    url: str | None = None  # kind endpoint: an OpenAI-compatible base URL or an Ollama host
    name: str | None = None  # the model name to ask the endpoint for

    def describe(self) -> str:
        if self.kind == "gguf":
            return f"GGUF {self.path}"
        return f"{self.url}" + (f" ({self.name})" if self.name else "")


@dataclass
class ClientRun:
    wiki_dir: Path
    exchanges: Path | None
    log: Path
    seconds: float


class RunClient(Protocol):
    def __call__(
        self,
        repo: Repo,
        model: ClientModel,
        out_dir: Path,
        *,
        timeout_s: float | None = None,
        threads: int | None = None,
    ) -> ClientRun: ...


def load_run_client() -> Callable[..., ClientRun]:
    """The client module's run_client, or a WikikitError saying it is not there yet."""
    try:
        module = importlib.import_module(CLIENT_MODULE)
    except ModuleNotFoundError as e:
        if e.name != CLIENT_MODULE:
            raise
        raise WikikitError(
            f"the SemanticWiki client is not part of this wikikit yet ({CLIENT_MODULE}.run_client)"
        ) from None
    run = getattr(module, "run_client", None)
    if run is None:
        raise WikikitError(f"{CLIENT_MODULE} has no run_client")
    return run
