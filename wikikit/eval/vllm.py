"""vLLM on a GPU box: lm-eval's in-process `vllm` model, or `vllm serve` on 127.0.0.1.

- `eval.backend: vllm`: lm-eval's `vllm` model type (lm_eval/models/vllm_causallms.py, class
  VLLM) generates the single-skill tasks in one batched engine, with the harmony prompt text as
  the hf backend feeds it. `model_args` are checked against that class's own signature, read
  from lm-eval's source with `ast` (importing it needs vllm, which only a GPU box has).
- `eval.vllm.serve: true`: wikikit starts `vllm serve MODEL --host 127.0.0.1 --port P ...`
  (an argument list, never a shell string), waits for its OpenAI-compatible `/v1/models`, and
  evaluates through lm-eval's `local-chat-completions`; the same URL is what the SemanticWiki
  harness's served-model path points the client's model endpoint at. Flags as vLLM's CLI
  documents them (`vllm serve --help`: --host, --port, --served-model-name, --dtype,
  --max-model-len, --tensor-parallel-size, --gpu-memory-utilization, --seed).
`eval.vllm.command` replaces the `vllm` executable (a container wrapper, another venv).
"""

from __future__ import annotations

import ast
import contextlib
import json
import shutil
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from wikikit.errors import InputError, WikikitError
from wikikit.eval.local_server import free_port, serve
from wikikit.semanticwiki.deployment import CONTEXT_LENGTH

DEFAULTS = {
    "dtype": "auto",
    "tensor_parallel_size": 1,
    "gpu_memory_utilization": 0.9,
    # lm-eval's vllm model: a SemanticWiki page prompt is ~4k tokens and its answer 4,096, 16k
    # leaves room for both (`vllm serve` gets the deployment's context: serve_command)
    "max_model_len": 16384,
    "seed": 1234,
}
SERVED_NAME = "model"


@lru_cache(maxsize=1)
def lm_eval_vllm_parameters() -> dict[str, list[str] | None]:
    """{parameter: allowed literal values or None} of lm-eval's VLLM.__init__, from its source."""
    import importlib.util

    spec = importlib.util.find_spec("lm_eval")
    if spec is None or not spec.submodule_search_locations:
        raise WikikitError("lm-eval is not installed")
    source = Path(next(iter(spec.submodule_search_locations))) / "models" / "vllm_causallms.py"
    tree = ast.parse(source.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "VLLM":
            init = next(
                f for f in node.body if isinstance(f, ast.FunctionDef) and f.name == "__init__"
            )
            out: dict[str, list[str] | None] = {}
            for arg in init.args.args[1:]:
                out[arg.arg] = _literal_values(arg.annotation)
            return out
    raise WikikitError(f"{source}: no class VLLM")


def _literal_values(annotation: ast.expr | None) -> list[str] | None:
    if (
        isinstance(annotation, ast.Subscript)
        and isinstance(annotation.value, ast.Name)
        and annotation.value.id == "Literal"
    ):
        items = (
            annotation.slice.elts if isinstance(annotation.slice, ast.Tuple) else [annotation.slice]
        )
        return [i.value for i in items if isinstance(i, ast.Constant)]
    return None


def lm_eval_model_args(model: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """model_args for lm-eval's `vllm` model type; unknown or invalid values are an InputError."""
    options = dict(options or {})
    for key in ("serve", "command", "port", "timeout_s"):
        options.pop(key, None)
    args: dict[str, Any] = {"pretrained": model, **DEFAULTS, **options}
    known = lm_eval_vllm_parameters()
    unknown = sorted(set(args) - set(known))
    if unknown:
        raise InputError(
            f"eval.vllm: {', '.join(unknown)} not taken by lm-eval's vllm model "
            f"(it takes {', '.join(sorted(known))})"
        )
    for key, allowed in known.items():
        if allowed is not None and key in args and args[key] not in allowed:
            raise InputError(f"eval.vllm.{key}: one of {', '.join(map(str, allowed))}")
    return args


def serve_command(model: str, port: int, options: Mapping[str, Any] | None = None) -> list[str]:
    """`vllm serve` for one model on 127.0.0.1, as an argument list; its context is the
    deployment's (32,768 tokens: wikikit.semanticwiki.deployment) unless
    `eval.vllm.max_model_len` says otherwise."""
    o = {**DEFAULTS, "max_model_len": CONTEXT_LENGTH, **dict(options or {})}
    exe = o.get("command") or "vllm"
    exe_argv = list(exe) if isinstance(exe, list) else [str(exe)]
    argv = [*exe_argv, "serve", model, "--host", "127.0.0.1", "--port", str(port),
            "--served-model-name", SERVED_NAME, "--dtype", str(o["dtype"]),
            "--max-model-len", str(int(o["max_model_len"])),
            "--tensor-parallel-size", str(int(o["tensor_parallel_size"])),
            "--gpu-memory-utilization", str(float(o["gpu_memory_utilization"])),
            "--seed", str(int(o["seed"]))]  # fmt: skip
    return argv


@contextlib.contextmanager
def vllm_server(
    model: str, options: Mapping[str, Any] | None, log: Path, timeout_s: float | None = None
) -> Iterator[str]:
    """`vllm serve` on 127.0.0.1 for the block; yields its OpenAI base URL (`.../v1`)."""
    options = dict(options or {})
    port = int(options.get("port") or free_port())
    argv = serve_command(model, port, options)
    if shutil.which(argv[0]) is None and not Path(argv[0]).is_file():
        raise WikikitError(
            f"eval.vllm.serve: {argv[0]!r} not found (install vllm on the GPU box, or set "
            "eval.vllm.command)"
        )
    timeout_s = float(timeout_s or options.get("timeout_s") or 1800)  # a 20B load takes minutes
    url = f"http://127.0.0.1:{port}/v1"

    def lists_the_model(response: Any) -> bool:
        return SERVED_NAME in {m.get("id") for m in json.load(response).get("data", [])}

    with serve(argv, f"{url}/models", log, timeout_s, "vllm serve", lists_the_model):
        yield url
