"""faiss-node's native binding, built offline for the pinned client against the system's faiss.

SemanticWiki 1.2.1 searches code with faiss-node (dist/rag/index.js:20-28 `require('faiss-node')`,
:442 `new faiss.IndexFlatIP(dim)`) fused with BM25; without a loadable binding it prints
"Warning: faiss-node not available, using fallback similarity search" and indexes in keyword
mode (:515-553), whose `new RegExp(term)` (:863) throws on a query holding `(` or `+`, losing
that query's chunks. The client is installed with `npm ci --ignore-scripts`
(wikikit.semanticwiki.install), so faiss-node 0.5.1's install script never runs; it would only
download a prebuilt binary or `git clone` faiss v1.7.4 from GitHub (its package.json
`scripts.install`), both out of reach offline.

The binding is one C++ file (faiss-node 0.5.1 `src/faiss.cc`, N-API through node-addon-api
6.1.0, which npm installs as faiss-node's own dependency). Its CMakeLists.txt builds faiss itself
from the cloned `deps/faiss` and cmake-js fetches Node's headers from the internet, so wikikit
compiles that file directly with the same settings (`NAPI_VERSION=6`, the CMakeLists default;
C++17) and links the system's faiss (Debian's `libfaiss-dev`, 1.7.3 in bookworm: a static
libfaiss.a that needs OpenMP, BLAS and LAPACK). One shim is force-included: faiss-node's source
names `faiss::idx_t`, which faiss 1.7.3 declares only inside `faiss::Index` (compiling against it
fails with "'idx_t' in namespace 'faiss' does not name a type"); the shim declares the same
`int64_t` alias at namespace level, which newer faiss already has (a repeated alias is legal).

The compiled binding is cached under `<cache>/faiss-node/<key>/` (the key hashes the source, the
headers, the library and the compiler), so a second install copies it instead of compiling. It
lands where faiss-node's loader (`bindings` 1.5.0) looks first, `build/Release/faiss-node.node`,
and is then loaded by node once as the client would (`require('faiss-node')`, an IndexFlatIP
added to and searched) before the install counts it as built.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from wikikit import children, console
from wikikit.atomic import write_json
from wikikit.errors import WikikitError
from wikikit.paths import cache_root

FAISS_NODE_VERSION = "0.5.1"  # node_modules/faiss-node in wikikit/semanticwiki/client's lock
BINDING = Path("build") / "Release" / "faiss-node.node"  # bindings 1.5.0's first candidate
APT_PACKAGE = "libfaiss-dev"
COMPAT_HEADER = "#include <cstdint>\nnamespace faiss { using idx_t = int64_t; }\n"
# The link line for the static libfaiss.a (a shared libfaiss.so needs the same or less).
LINK_LIBS = ("-lfaiss", "-fopenmp", "-lblas", "-llapack")
BUILD_TIMEOUT_S = 600
# Loads the binding the way dist/rag/index.js does and exercises what it calls (:442, :471, :829).
PROBE_JS = """
const faiss = require(process.argv[1]);
const index = new faiss.IndexFlatIP(2);
index.add([1, 0, 0.6, 0.8]);
const hit = index.search([1, 0], 1);
console.log(JSON.stringify({ntotal: index.ntotal(), label: hit.labels[0]}));
"""


@dataclass(frozen=True)
class LibFaiss:
    version: str  # FAISS_VERSION_MAJOR.MINOR.PATCH from faiss/Index.h
    library: Path  # the libfaiss.so or libfaiss.a the linker picks


def compiler() -> str:
    cxx = os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")
    if not cxx:
        raise WikikitError(
            "faiss-node: no C++ compiler (g++) to build its binding; install g++ (build-essential)"
        )
    return cxx


def find_libfaiss(cxx: str | None = None) -> LibFaiss | None:
    """The system's faiss, as the compiler sees it (headers and library), or None."""
    cxx = cxx or compiler()
    with tempfile.TemporaryDirectory(prefix="wikikit-faiss-") as tmp:
        probe = Path(tmp) / "probe.cc"
        probe.write_text(
            "#include <faiss/Index.h>\n"
            "wikikit_faiss FAISS_VERSION_MAJOR FAISS_VERSION_MINOR FAISS_VERSION_PATCH\n"
        )
        out = children.run(
            [cxx, "-E", "-P", str(probe)], capture_output=True, text=True, timeout_s=60
        )
    found = re.search(r"wikikit_faiss (\d+) (\d+) (\d+)", out.stdout)
    if out.returncode != 0 or found is None:
        return None
    for name in ("libfaiss.so", "libfaiss.a"):
        got = children.run(
            [cxx, f"-print-file-name={name}"], capture_output=True, text=True, timeout_s=60
        ).stdout.strip()
        if os.path.isabs(got) and os.path.isfile(got):
            return LibFaiss(".".join(found.groups()), Path(got).resolve())
    return None


def install_libfaiss(log: Path) -> None:
    """`apt-get install libfaiss-dev` (as root only; one `apt-get update` if the lists lack it)."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise WikikitError(
            f"faiss-node: the system has no faiss library; install {APT_PACKAGE} as root "
            f"(`apt-get install {APT_PACKAGE}`), then run `make setup` again"
        )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-qq", "-o", "DPkg::Lock::Timeout=300", APT_PACKAGE]
    console.info(f"faiss-node: installing Debian's {APT_PACKAGE} (apt-get, once)")
    with open(log, "a", encoding="utf-8") as out:
        for attempt in ([install], [["apt-get", "update", "-qq"], install]):
            codes = []
            for cmd in attempt:
                out.write(f"$ {' '.join(cmd)}\n")
                out.flush()
                proc = children.run(
                    cmd, timeout_s=BUILD_TIMEOUT_S, env=env, stdout=out, stderr=subprocess.STDOUT
                )
                codes.append(proc.returncode)
                if proc.returncode != 0:
                    break
            if codes and all(c == 0 for c in codes):
                return
    raise WikikitError(f"faiss-node: `apt-get install {APT_PACKAGE}` failed (log: {log})")


def _node_include(node: str, install_root: Path) -> Path:
    """Node-API headers: the node binary's own, else the `node-api-headers` package npm installed
    (a dependency of cmake-js in the client's lock); both declare the same stable ABI."""
    prefix = Path(os.path.realpath(node)).parent.parent
    candidates = [
        prefix / "include" / "node",
        Path("/usr/include/node"),
        Path("/usr/local/include/node"),
        install_root / "node_modules" / "node-api-headers" / "include",
    ]
    for folder in candidates:
        if (folder / "node_api.h").is_file():
            return folder
    raise WikikitError(
        "faiss-node: no Node-API headers (node_api.h) beside node or in node-api-headers"
    )


def _digest(*parts: bytes | Path) -> str:
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            with open(part, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
        else:
            h.update(part)
        h.update(b"\0")
    return h.hexdigest()


def probe(install_root: Path, node: str = "node") -> dict:
    """Load faiss-node from the install as the client does; its answer, or a WikikitError."""
    module = install_root / "node_modules" / "faiss-node"
    try:
        proc = children.run(
            [node, "-e", PROBE_JS, str(module)], capture_output=True, text=True, timeout_s=60
        )
    except subprocess.TimeoutExpired:
        raise WikikitError("faiss-node: loading the binding took over 60 s") from None
    line = proc.stdout.strip().splitlines()[-1:] if proc.returncode == 0 else []
    try:
        answer = json.loads(line[0]) if line else None
    except json.JSONDecodeError:
        answer = None
    if not answer or answer.get("ntotal") != 2 or answer.get("label") != 0:
        why = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise WikikitError(f"faiss-node: the built binding does not load in node: {why}")
    return answer


def build_binding(
    install_root: Path, log: Path, *, system_install: bool = False, cache: Path | None = None
) -> dict:
    """Build (or take from `<cache>/faiss-node/`) faiss-node's binding into the client at
    `install_root`, check that node loads it, and return what the install stamp records."""
    module = install_root / "node_modules" / "faiss-node"
    source = module / "src" / "faiss.cc"
    addon = module / "node_modules" / "node-addon-api"
    if not source.is_file() or not (addon / "napi.h").is_file():
        raise WikikitError(f"faiss-node: {module} lacks src/faiss.cc or node-addon-api")
    version = json.loads((module / "package.json").read_text())["version"]
    cxx = compiler()
    lib = find_libfaiss(cxx)
    if lib is None and system_install:
        install_libfaiss(log)
        lib = find_libfaiss(cxx)
    if lib is None:
        raise WikikitError(
            f"faiss-node: no faiss library found; install {APT_PACKAGE} "
            f"(`apt-get install {APT_PACKAGE}` as root, or `make setup`)"
        )
    node = shutil.which("node") or "node"
    include = _node_include(node, install_root)
    flags = ["-std=c++17", "-O2", "-fPIC", "-shared", "-DNAPI_VERSION=6"]
    cxx_version = children.run([cxx, "--version"], capture_output=True, timeout_s=60).stdout
    key = _digest(
        source, addon / "napi.h", addon / "napi-inl.h", include / "node_api.h", lib.library,
        COMPAT_HEADER.encode(), " ".join(flags + list(LINK_LIBS)).encode(), cxx_version,
    )[:16]  # fmt: skip
    cached = (cache or cache_root()) / "faiss-node" / f"{version}-{key}" / "faiss-node.node"
    if cached.is_file():
        console.info(f"faiss-node: binding from the cache ({cached.parent})")
    else:
        console.info(f"faiss-node {version}: building its binding against faiss {lib.version}")
        cached.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".build-", dir=cached.parent) as tmp:
            compat = Path(tmp) / "wikikit_faiss_compat.h"
            compat.write_text(COMPAT_HEADER)
            out = Path(tmp) / "faiss-node.node"
            cmd = [cxx, *flags, "-include", str(compat), f"-I{include}", f"-I{addon}"]
            cmd += [str(source), "-o", str(out), f"-L{lib.library.parent}", *LINK_LIBS]
            with open(log, "a", encoding="utf-8") as sink:
                sink.write("$ " + " ".join(cmd) + "\n")
                sink.flush()
                try:
                    proc = children.run(
                        cmd, timeout_s=BUILD_TIMEOUT_S, stdout=sink, stderr=subprocess.STDOUT
                    )
                except subprocess.TimeoutExpired:
                    raise WikikitError(
                        f"faiss-node: compiling took over {BUILD_TIMEOUT_S} s"
                    ) from None
            if proc.returncode != 0 or not out.is_file():
                errors = [
                    ln for ln in log.read_text(errors="replace").splitlines() if "error" in ln
                ]
                raise WikikitError(
                    f"faiss-node: compiling its binding failed: "
                    f"{(errors or ['see the log'])[0].strip()} (log: {log})"
                )
            os.replace(out, cached)  # same folder's filesystem: the cache never holds a half file
    target = module / BINDING
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.copyfile(cached, staged)
    os.replace(staged, target)
    probe(install_root, node)
    info = {
        "faiss_node": version,
        "libfaiss": lib.version,
        "library": str(lib.library),
        "binding": str(BINDING),
        "sha256": _digest(target)[:16],
    }
    write_json(cached.parent / "build.json", info)
    return info
