"""`ollama create` through the `ollama` Python client, then a smoke chat.

The GGUF is uploaded as a blob (create_blob: POST /api/blobs/sha256:<hex>) and the model is
created from it with the run's Modelfile's TEMPLATE, SYSTEM, PARAMETERs and LICENSE, so what
Ollama holds is exactly what the Modelfile says. When no server answers, the caller gets the
commands to finish by hand instead of a traceback.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wikikit import console
from wikikit.errors import WikikitError
from wikikit.package.modelfile import ModelfileSpec, ollama_parameters, parse_modelfile

DEFAULT_HOST = "http://localhost:11434"
SMOKE_PROMPT = "In one sentence, what is an architectural wiki for a code repository?"


class OllamaUnreachable(WikikitError):
    """No Ollama server answered at the host."""


def resolve_host(configured: str | None) -> str:
    return configured or os.environ.get("OLLAMA_HOST") or DEFAULT_HOST


def finish_later_commands(name: str, out_dir: Path, gguf_name: str) -> list[str]:
    """The exact commands to create the model later and use it from SemanticWiki."""
    return [
        f"cd {out_dir} && ollama create {name} -f Modelfile",
        f"semanticwiki generate -r ./repo --full-local --use-ollama --local-model {name}",
        f"semanticwiki generate -r ./repo --full-local --model-path {out_dir / gguf_name}"
        "   # bundled mode, no Ollama needed",
    ]


@dataclass
class PublishResult:
    name: str
    host: str
    digest: str
    statuses: list[str] = field(default_factory=list)
    smoke_reply: str = ""
    smoke_thinking: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "host": self.host,
            "digest": self.digest,
            "statuses": self.statuses,
            "smoke_reply": self.smoke_reply,
            "smoke_thinking": self.smoke_thinking,
            "created": True,
        }


def _client(host: str, timeout: float | None):
    from ollama import Client

    return Client(host=host, timeout=timeout)


def probe(host: str, timeout: float = 5.0) -> None:
    """Raise OllamaUnreachable unless a server answers at `host`."""
    try:
        _client(host, timeout).list()
    except ConnectionError as e:
        raise OllamaUnreachable(f"no Ollama server reachable at {host}") from e
    except Exception as e:  # timeouts, refused proxies: all mean "not there"
        if type(e).__module__.startswith("httpx"):
            raise OllamaUnreachable(f"no Ollama server reachable at {host} ({e})") from e
        raise


def create_model(
    name: str,
    gguf_path: Path,
    spec: ModelfileSpec,
    host: str,
    smoke: bool = True,
) -> PublishResult:
    """Upload the GGUF, create `name` with the Modelfile's settings, and smoke-test a chat."""
    from ollama import ResponseError

    probe(host)
    client = _client(host, None)  # uploads of a 20 GB GGUF take as long as they take
    console.info(f"uploading {gguf_path.name} ({gguf_path.stat().st_size:,} bytes) to {host}")
    try:
        digest = client.create_blob(gguf_path)
        result = PublishResult(name=name, host=host, digest=digest)
        console.info(f"creating Ollama model {name} from {digest}")
        for update in client.create(
            model=name,
            files={gguf_path.name: digest},
            template=spec.template,
            system=spec.system,
            parameters=ollama_parameters(spec),
            license=spec.license or None,
            stream=True,
        ):
            status = update.status or ""
            if status and (not result.statuses or result.statuses[-1] != status):
                result.statuses.append(status)
                console.info(f"  ollama: {status}")
        if not result.statuses or result.statuses[-1] != "success":
            raise WikikitError(f"ollama create {name} did not report success: {result.statuses}")
        if smoke:
            reply = client.chat(
                model=name,
                messages=[{"role": "user", "content": SMOKE_PROMPT}],
                options={"num_predict": 64},
            )
            result.smoke_reply = reply.message.content or ""
            result.smoke_thinking = reply.message.thinking or ""
            if not (result.smoke_reply.strip() or result.smoke_thinking.strip()):
                raise WikikitError(f"smoke chat with Ollama model {name} returned no text")
            console.info(f"smoke chat: {result.smoke_reply[:120]!r}")
    except ConnectionError as e:
        raise OllamaUnreachable(f"lost the Ollama server at {host}") from e
    except ResponseError as e:
        raise WikikitError(f"Ollama at {host} refused: {e.error} (HTTP {e.status_code})") from e
    return result


def publish_from_modelfile(
    name: str, modelfile_path: Path, gguf_path: Path, host: str, smoke: bool = True
) -> PublishResult:
    """create_model with the settings read back from the Modelfile that was written."""
    spec = parse_modelfile(modelfile_path.read_text(encoding="utf-8"))
    return create_model(name, gguf_path, spec, host, smoke=smoke)
