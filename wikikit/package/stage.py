"""The package stage: merged model -> GGUF (llama.cpp's converter) -> checks -> Modelfile ->
`ollama create`, ready for SemanticWiki's local mode.

Reads the merged model from the train stage (`<train>/merged`) and writes into the stage
directory: model.gguf, Modelfile (FROM ./model.gguf), convert.log and package.json (sizes,
sha256, times, metadata, verification, what happened in Ollama).
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path
from typing import Any

from wikikit import console
from wikikit.atomic import write_json, write_text
from wikikit.errors import InputError, WikikitError
from wikikit.package.gguf_convert import convert_model, default_cache_root
from wikikit.package.gguf_verify import (
    check_metadata,
    compare_greedy,
    expected_architecture,
    expected_tensor_count,
    inspect_gguf,
    llama_cpp_available,
    require_ok,
)
from wikikit.package.modelfile import build_spec, render_modelfile
from wikikit.package.ollama_publish import (
    OllamaUnreachable,
    finish_later_commands,
    probe,
    publish_from_modelfile,
    resolve_host,
)
from wikikit.stage import StageContext, StageResult

GGUF_NAME = "model.gguf"
EXACT_OUTTYPES = ("f32", "f16", "bf16")  # greedy tokens must match transformers all the way


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def model_name(ctx: StageContext) -> str:
    raw = ctx.section.get("ollama", {}).get("name") or ctx.recipe.data.get("name") or "wiki-agent"
    name = re.sub(r"[^a-z0-9._:-]+", "-", str(raw).lower()).strip("-.")
    return name or "wiki-agent"


def merged_model_dir(ctx: StageContext) -> Path:
    train = ctx.inputs.get("train")
    if train is None:
        raise InputError("package: needs the train stage's output (a merged model)")
    merged = Path(train) / "merged"
    if not (merged / "config.json").is_file():
        raise WikikitError(f"package: no merged model at {merged} (run the train stage first)")
    return merged


def _llama_cpp_dir(ctx: StageContext) -> str | None:
    value = ctx.section.get("gguf", {}).get("llama_cpp_dir")
    if not value:
        return None
    return str(ctx.recipe.resolve_path(value, ("package", "gguf", "llama_cpp_dir")))


def plan(ctx: StageContext) -> list[str]:
    gguf = ctx.section.get("gguf", {})
    ollama = ctx.section.get("ollama", {})
    source = gguf.get("llama_cpp_dir") or "llama-cpp-python 0.3.36 sdist (cached)"
    lines = [
        f"GGUF {gguf.get('quantize') or gguf.get('outtype', 'q8_0')} with {source}",
        f"verify: {'on' if gguf.get('verify', True) else 'off'}",
    ]
    if ollama.get("create", True):
        lines.append(f"ollama create {model_name(ctx)} at {resolve_host(ollama.get('host'))}")
    return lines


def _verify(ctx: StageContext, merged: Path, gguf: Path, outtype: str, quantized: bool) -> dict:
    gsec = ctx.section.get("gguf", {})
    info = inspect_gguf(gguf)
    problems = check_metadata(info, expected_tensor_count(merged), expected_architecture(merged))
    if problems:
        raise WikikitError(f"{gguf.name}: " + "; ".join(problems))
    out: dict[str, Any] = {"metadata": info}
    if not gsec.get("verify", True):
        out["greedy"] = "skipped (package.gguf.verify: false)"
        return out
    if not llama_cpp_available():
        console.warn("llama-cpp-python is not installed: the GGUF was not load-tested")
        out["greedy"] = "skipped (llama-cpp-python not installed)"
        return out
    n = int(gsec.get("verify_tokens", 8))
    # f32 holds the same weights: every token must agree. Rounding to 16 bits can flip a near
    # tie later on, and quantized weights drift sooner, so those must agree on a prefix.
    if quantized or outtype not in EXACT_OUTTYPES:
        required = 1
    elif outtype == "f32":
        required = n
    else:
        required = max(1, n // 2)
    cmp = compare_greedy(merged, gguf, n_tokens=n, required=required)
    require_ok(cmp, gguf)
    console.info(f"llama.cpp agrees with transformers on {cmp.agreed_prefix}/{n} greedy tokens")
    out["greedy"] = cmp.to_json()
    return out


def run_stage(ctx: StageContext) -> StageResult:
    merged = merged_model_dir(ctx)
    out = Path(ctx.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    gsec = dict(ctx.section.get("gguf", {}))
    llama_dir = _llama_cpp_dir(ctx)
    if llama_dir:
        gsec["llama_cpp_dir"] = llama_dir
    # The log streams into a temporary name and is renamed into place, even on failure.
    log_path = out / ".convert.log.tmp-run"
    log_path.unlink(missing_ok=True)
    try:
        return _package(ctx, merged, out, gsec, log_path)
    finally:
        if log_path.exists():
            os.replace(log_path, out / "convert.log")


def _package(ctx: StageContext, merged: Path, out: Path, gsec: dict, log_path: Path) -> StageResult:
    times: dict[str, float] = {}
    name = model_name(ctx)
    osec = ctx.section.get("ollama", {})
    host = resolve_host(osec.get("host"))
    if osec.get("create", True) and osec.get("required", False):
        try:  # fail before a long conversion, not after it
            probe(host)
        except OllamaUnreachable as e:
            cmd = finish_later_commands(name, out.resolve(), GGUF_NAME)[0]
            raise WikikitError(
                f"{e} and package.ollama.required is true; start Ollama, or set it to false "
                f"and run later: {cmd}"
            ) from e

    start = time.monotonic()
    conv = convert_model(merged, out / GGUF_NAME, gsec, log_path, cache_root=default_cache_root())
    times["convert_s"] = round(conv.seconds, 2)
    times["quantize_s"] = round(conv.quantize_seconds, 2)
    gguf_path = conv.path
    size = gguf_path.stat().st_size
    digest = sha256_file(gguf_path)
    console.info(f"{gguf_path.name}: {size:,} bytes, sha256 {digest[:16]}...")

    t = time.monotonic()
    verification = _verify(ctx, merged, gguf_path, conv.outtype, bool(conv.quantize))
    times["verify_s"] = round(time.monotonic() - t, 2)

    family = (ctx.recipe.data.get("model") or {}).get("family", "harmony")
    spec = build_spec(f"./{GGUF_NAME}", ctx.section.get("modelfile", {}), family)
    base = "SmolLM2 (chatml)" if family == "chatml" else "gpt-oss"
    modelfile_text = render_modelfile(
        spec, header=[f"{name}: {base} wiki agent for SemanticWiki, made by wikikit"]
    )
    write_text(out / "Modelfile", modelfile_text)

    ollama: dict[str, Any] = {"name": name, "host": host, "created": False}
    if osec.get("create", True):
        t = time.monotonic()
        try:
            res = publish_from_modelfile(
                name, out / "Modelfile", gguf_path, host, smoke=osec.get("smoke", True)
            )
            ollama = res.to_json()
            if res.digest != f"sha256:{digest}":
                raise WikikitError(f"Ollama stored digest {res.digest}, expected sha256:{digest}")
        except OllamaUnreachable as e:
            commands = finish_later_commands(name, out.resolve(), GGUF_NAME)
            ollama["unreachable"] = str(e)
            ollama["commands"] = commands
            message = f"{e}. The GGUF and Modelfile are ready in {out}; to finish later run:"
            if osec.get("required", False):
                raise WikikitError(message + " " + " ; ".join(commands[:2])) from e
            console.warn(message)
            for c in commands:
                console.info(f"  {c}")
        times["ollama_s"] = round(time.monotonic() - t, 2)
    else:
        ollama["commands"] = finish_later_commands(name, out.resolve(), GGUF_NAME)
    times["total_s"] = round(time.monotonic() - start, 2)

    write_json(
        out / "package.json",
        {
            "gguf": {
                "file": GGUF_NAME,
                "bytes": size,
                "sha256": digest,
                "outtype": conv.outtype,
                "quantize": conv.quantize,
            },
            "modelfile": {
                "file": "Modelfile",
                "sha256": hashlib.sha256(modelfile_text.encode()).hexdigest(),
            },
            "merged_model": str(merged),
            "verification": verification,
            "ollama": ollama,
            "times": times,
        },
    )
    summary = f"{GGUF_NAME} {size / 1e6:.1f} MB ({conv.quantize or conv.outtype})"
    summary += f", Ollama model {name}" if ollama.get("created") else ", Ollama: not created"
    return StageResult(
        outputs=[GGUF_NAME, "Modelfile", "convert.log", "package.json"],
        counts={
            "gguf_bytes": size,
            "tensors": verification["metadata"]["tensor_count"],
            "convert_s": times["convert_s"],
            "ollama_created": bool(ollama.get("created")),
        },
        summary=summary,
    )
