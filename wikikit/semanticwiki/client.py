"""Running the real SemanticWiki client: `semanticwiki generate -r REPO --full-local ...`.

One run is one subprocess (an argument list, never a shell string) with a scratch HOME, a
working directory whose `.semanticwiki-models` links to the install's embedding cache (the
client resolves it against the working directory, vendor README), a bounded wall time after
which the whole process group is killed, and every line of its output in a log file.

The environment it gets is built, not inherited: PATH, locale and proxy settings, and
ANTHROPIC_API_KEY set to a placeholder, because the agent's constructor throws without one even
in local mode (vendor README); the user's real key never reaches the client.

`run_client` is the one way the eval stage and `wikikit try` run it: the client writes a whole
wiki for a repository with a model, and every call it makes is recorded, in both of local mode's
ways of reaching a model:

- bundled (`ClientModel.kind == "gguf"`: `--full-local --model-path X.gguf`, how users run the
  packaged model): node-llama-cpp runs the GGUF inside the client's own process, so there is no
  server to listen at. The client is started as `node --import client/record_bundled.mjs cli.js
  ...`: that module wraps node-llama-cpp's `LlamaChatSession.promptWithMeta` (what the client's
  `session.prompt()` calls) and appends each call's system and user prompt, answer, thinking,
  sampling options, seconds, token meter and stop reason to `record/bundled.jsonl`; the client
  itself is unmodified and gets every answer unchanged;
- served (`kind == "endpoint"`): `--full-local --use-ollama` against wikikit's endpoint
  (wikikit.semanticwiki.endpoint), whose `model` answerer forwards each call to an
  OpenAI-compatible URL (vLLM, llama.cpp's server, Ollama's /v1, any other); the endpoint
  records every exchange (`record/exchanges.jsonl`, `record/requests.jsonl`).

Either way `exchanges.jsonl` holds one row per model call in the shape of
wikikit.eval.wiki.exchanges (kind, system, user, answer, thinking, options, seconds, tokens),
the wiki is `wiki/` and the client's output `client.log`, all under the run's folder. The
client's own sampling settings apply (plan 8,192 tokens at 0.3, pages 4,096 at 0.3, index 2,048
at 0.7); a served model also gets what node-llama-cpp adds to them at deployment (top_k 40,
top_p 0.95, min_p 0) where its server takes them (wikikit.semanticwiki.deployment). `seed` only makes the draw repeatable: in bundled mode the recorder
passes it to every call (node-llama-cpp's `seed` prompt option), served models get it as the
OpenAI API's `seed`; without it each run samples afresh, as the client does.

Threads: in bundled mode give `threads` on a shared or busy CPU. llama.cpp's worker threads
wait for each other spinning, so with more threads than idle cores generation crawls (measured
here with the tiny gpt-oss on 2 busy cores: the plan call's 8,192 tokens took 472 s with
`--threads 2` and 15.6 s with `--threads 1`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wikikit import children
from wikikit.semanticwiki.deployment import Served
from wikikit.semanticwiki.install import CLIENT_DIR, MODELS_DIR, ClientInstall
from wikikit.semanticwiki.retrieval import announce as announce_retrieval
from wikikit.semanticwiki.retrieval import detect as detect_retrieval

if TYPE_CHECKING:
    from wikikit.code.repo import Repo

DEFAULT_MODEL_NAME = "wikikit"  # the name wikikit's endpoint lists its one model under
RECORDER = CLIENT_DIR / "record_bundled.mjs"
PLACEHOLDER_KEY = "wikikit-local-mode-needs-no-key"
PASSED_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
              "http_proxy", "https_proxy", "no_proxy")  # fmt: skip
# What the client prints when transformers.js cannot load any embedding model (offline, no cache).
EMBEDDINGS_FAILED = ("fetch failed", "Could not locate file", "Failed to load Xenova/all-MiniLM")


@dataclass
class ClientRun:
    returncode: int
    seconds: float
    timed_out: bool
    log: Path
    output_dir: Path

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def log_tail(self, lines: int = 3) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.is_file() else ""
        return " / ".join(s.strip() for s in text.strip().splitlines()[-lines:] if s.strip())

    def embeddings_failed(self) -> bool:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.is_file() else ""
        return "Indexed" not in text and any(marker in text for marker in EMBEDDINGS_FAILED)


def generate_command(
    install: ClientInstall,
    repo: Path,
    output: Path,
    *,
    host: str | None = None,
    model: str | None = None,
    model_path: Path | None = None,
    threads: int | None = None,
    skip_index: bool = False,
    preload: Path | None = None,
    node: str = "node",
) -> list[str]:
    """The argument list: bundled mode with `model_path`, else the Ollama API at `host`."""
    cmd = [node] + (["--import", preload.resolve().as_uri()] if preload else [])
    cmd += [str(install.cli), "generate", "-r", str(repo), "--output", str(output), "--full-local"]
    if model_path is not None:
        cmd += ["--model-path", str(model_path)]
        if threads:
            cmd += ["--threads", str(int(threads))]
    else:
        if not host or not model:
            raise ValueError("generate_command: host and model, or model_path")
        cmd += ["--use-ollama", "--local-model", model, "--ollama-host", host]
    if skip_index:
        cmd.append("--skip-index")
    return cmd


def _prepare_workdir(work: Path, install: ClientInstall) -> None:
    work.mkdir(parents=True, exist_ok=True)
    link = work / MODELS_DIR
    if install.models is not None and not link.exists():
        link.symlink_to(install.models, target_is_directory=True)


def run_generate(
    install: ClientInstall,
    repo: Path,
    work: Path,
    *,
    host: str | None = None,
    model: str | None = None,
    model_path: Path | None = None,
    threads: int | None = None,
    timeout_s: float,
    skip_index: bool = False,
    preload: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> ClientRun:
    """Run the client once on `repo`, against the model server at `host` or on the GGUF at
    `model_path` (generate_command); never raises for the client's own failures (the returned
    ClientRun says what happened)."""
    # Every path the client gets is absolute: it runs in `work`, not in the caller's folder.
    work = Path(work).absolute()
    repo = Path(repo).absolute()
    model_path = Path(model_path).absolute() if model_path is not None else None
    _prepare_workdir(work, install)
    home, output, log = work / "home", work / "wiki", work / "client.log"
    home.mkdir(exist_ok=True)
    if skip_index:
        # Without an index the client still reads its metadata file (vendor README).
        (output / ".semanticwiki-cache").mkdir(parents=True, exist_ok=True)
        (output / ".semanticwiki-cache" / "metadata.json").write_text("{}")
    env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
    env.update(HOME=str(home), ANTHROPIC_API_KEY=PLACEHOLDER_KEY, NO_COLOR="1", FORCE_COLOR="0")
    env["NO_PROXY"] = env["no_proxy"] = ",".join(
        filter(None, [env.get("NO_PROXY", ""), "127.0.0.1", "localhost"])
    )
    env.update(extra_env or {})
    cmd = generate_command(
        install, repo, output, host=host, model=model, model_path=model_path, threads=threads,
        skip_index=skip_index, preload=preload,
    )  # fmt: skip
    started = time.monotonic()
    timed_out = False
    with open(log, "w", encoding="utf-8") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        out.flush()
        proc = children.popen(
            cmd, cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        try:
            returncode, timed_out = children.wait(proc, timeout_s)
        finally:
            children.stop(proc)  # an exception or a signal while waiting: the client goes too
    return ClientRun(returncode, time.monotonic() - started, timed_out, log, output)


# -- a whole wiki for a repository, every call recorded (what the eval stage and `try` use) ----

# What the client prints when its local model cannot be used (dist/wiki-agent.js,
# generateWikiLocalPageByPage; dist/llm/local-llama-provider.js initialize): it then exits 0.
MODEL_FAILED = ("Failed to initialize local LLM", "Failed to load local model")
CALL_MARKER = "[LocalLLM] chat() called"  # printed by the bundled provider once per model call


@dataclass(frozen=True)
class ClientModel:
    """What answers the client: a GGUF it loads itself, or a served model behind wikikit's
    endpoint (an OpenAI-compatible base URL, or an Ollama host, under `name`)."""

    kind: str  # "gguf" | "endpoint"
    path: Path | None = None  # kind gguf
    url: str | None = None  # kind endpoint
    name: str | None = None  # the served model's name (default: the first the server lists)
    api_key: str | None = field(default=None, repr=False)  # from the environment; never written
    # kind endpoint: what the server is, so it is asked as the deployment asks (deployment.py)
    served: Served | None = None

    @classmethod
    def parse(cls, spec: str, where: str) -> ClientModel:
        """A .gguf file, an OpenAI-compatible URL (`#name` picks the model), or ollama:NAME."""
        from wikikit.errors import InputError

        if spec.startswith(("http://", "https://")):
            url, _, name = spec.partition("#")
            return cls("endpoint", url=url, name=name or None)
        if spec.startswith("ollama:"):
            return cls("endpoint", url="http://127.0.0.1:11434", name=spec[len("ollama:") :])
        path = Path(spec).expanduser()
        if path.suffix != ".gguf" or not path.is_file():
            raise InputError(f"{where} {spec}: not a .gguf file, an http(s) URL or ollama:NAME")
        return cls("gguf", path=path.resolve())

    def describe(self) -> str:
        if self.kind == "gguf":
            return f"GGUF {self.path} (--model-path)"
        return f"{self.url}" + (f" ({self.name})" if self.name else "")


@dataclass
class WikiRun:
    wiki_dir: Path
    exchanges: Path  # one row per model call (wikikit.eval.wiki.exchanges' shape)
    log: Path
    seconds: float
    calls: int  # rows in `exchanges`
    record: Path  # the raw recording (bundled.jsonl, or the endpoint's exchanges.jsonl)
    retrieval: dict[str, Any] | None = None  # the client's code search (retrieval.Retrieval)


def _call_kind(user: str) -> str | None:
    from wikikit.semanticwiki.protocol import call_kind

    return call_kind(user)


def exchange_from_bundled(row: dict[str, Any]) -> dict[str, Any]:
    """A record_bundled.mjs row -> the eval shape."""
    out = {
        "kind": _call_kind(row.get("user") or ""),
        "system": row.get("system") or "",
        "user": row.get("user") or "",
        "answer": row.get("answer") or "",
        "thinking": row.get("thinking"),
        "options": {k: v for k, v in (row.get("options") or {}).items() if v is not None},
        "seconds": round(float(row.get("seconds") or 0.0), 4),
        "stop_reason": row.get("stop_reason"),
    }
    if row.get("tokens"):
        out["tokens"] = dict(row["tokens"])
    if row.get("error"):
        out["error"] = row["error"]
    return out


def exchange_from_endpoint(row: dict[str, Any]) -> dict[str, Any]:
    """An endpoint exchange (wikikit.semanticwiki.endpoint) -> the eval shape."""
    options = dict(row.get("options") or {})
    if "num_predict" in options:  # Ollama's name for it
        options["max_tokens"] = options.pop("num_predict")
    meta = row.get("meta") or {}
    out = {
        "kind": row.get("call"),
        "system": row.get("system") or "",
        "user": row.get("user") or "",
        "answer": row.get("answer") or "",
        "thinking": row.get("thinking"),
        "options": options,
        "seconds": row.get("seconds"),
        "stop_reason": meta.get("finish_reason"),
    }
    if row.get("tokens"):
        out["tokens"] = dict(row["tokens"])
    if row.get("status") != "answered":
        out["error"] = row.get("error") or f"no answer ({row.get('status')})"
    return out


def _fresh(out_dir: Path) -> None:
    """An earlier run's wiki must not be scored as this one's: start from an empty folder."""
    for name in ("wiki", "record", "home", "client.log", "exchanges.jsonl"):
        path = out_dir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)


def _failure(run: ClientRun, what: str) -> str | None:
    """Why a finished client run gave no usable wiki, or None."""
    text = run.log.read_text(encoding="utf-8", errors="replace") if run.log.is_file() else ""
    if run.timed_out:
        return f"SemanticWiki did not finish {what} within its time limit (log: {run.log})"
    if run.returncode != 0:
        if run.embeddings_failed():
            return (
                "SemanticWiki could not load an embedding model (offline with no seeded cache? "
                f"set WIKIKIT_SEMANTICWIKI_MODELS) (log: {run.log})"
            )
        return f"SemanticWiki exited {run.returncode} {what}: {run.log_tail()} (log: {run.log})"
    for marker in MODEL_FAILED:
        line = next((ln for ln in text.splitlines() if marker in ln), None)
        if line is not None:
            return f"SemanticWiki could not use the model: {line.strip()} (log: {run.log})"
    return None


def run_client(
    repo: Repo,
    model: ClientModel,
    out_dir: Path,
    *,
    timeout_s: float | None = None,
    threads: int | None = None,
    seed: int | None = None,
    install: ClientInstall | None = None,
) -> WikiRun:
    """The real client writes the whole wiki for `repo` (its checkout, at its commit) with
    `model`, every call recorded (see the module docstring). A failed, timed-out or model-less
    run is a WikikitError naming the log; nothing is retried."""
    from wikikit.atomic import write_jsonl
    from wikikit.bounded import read_jsonl
    from wikikit.errors import InputError, WikikitError
    from wikikit.semanticwiki.endpoint import OllamaEndpoint
    from wikikit.semanticwiki.install import ensure_client

    install = install or ensure_client()
    out_dir = Path(
        out_dir
    ).absolute()  # the recorder's path is handed to a client running elsewhere
    _fresh(out_dir)
    limit = float(timeout_s) if timeout_s else 6 * 3600.0
    what = f"on {repo.id} with {model.describe()}"
    if model.kind == "gguf":
        if model.path is None or not Path(model.path).is_file():
            raise InputError(f"semanticwiki: no such GGUF file: {model.path}")
        record = out_dir / "record" / "bundled.jsonl"
        record.parent.mkdir(parents=True)
        engine = install.root / "node_modules" / "node-llama-cpp" / "dist" / "index.js"
        if not engine.is_file():
            raise WikikitError(f"semanticwiki: {install.root} has no node-llama-cpp ({engine})")
        env = {"WIKIKIT_RECORD_EXCHANGES": str(record), "WIKIKIT_NODE_LLAMA_CPP": str(engine)}
        if seed is not None:
            env["WIKIKIT_SEED"] = str(int(seed))
        run = run_generate(
            install, repo.root, out_dir, model_path=Path(model.path).resolve(), threads=threads,
            timeout_s=limit, preload=RECORDER, extra_env=env,
        )  # fmt: skip
        rows = [exchange_from_bundled(r) for r in read_jsonl(record, missing_ok=True)]
    elif model.kind == "endpoint":
        from wikikit.semanticwiki.answerers import ModelAnswerer

        if not model.url:
            raise InputError("semanticwiki: an endpoint model needs a URL")
        answerer = ModelAnswerer(
            model.url, model.name, api_key=model.api_key, timeout_s=limit, seed=seed,
            served=model.served,
        )  # fmt: skip
        try:
            with OllamaEndpoint(answerer, DEFAULT_MODEL_NAME, out_dir / "record") as endpoint:
                run = run_generate(
                    install, repo.root, out_dir, host=endpoint.url, model=DEFAULT_MODEL_NAME,
                    timeout_s=limit,
                )  # fmt: skip
        finally:
            answerer.close()
        record = out_dir / "record" / "exchanges.jsonl"
        rows = [exchange_from_endpoint(r) for r in endpoint.exchanges]
    else:
        raise InputError(f"semanticwiki: unknown model kind {model.kind!r} (gguf or endpoint)")
    unknown = [r for r in rows if r["kind"] is None]
    exchanges = out_dir / "exchanges.jsonl"
    write_jsonl(exchanges, [r for r in rows if r["kind"] is not None])
    problem = _failure(run, what)
    if problem is None and not rows:
        problem = f"SemanticWiki made no model call {what} (log: {run.log})"
    if problem is None and unknown:
        problem = (
            f"SemanticWiki sent {len(unknown)} prompt(s) that are none of local mode's plan, "
            f"page and index calls (a different client version?) (record: {record})"
        )
    if problem:
        raise WikikitError(problem)
    # Which code search wrote these page prompts: keyword mode is a warning (retrieval.py).
    found = detect_retrieval(run.log, run.output_dir)
    announce_retrieval(found, what)
    return WikiRun(
        run.output_dir, exchanges, run.log, run.seconds, len(rows), record, found.record()
    )
