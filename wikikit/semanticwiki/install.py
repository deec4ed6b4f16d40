"""The pinned SemanticWiki client, installed once per machine into wikikit's cache folder.

SemanticWiki is not on the npm registry (see ../shared/vendor/semanticwiki/README.md), so the
client is an `npm pack` of GhostScientist/semanticwiki at commit 438524a (package 1.2.1),
installed beside the registry packages it needs at run time by `npm ci --ignore-scripts` against
the lock file shipped in `client/` (node-llama-cpp 3.15.0, @huggingface/transformers 3.8.1 and
typescript 5.9.3, which dist/ast-chunker.js imports although the package lists it as a dev
dependency; `--ignore-scripts` because faiss-node's and better-sqlite3's install scripts download
from GitHub). better-sqlite3 is never imported; faiss-node's binding is what deployments search
code with, so wikikit builds it offline against the system's faiss (wikikit.semanticwiki.
faiss_build) and records it in the stamp: an install whose stamp has no `faiss` entry (made
before, or where faiss was missing) gets the binding on its next use, and `make setup` installs
Debian's libfaiss-dev first when it runs as root. Where the pack comes from, first match wins:

1. an existing install (`client.install` in the recipe, or `WIKIKIT_SEMANTICWIKI`): a folder
   holding node_modules/semanticwiki, used as it is;
2. a pack file (`client.tgz`, or `WIKIKIT_SEMANTICWIKI_TGZ`; tests and CI point it at
   ../shared/vendor/semanticwiki/semanticwiki-1.2.1.tgz);
3. a git checkout of the pinned commit (`WIKIKIT_SEMANTICWIKI_GIT` overrides the URL), built with
   the vendor README's steps. This needs the internet (GitHub and the npm registry).

The install lands in `<cache>/semanticwiki/<version>-<commit>-<lock>/`, built in a temporary
folder and renamed into place with `stamp.json` last, so a killed install is never taken for a
finished one. Its `models/.semanticwiki-models` is the embedding cache every run links into its
working directory (the client looks for it relative to the working directory): seeded offline
from `client.embeddings` / `WIKIKIT_SEMANTICWIKI_MODELS`, or from the `embedding-cache/` beside
the pack (the vendor layout); online, transformers.js fills it itself on first use.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from wikikit import children, console
from wikikit.atomic import write_json
from wikikit.errors import InputError, WikikitError
from wikikit.paths import cache_root
from wikikit.semanticwiki.protocol import CLIENT_COMMIT, CLIENT_VERSION

HERE = Path(__file__).resolve().parent
CLIENT_DIR = HERE / "client"  # package.json + package-lock.json: what `npm ci` installs
PACK_NAME = f"semanticwiki-{CLIENT_VERSION}.tgz"
# sha256 of the vendored pack (vendor README); a pack built again from git may differ in bytes.
VENDORED_PACK_SHA256 = "4052c0cba49f50d30acd6d7e8037f241dbee126858bf7dce3972958b3238f544"
GIT_URL = "https://github.com/GhostScientist/semanticwiki.git"
MODELS_DIR = ".semanticwiki-models"
INSTALL_TIMEOUT_S = 1800
# The vendor README's build: the mermaid MCP dependency is gone from the registry (404) and
# nothing under src/ imports it; tsc output is packed as is.
BUILD_STEPS = (
    ("npm", "pkg", "delete", "dependencies.@lepion/mcp-server-mermaid"),
    ("npm", "install", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"),
    ("npx", "tsc"),
    ("npm", "pack", "--ignore-scripts", "--loglevel=error"),
)


@dataclass(frozen=True)
class ClientInstall:
    """A usable client: `cli` is dist/cli.js, run with `node`."""

    root: Path
    cli: Path
    models: Path | None  # the embedding cache folder runs link as ./.semanticwiki-models
    version: str
    source: str  # "install", "tgz" or "git": where it came from
    faiss: dict | None = None  # the stamp's record of faiss-node's built binding (faiss_build)

    @property
    def protocol_note(self) -> str:
        return f"semanticwiki {self.version} ({self.source})"


@dataclass(frozen=True)
class ClientSpec:
    """Where to take the client from; unset fields fall back to the environment, then git."""

    install: Path | None = None
    tgz: Path | None = None
    embeddings: Path | None = None

    @classmethod
    def from_env(cls, install=None, tgz=None, embeddings=None) -> ClientSpec:
        def pick(value, var):
            if value is not None:
                return Path(value)
            env = os.environ.get(var)
            return Path(env).expanduser() if env else None

        return cls(
            install=pick(install, "WIKIKIT_SEMANTICWIKI"),
            tgz=pick(tgz, "WIKIKIT_SEMANTICWIKI_TGZ"),
            embeddings=pick(embeddings, "WIKIKIT_SEMANTICWIKI_MODELS"),
        )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _lock_digest() -> str:
    return _sha256(CLIENT_DIR / "package-lock.json")[:10]


def install_dir(root: Path | None = None) -> Path:
    base = Path(root) if root is not None else cache_root()
    return base / "semanticwiki" / f"{CLIENT_VERSION}-{CLIENT_COMMIT[:7]}-{_lock_digest()}"


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        raise WikikitError("SemanticWiki needs Node.js 18 or newer: `node` is not on PATH")
    out = children.run([node, "--version"], capture_output=True, text=True)
    major = out.stdout.strip().lstrip("v").split(".", 1)[0]
    if not major.isdigit() or int(major) < 18:
        raise WikikitError(f"SemanticWiki needs Node.js 18 or newer, found {out.stdout.strip()}")
    return node


def _from_install(root: Path, embeddings: Path | None) -> ClientInstall:
    root = root.expanduser().resolve()
    cli = root / "node_modules" / "semanticwiki" / "dist" / "cli.js"
    if not cli.is_file():
        raise InputError(
            f"semanticwiki client: {root} holds no node_modules/semanticwiki/dist/cli.js"
        )
    models = root / "models" / MODELS_DIR
    if embeddings is not None:
        models = embeddings
    version = json.loads((cli.parent.parent / "package.json").read_text())["version"]
    return ClientInstall(root, cli, models if models.is_dir() else None, version, "install")


def _run_logged(cmd: list[str], cwd: Path, log: Path, env: dict, timeout_s: float) -> None:
    with open(log, "a", encoding="utf-8") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        try:
            proc = children.run(
                cmd, timeout_s=timeout_s, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env
            )
        except subprocess.TimeoutExpired:
            raise WikikitError(
                f"semanticwiki install: `{' '.join(cmd)}` took over {timeout_s:.0f} s (log: {log})"
            ) from None
    if proc.returncode != 0:
        lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        tail = list(dict.fromkeys(ln for ln in lines[-3:] if not ln.startswith("$ ")))
        raise WikikitError(
            f"semanticwiki install: `{cmd[0]} {cmd[1]}` failed (exit {proc.returncode}): "
            f"{' / '.join(tail)} (log: {log})"
        )


def _npm_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ONNXRUNTIME_NODE_INSTALL_CUDA="skip",
        npm_config_audit="false",
        npm_config_fund="false",
        npm_config_update_notifier="false",
    )
    return env


def build_pack_from_git(dest_dir: Path, log: Path, url: str | None = None) -> Path:
    """`npm pack` of the pinned commit, built as the vendored pack was; returns the .tgz."""
    url = url or os.environ.get("WIKIKIT_SEMANTICWIKI_GIT") or GIT_URL
    checkout = dest_dir / "src"
    env = _npm_env()
    console.info(f"semanticwiki: building {CLIENT_VERSION} from {url} at {CLIENT_COMMIT[:7]}")
    try:
        _run_logged(
            ["git", "clone", "--quiet", "--no-checkout", url, str(checkout)],
            dest_dir,
            log,
            env,
            600,
        )
    except WikikitError as exc:
        raise WikikitError(
            f"{exc}; without the internet, install the packed client instead: "
            "set WIKIKIT_SEMANTICWIKI_TGZ (or client.tgz) to semanticwiki-1.2.1.tgz"
        ) from None
    _run_logged(["git", "checkout", "--quiet", "--detach", CLIENT_COMMIT], checkout, log, env, 120)
    for step in BUILD_STEPS:
        _run_logged(list(step), checkout, log, env, INSTALL_TIMEOUT_S)
    packs = sorted(checkout.glob("semanticwiki-*.tgz"))
    if not packs:
        raise WikikitError(f"semanticwiki install: `npm pack` wrote no .tgz (log: {log})")
    return packs[-1]


def _seed_models(models: Path, spec: ClientSpec, pack: Path | None) -> bool:
    """Copy a seeded embedding cache into the install; True when there is one."""
    candidates = [spec.embeddings]
    if pack is not None:
        candidates.append(pack.parent / "embedding-cache" / MODELS_DIR)
    for seed in candidates:
        if seed is not None and seed.is_dir():
            # File by file without the source's modes: a read-only seed must stay writable here.
            for src in sorted(seed.rglob("*")):
                target = models / src.relative_to(seed)
                if src.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(src, target)
            return True
    models.mkdir(parents=True, exist_ok=True)
    return False


def _ensure_faiss(dest: Path, info: dict, system_install: bool) -> dict | None:
    """The stamp's `faiss` entry, building faiss-node's binding first when the install has none
    (a fresh install, or one made before wikikit built it: the stamp says which). Where it cannot
    be built, `make setup` (system_install) fails; a run goes on with a loud warning, since the
    client then retrieves in keyword mode, unlike a deployment (see faiss_build)."""
    from wikikit.semanticwiki.faiss_build import BINDING, build_binding

    built = info.get("faiss")
    if built and (dest / "node_modules" / "faiss-node" / BINDING).is_file():
        return built
    log = dest.parent / f"{dest.name}.install.log"
    try:
        built = build_binding(dest, log, system_install=system_install, cache=dest.parent.parent)
    except WikikitError as exc:
        if system_install:
            raise
        console.warn(
            f"{exc}; SemanticWiki will search code in its keyword fallback, not with the "
            "FAISS vector search a deployment uses (run `make setup`)"
        )
        return None
    write_json(dest / "stamp.json", {**info, "faiss": built})
    return built


def ensure_client(
    spec: ClientSpec | None = None, cache: Path | None = None, *, system_install: bool = False
) -> ClientInstall:
    """The client, installing it first when this machine has none yet (npm only, ~40 s), with
    faiss-node's binding built for it (`system_install`: may apt-get the faiss library)."""
    spec = spec or ClientSpec.from_env()
    if spec.install is not None:
        return _from_install(spec.install, spec.embeddings)
    dest = install_dir(cache)
    stamp = dest / "stamp.json"
    if stamp.is_file():
        info = json.loads(stamp.read_text())
        models = Path(spec.embeddings) if spec.embeddings else dest / "models" / MODELS_DIR
        faiss = _ensure_faiss(dest, info, system_install)
        return ClientInstall(
            dest, dest / info["cli"], models, info["version"], info["source"], faiss
        )
    node = _node()
    if spec.tgz is not None and not spec.tgz.is_file():
        raise InputError(f"semanticwiki client: no such pack: {spec.tgz}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    log = dest.parent / f"{dest.name}.install.log"
    try:
        if spec.tgz is not None:
            pack, source = spec.tgz.resolve(), "tgz"
        else:
            pack, source = build_pack_from_git(tmp, log), "git"
        console.info(f"semanticwiki: installing {CLIENT_VERSION} into {dest} (npm ci, once)")
        for name in ("package.json", "package-lock.json"):
            shutil.copy(CLIENT_DIR / name, tmp / name)
        digest = _sha256(pack)
        shutil.copy(pack, tmp / PACK_NAME)
        if digest != VENDORED_PACK_SHA256:
            # A pack built again from git differs in bytes; the lock pins the vendored one.
            lock = json.loads((tmp / "package-lock.json").read_text())
            lock["packages"]["node_modules/semanticwiki"].pop("integrity", None)
            (tmp / "package-lock.json").write_text(json.dumps(lock, indent=2) + "\n")
        _run_logged(
            ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
            tmp, log, _npm_env(), INSTALL_TIMEOUT_S,
        )  # fmt: skip
        cli = Path("node_modules") / "semanticwiki" / "dist" / "cli.js"
        if not (tmp / cli).is_file():
            raise WikikitError(f"semanticwiki install: {cli} missing after npm ci (log: {log})")
        seeded = _seed_models(tmp / "models" / MODELS_DIR, spec, pack if source == "tgz" else None)
        (tmp / "stamp.json").write_text(
            json.dumps(
                {
                    "version": CLIENT_VERSION,
                    "commit": CLIENT_COMMIT,
                    "source": source,
                    "pack_sha256": digest,
                    "cli": str(cli),
                    "models_seeded": seeded,
                    "node": children.run(
                        [node, "--version"], capture_output=True, text=True
                    ).stdout.strip(),
                },
                indent=2,
            )
            + "\n"
        )
        try:
            tmp.rename(dest)
        except OSError:
            if not stamp.is_file():  # not another process finishing the same install first
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return ensure_client(spec, cache, system_install=system_install)


def main() -> int:
    """`python -m wikikit.semanticwiki.install`: install the client now (what `make setup` does)."""
    from wikikit.errors import WikikitError as _Error

    try:
        client = ensure_client(system_install=True)
    except _Error as exc:
        console.error(str(exc))
        return 2 if isinstance(exc, InputError) else 1
    faiss = client.faiss or {}
    print(
        f"semanticwiki {client.version} ({client.source}): {client.root}; faiss-node "
        f"{faiss.get('faiss_node')} built against faiss {faiss.get('libfaiss')}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
