"""Real code with no network: an installed distribution's Python sources made a git repository.

`{site_package: NAME}` in a source's `repos:` names a distribution installed in wikikit's own
environment (pure-Python ones: click, idna, mdurl, ...). Its files are the ones
`importlib.metadata` records for it (the wheel's RECORD, `Distribution.files`): every `.py`/`.pyi`
file inside the environment's site-packages, none of its `.dist-info`, caches or scripts. They are
copied to `<cache>/site-packages/<name>-<version>/` and committed once, with a fixed author, date
and message, so the same version always gives the same commit; `<name>-<version>.json` beside
that folder records name, version and commit (outside it: the client scans the folder). The repository is known as `pypi/<name>` (Example.repo
`pypi/<name>@<commit>`), which is what `data.holdout` matches (`pypi/mdurl` or a bare `mdurl`).
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wikikit import children
from wikikit.atomic import write_json
from wikikit.errors import InputError

OWNER = "pypi"  # the owner part of a site package's repository name
# Pure-Python distributions of wikikit's own environment (requirements/ pins them), a pool of
# real code nobody here wrote: for training, and held out of every source (data.holdout).
TRAIN_POOL = ("click", "idna", "attrs", "packaging", "jinja2", "pyparsing", "platformdirs",
              "filelock", "pluggy", "h11", "backoff", "sniffio", "python-dotenv", "tabulate",
              "docstring-parser", "mdurl")  # fmt: skip
HELD_OUT_POOL = ("itsdangerous", "iniconfig", "distro")
SOURCE_SUFFIXES = (".py", ".pyi")
# Fixed identity and date: the commit id depends on the files only.
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "wikikit",
    "GIT_AUTHOR_EMAIL": "wikikit@localhost",
    "GIT_COMMITTER_NAME": "wikikit",
    "GIT_COMMITTER_EMAIL": "wikikit@localhost",
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00+0000",
    "GIT_COMMITTER_DATE": "2000-01-01T00:00:00+0000",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
    "LC_ALL": "C",
}


@dataclass(frozen=True)
class SitePackage:
    name: str  # the distribution's name as its metadata spells it
    version: str
    commit: str
    root: Path
    files: int
    extensions: int = 0  # compiled modules the distribution installs (not copied: not source)

    @property
    def repo_name(self) -> str:
        return repo_name(self.name)


def repo_name(dist: str) -> str:
    """`pypi/<normalized name>` (PEP 503 normalization: lower case, runs of -_. as -)."""
    return f"{OWNER}/{re.sub(r'[-_.]+', '-', dist).lower()}"


def spec_name(spec: Any) -> str | None:
    """The repository name a `{site_package: NAME}` spec stands for, else None."""
    if isinstance(spec, dict) and spec.get("site_package"):
        return str(spec.get("name") or repo_name(str(spec["site_package"])))
    return None


def source_files(dist: metadata.Distribution) -> list[tuple[str, Path]]:
    """(repository path, installed file) of the distribution's Python sources, sorted."""
    out = {}
    for f in dist.files or []:
        rel = f.as_posix()
        parts = rel.split("/")
        if (
            not rel.endswith(SOURCE_SUFFIXES)
            or ".." in parts
            or any(p.endswith((".dist-info", ".egg-info")) or p == "__pycache__" for p in parts)
        ):
            continue
        full = Path(str(dist.locate_file(f)))
        if full.is_file():
            out[rel] = full
    return sorted(out.items())


def extension_count(dist: metadata.Distribution) -> int:
    """How many compiled extension modules (.so/.pyd) the distribution installs."""
    return sum(1 for f in dist.files or [] if f.as_posix().endswith((".so", ".pyd")))


def _git(args: list[str], cwd: Path, where: str) -> str:
    proc = children.run(
        ["git", *args], cwd=cwd, env={**os.environ, **_GIT_ENV}, capture_output=True, text=True
    )
    if proc.returncode != 0:
        last = (proc.stderr or "").strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        raise InputError(f"{where}git {args[0]} failed: {last[0]}")
    return proc.stdout.strip()


def build(dist_name: str, cache_dir: str | Path, *, where: str = "") -> SitePackage:
    """The committed repository of installed distribution `dist_name` (made on first use)."""
    where = f"{where}: " if where else ""
    try:
        dist = metadata.distribution(dist_name)
    except metadata.PackageNotFoundError:
        raise InputError(f"{where}site_package {dist_name!r} is not installed here") from None
    name, version = dist.metadata["Name"] or dist_name, dist.version
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{name}-{version}")
    dest = Path(cache_dir) / "site-packages" / safe
    manifest = dest.parent / f"{safe}.json"
    if manifest.is_file() and (dest / ".git").exists():
        data = json.loads(manifest.read_text(encoding="utf-8"))
        if data.get("version") == version:
            return SitePackage(
                name, version, data["commit"], dest, int(data["files"]), extension_count(dist)
            )
    files = source_files(dist)
    if not files:
        raise InputError(f"{where}site_package {dist_name!r} records no Python source files")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{safe}-", dir=dest.parent))
    try:
        for rel, full in files:
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(full, target)
        _git(["init", "--quiet", "-b", "main"], tmp, where)
        _git(["add", "--all", "--", *[rel for rel, _ in files]], tmp, where)
        _git(["commit", "--quiet", "--no-gpg-sign", "-m", f"{name} {version}"], tmp, where)
        commit = _git(["rev-parse", "HEAD"], tmp, where)
        record = {"name": name, "version": version, "commit": commit, "files": len(files),
                  "extensions": extension_count(dist)}  # fmt: skip
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
        write_json(manifest, record)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return SitePackage(name, version, commit, dest, len(files), extension_count(dist))


def as_path_spec(spec: Any, cache_dir: str | Path, where: str = "") -> Any:
    """A `{site_package: NAME}` spec as the `{path, name}` spec of its built repository; any
    other spec unchanged."""
    if not (isinstance(spec, dict) and spec.get("site_package")):
        return spec
    extra = set(spec) - {"site_package", "name"}
    if extra:
        raise InputError(f"{where}: site_package takes only `name` beside it, not {sorted(extra)}")
    built = build(str(spec["site_package"]), cache_dir, where=where)
    return {"path": str(built.root), "name": spec_name(spec)}
