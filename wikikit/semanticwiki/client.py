"""Running the real SemanticWiki client: `semanticwiki generate -r REPO --full-local ...`.

One run is one subprocess (an argument list, never a shell string) with a scratch HOME, a
working directory whose `.semanticwiki-models` links to the install's embedding cache (the
client resolves it against the working directory, vendor README), a bounded wall time after
which the whole process group is killed, and every line of its output in a log file.

The environment it gets is built, not inherited: PATH, locale and proxy settings, and
ANTHROPIC_API_KEY set to a placeholder, because the agent's constructor throws without one even
in local mode (vendor README); the user's real key never reaches the client.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from wikikit.semanticwiki.install import MODELS_DIR, ClientInstall

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
    host: str,
    model: str,
    skip_index: bool = False,
    node: str = "node",
) -> list[str]:
    cmd = [
        node, str(install.cli), "generate",
        "-r", str(repo),
        "--output", str(output),
        "--full-local", "--use-ollama",
        "--local-model", model,
        "--ollama-host", host,
    ]  # fmt: skip
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
    host: str,
    model: str,
    timeout_s: float,
    skip_index: bool = False,
) -> ClientRun:
    """Run the client once on `repo` against the model server at `host`; never raises for the
    client's own failures (the returned ClientRun says what happened)."""
    work = Path(work)
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
    cmd = generate_command(install, repo, output, host=host, model=model, skip_index=skip_index)
    started = time.monotonic()
    timed_out = False
    with open(log, "w", encoding="utf-8") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        out.flush()
        proc = subprocess.Popen(
            cmd, cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        try:
            returncode = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            returncode = proc.wait()
    return ClientRun(returncode, time.monotonic() - started, timed_out, log, output)
