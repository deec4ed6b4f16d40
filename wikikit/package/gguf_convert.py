"""GGUF conversion with llama.cpp's own converter (convert_hf_to_gguf.py and its packages).

The converter comes from a llama.cpp checkout the recipe names (`package.gguf.llama_cpp_dir`),
or from the pinned llama-cpp-python source distribution, fetched once from the package
registry with pip and extracted into a cache. It runs as a subprocess (it is a script, not a
library) with its own vendored gguf-py, so its output matches the llama.cpp it ships with.
k-quants (q4_k_m, ...) need llama.cpp's `llama-quantize` tool after an f16 conversion.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from wikikit import children, console
from wikikit.errors import InputError, WikikitError
from wikikit.paths import cache_root

LLAMA_CPP_PYTHON_VERSION = "0.3.36"
CONVERTER_OUTTYPES = ("f32", "f16", "bf16", "q8_0")
CONVERTER = "convert_hf_to_gguf.py"
# The parts of a llama.cpp tree the converter imports.
_CONVERTER_PARTS = (CONVERTER, "conversion/", "gguf-py/", "requirements/")


def default_cache_root() -> Path:
    return cache_root()


def _run_streaming(cmd: Sequence[str], log_path: Path, env: dict | None = None) -> int:
    """Run `cmd`, sending each output line to the console and appending it to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"$ {' '.join(str(c) for c in cmd)}\n")
        log.flush()
        proc = children.popen(
            [str(c) for c in cmd],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            env=env,
        )
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                log.write(line)
                console.info(f"  {line.rstrip()}")
            rc, _ = children.wait(proc)
        finally:
            children.stop(proc)
        log.write(f"[exit {rc}]\n")
    return rc


def fetch_sdist_converter(cache_root: Path | None = None, log_path: Path | None = None) -> Path:
    """llama.cpp's tree from the pinned llama-cpp-python sdist: download once, extract once."""
    cache_root = cache_root or default_cache_root()
    sdist_dir = cache_root / "sdist"
    name = f"llama_cpp_python-{LLAMA_CPP_PYTHON_VERSION}"
    tree = sdist_dir / name / "vendor" / "llama.cpp"
    if (tree / CONVERTER).is_file():
        return tree
    sdist_dir.mkdir(parents=True, exist_ok=True)
    tarball = sdist_dir / f"{name}.tar.gz"
    if not tarball.is_file():
        console.info(f"fetching llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION} source (converter)")
        # Only this package is forced to source; its build tools may come as wheels.
        cmd = [
            sys.executable, "-m", "pip", "download", "--no-deps",
            "--no-binary", "llama-cpp-python", "-d", str(sdist_dir),
            f"llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION}",
        ]  # fmt: skip
        rc = _run_streaming(cmd, log_path or sdist_dir / "download.log")
        if rc != 0 or not tarball.is_file():
            raise WikikitError(
                f"could not download llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION} source "
                f"(pip exit {rc}); set package.gguf.llama_cpp_dir to a llama.cpp checkout"
            )
    prefix = f"{name}/vendor/llama.cpp/"
    staging = sdist_dir / f".{name}.extract"
    shutil.rmtree(staging, ignore_errors=True)
    with tarfile.open(tarball) as tar:
        members = [
            m
            for m in tar.getmembers()
            if m.name.startswith(prefix) and m.name[len(prefix) :].startswith(_CONVERTER_PARTS)
        ]
        tar.extractall(staging, members=members, filter="data")
    final = sdist_dir / name
    shutil.rmtree(final, ignore_errors=True)
    os.replace(staging / name, final)  # appears whole or not at all
    shutil.rmtree(staging, ignore_errors=True)
    return tree


def find_converter(
    llama_cpp_dir: str | Path | None,
    cache_root: Path | None = None,
    log_path: Path | None = None,
    key_path: str = "package.gguf.llama_cpp_dir",
) -> Path:
    """Path of convert_hf_to_gguf.py: from the named checkout, else from the cached sdist."""
    if llama_cpp_dir:
        script = Path(llama_cpp_dir) / CONVERTER
        if not script.is_file():
            raise InputError(f"{key_path}: {script} not found (expected a llama.cpp checkout)")
        return script
    return fetch_sdist_converter(cache_root, log_path) / CONVERTER


def find_quantize_tool(llama_cpp_dir: str | Path | None) -> Path | None:
    """llama.cpp's quantize binary, from the checkout's build or PATH."""
    if llama_cpp_dir:
        for rel in ("build/bin/llama-quantize", "llama-quantize", "build/bin/quantize"):
            p = Path(llama_cpp_dir) / rel
            if p.is_file() and os.access(p, os.X_OK):
                return p
    found = shutil.which("llama-quantize")
    return Path(found) if found else None


@dataclass
class Conversion:
    path: Path
    outtype: str
    seconds: float
    quantize: str | None = None
    quantize_seconds: float = 0.0


def convert(
    model_dir: Path,
    out_path: Path,
    outtype: str,
    converter: Path,
    log_path: Path,
) -> float:
    """Run the converter; the GGUF appears at `out_path` only when it succeeded. Returns seconds."""
    if outtype not in CONVERTER_OUTTYPES:
        raise InputError(f"package.gguf.outtype: {outtype!r} is not one of {CONVERTER_OUTTYPES}")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.tmp-convert")
    tmp.unlink(missing_ok=True)
    cmd = [sys.executable, converter, model_dir, "--outfile", tmp, "--outtype", outtype]
    env = dict(os.environ)
    env.pop("NO_LOCAL_GGUF", None)  # use the converter's own gguf-py, not the installed one
    start = time.monotonic()
    console.info(f"converting {model_dir} to GGUF ({outtype}) with {converter}")
    rc = _run_streaming(cmd, log_path, env=env)
    seconds = time.monotonic() - start
    if rc != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        raise WikikitError(f"GGUF conversion failed (exit {rc}); see {log_path}")
    os.replace(tmp, out_path)
    return seconds


def quantize(src: Path, out_path: Path, qtype: str, tool: Path, log_path: Path) -> float:
    """k-quantize `src` into `out_path` with llama.cpp's quantize tool. Returns seconds."""
    tmp = out_path.with_name(f".{out_path.name}.tmp-quantize")
    tmp.unlink(missing_ok=True)
    start = time.monotonic()
    rc = _run_streaming([tool, src, tmp, qtype.upper()], log_path)
    seconds = time.monotonic() - start
    if rc != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        raise WikikitError(f"llama-quantize {qtype} failed (exit {rc}); see {log_path}")
    os.replace(tmp, out_path)
    return seconds


def convert_model(
    model_dir: Path,
    out_path: Path,
    gguf_section: dict,
    log_path: Path,
    cache_root: Path | None = None,
) -> Conversion:
    """Convert per the recipe's `package.gguf` section: outtype, then an optional k-quant."""
    llama_cpp_dir = gguf_section.get("llama_cpp_dir")
    outtype = gguf_section.get("outtype", "q8_0")
    qtype = gguf_section.get("quantize")
    if qtype and qtype.lower() in CONVERTER_OUTTYPES:
        # The converter writes these itself; no quantize tool needed.
        outtype, qtype = qtype.lower(), None
    tool = None
    if qtype:
        tool = find_quantize_tool(llama_cpp_dir)
        if tool is None:
            raise InputError(
                f"package.gguf.quantize: {qtype} needs llama.cpp's llama-quantize tool; build "
                "llama.cpp and set package.gguf.llama_cpp_dir, or use outtype q8_0/f16/bf16"
            )
        outtype = "f16" if outtype in ("q8_0", "f32") else outtype
    converter = find_converter(llama_cpp_dir, cache_root, log_path)
    if not qtype:
        seconds = convert(model_dir, out_path, outtype, converter, log_path)
        return Conversion(out_path, outtype, seconds)
    intermediate = out_path.with_name(f"{out_path.stem}-{outtype}.gguf")
    seconds = convert(model_dir, intermediate, outtype, converter, log_path)
    assert tool is not None
    q_seconds = quantize(intermediate, out_path, qtype, tool, log_path)
    intermediate.unlink()
    return Conversion(out_path, outtype, seconds, qtype, q_seconds)
