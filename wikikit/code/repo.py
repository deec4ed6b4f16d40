"""Repository access shared by every source that reads code.

A repository is a local checkout or a git URL cloned into the stage's cache. Reading is confined
to the repository root: paths with `..`, absolute paths and symlinks that leave the root are
refused. Listing skips what is not worth documenting (vendored and generated folders, lock files,
binaries, oversized files) and counts every skip in `Repo.stats`.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from wikikit import children
from wikikit.errors import InputError

# Folders never listed: VCS data, dependencies, build outputs, caches, virtualenvs.
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "bower_components",
        "dist",
        "build",
        "out",
        "target",
        "vendor",
        "third_party",
        "__pycache__",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".next",
        ".nuxt",
        ".gradle",
        ".idea",
        ".vscode",
        "coverage",
        ".cache",
    }
)
LOCK_FILES = frozenset(
    {
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "bun.lockb",
        "poetry.lock",
        "Pipfile.lock",
        "uv.lock",
        "pdm.lock",
        "Cargo.lock",
        "Gemfile.lock",
        "composer.lock",
        "go.sum",
        "packages.lock.json",
        "flake.lock",
    }
)
# Generated or minified files: large, unreadable, never worth a reference.
GENERATED_SUFFIXES = (".min.js", ".min.css", ".map", ".pb.go", "_pb2.py", ".generated.ts")
BINARY_SUFFIXES = frozenset(
    [
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".bmp",
        ".ico",
        ".webp",
        ".pdf",
        ".zip",
        ".gz",
        ".tgz",
        ".bz2",
        ".xz",
        ".7z",
        ".tar",
        ".jar",
        ".war",
        ".class",
        ".so",
        ".dylib",
        ".dll",
        ".exe",
        ".o",
        ".a",
        ".lib",
        ".pyc",
        ".pyo",
        ".whl",
        ".egg",
        ".bin",
        ".dat",
        ".db",
        ".sqlite",
        ".woff",
        ".woff2",
        ".ttf",
        ".otf",
        ".eot",
        ".mp3",
        ".mp4",
        ".wav",
        ".ogg",
        ".mov",
        ".avi",
        ".psd",
        ".parquet",
        ".arrow",
        ".npy",
        ".npz",
        ".pt",
        ".pth",
        ".onnx",
        ".safetensors",
        ".gguf",
    ]
)

LANGUAGE_BY_SUFFIX = {
    ".py": "python",
    ".pyi": "python",
    ".ts": "typescript",
    ".tsx": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".js": "javascript",
    ".jsx": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".go": "go",
    ".java": "java",
    ".rs": "rust",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".hh": "cpp",
    ".hpp": "cpp",
    ".hxx": "cpp",
    ".cs": "csharp",
    ".rb": "ruby",
    ".php": "php",
    ".kt": "kotlin",
    ".swift": "swift",
    ".scala": "scala",
    ".sh": "bash",
    ".md": "markdown",
    ".toml": "toml",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
}

_URL_RE = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*://|[\w.-]+@[\w.-]+:)")
_LINES_CACHE_SIZE = 256
_SNIFF_BYTES = 8192


def is_git_url(value: str) -> bool:
    """True for https://, file://, ssh://, git:// and scp-like `user@host:path` specs."""
    return bool(_URL_RE.match(value))


class Repo:
    """Read-only access to one repository's text files, confined to `root`."""

    def __init__(
        self, root: Path, name: str, commit: str | None = None, *, max_file_bytes: int = 1_000_000
    ):
        self.root = Path(root).resolve()
        self.name = name
        self.commit = commit
        self.max_file_bytes = max_file_bytes
        self.stats: Counter = Counter()
        self._files: list[str] | None = None
        self._text: dict[str, str] = {}  # small cache: insertion order, oldest evicted
        self._lines: dict[str, list[str]] = {}
        self._replaced: set[str] = set()

    @property
    def id(self) -> str:
        return f"{self.name}@{self.commit}" if self.commit else self.name

    def __repr__(self) -> str:
        return f"Repo({self.id!r}, root={str(self.root)!r})"

    # -- listing ---------------------------------------------------------------------------

    def iter_files(self) -> Iterator[str]:
        """Repo-relative POSIX paths of readable text files, sorted; skips are counted once."""
        if self._files is None:
            self._files = self._list_files()
        yield from self._files

    def _list_files(self) -> list[str]:
        out: list[str] = []
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            kept = []
            for d in sorted(dirnames):
                full = Path(dirpath, d)
                if d == ".git":
                    continue
                if d in SKIP_DIRS or d.endswith(".egg-info"):
                    self.stats["vendored"] += 1
                elif full.is_symlink():
                    # os.walk does not follow it; count whether it would have escaped.
                    self.stats["symlink_outside" if not self._inside(full) else "symlink_dir"] += 1
                else:
                    kept.append(d)
            dirnames[:] = kept
            for f in sorted(filenames):
                full = Path(dirpath, f)
                rel = full.relative_to(self.root).as_posix()
                reason = self._skip_reason(full, f)
                if reason:
                    self.stats[reason] += 1
                else:
                    out.append(rel)
        out.sort()
        self.stats["files"] = len(out)
        return out

    def _skip_reason(self, full: Path, filename: str) -> str | None:
        if full.is_symlink():
            # A link inside the root duplicates a file we list anyway; one outside escapes.
            return "symlink" if self._inside(full) else "symlink_outside"
        if filename in LOCK_FILES or filename.endswith(".lock"):
            return "lockfile"
        lower = filename.lower()
        if lower.endswith(GENERATED_SUFFIXES):
            return "generated"
        if PurePosixPath(lower).suffix in BINARY_SUFFIXES:
            return "binary"
        try:
            st = full.stat()
        except OSError:
            return "unreadable"
        if not full.is_file():
            return "not_file"
        if st.st_size == 0:
            return "empty"
        if st.st_size > self.max_file_bytes:
            return "too_large"
        try:
            with open(full, "rb") as fh:
                head = fh.read(_SNIFF_BYTES)
        except OSError:
            return "unreadable"
        if b"\x00" in head:
            return "binary"
        return None

    def _inside(self, path: Path) -> bool:
        try:
            resolved = path.resolve()
        except OSError:
            return False
        return resolved == self.root or self.root in resolved.parents

    # -- reading ---------------------------------------------------------------------------

    def _confined(self, rel: str) -> Path:
        """The absolute path of `rel`, or InputError if it is not safely inside the root."""
        if not rel or "\x00" in rel:
            raise InputError(f"{self.name}: invalid path {rel!r}")
        p = PurePosixPath(rel.replace("\\", "/"))
        if p.is_absolute() or re.match(r"^[A-Za-z]:", rel):
            raise InputError(f"{self.name}: absolute path not allowed: {rel}")
        if ".." in p.parts:
            raise InputError(f"{self.name}: path leaves the repository: {rel}")
        full = self.root.joinpath(*p.parts)
        if not self._inside(full):
            raise InputError(f"{self.name}: path resolves outside the repository: {rel}")
        return full

    def exists(self, rel: str) -> bool:
        """True if `rel` is a regular file inside the root (never raises)."""
        try:
            return self._confined(rel).is_file()
        except InputError:
            return False

    def read_text(self, rel: str) -> str:
        """The file's text with newlines normalized to \\n; undecodable bytes become U+FFFD."""
        rel = normalize_rel(rel)
        if rel in self._text:
            return self._text[rel]
        full = self._confined(rel)
        try:
            data = full.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise InputError(f"{self.name}: no such file: {rel}") from None
        except OSError as exc:
            raise InputError(f"{self.name}: cannot read {rel}: {exc.strerror}") from None
        text = decode_text(data)
        if text is None:
            text = data.decode("utf-8", errors="replace")
            if rel not in self._replaced:
                self._replaced.add(rel)
                self.stats["decode_replaced"] += 1
        # Same line breaks as Python's ast and editors: \r\n and lone \r end a line.
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if len(self._text) >= _LINES_CACHE_SIZE:
            oldest = next(iter(self._text))
            self._text.pop(oldest)
            self._lines.pop(oldest, None)
        self._text[rel] = text
        return text

    def lines(self, rel: str) -> list[str]:
        """The file's lines without newline characters; line N is `lines(rel)[N - 1]`.

        The list is cached and shared: do not modify it.
        """
        rel = normalize_rel(rel)
        cached = self._lines.get(rel)
        if cached is None:
            cached = self._lines[rel] = split_lines(self.read_text(rel))
        return cached

    def language_of(self, rel: str) -> str | None:
        return language_of(rel)


def normalize_rel(rel: str) -> str:
    """`./a/b.py` and `a//b.py` → `a/b.py` (no other rewriting; confinement is checked on read)."""
    rel = rel.replace("\\", "/")
    while rel.startswith("./"):
        rel = rel[2:]
    return re.sub(r"/{2,}", "/", rel)


def split_lines(text: str) -> list[str]:
    """Lines at "\n" (and "\r\n") only, as editors and GitHub number them; a trailing newline
    does not add an empty last line. Unlike str.splitlines(), a form feed, U+2028 or U+0085
    inside a line leaves it whole (they occur in code and in models' answers)."""
    if not text:
        return []
    lines = text.replace("\r\n", "\n").split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def decode_text(data: bytes) -> str | None:
    """UTF-8 (BOM stripped), or None when the bytes are not valid UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def language_of(rel: str) -> str | None:
    return LANGUAGE_BY_SUFFIX.get(PurePosixPath(rel).suffix.lower())


# -- opening -------------------------------------------------------------------------------


def open_repo(
    spec: str | dict[str, Any],
    base_dir: Path,
    cache_dir: Path,
    *,
    max_file_bytes: int = 1_000_000,
    label: str = "",
) -> Repo:
    """Open a repository from a recipe spec: a path, a git URL, or {path|url, commit, name}.

    `label` names the recipe key in error messages (e.g. "data.sources.trace.repos.0").
    """
    where = f"{label}: " if label else ""
    if isinstance(spec, str):
        spec = {"url": spec} if is_git_url(spec) else {"path": spec}
    if not isinstance(spec, dict) or not (spec.get("path") or spec.get("url")):
        raise InputError(f"{where}a repository needs `path` or `url`")
    commit = spec.get("commit")
    commit = str(commit) if commit is not None else None
    base_dir = Path(base_dir)

    if spec.get("url"):
        url = str(spec["url"])
        if not is_git_url(url):
            # A local repository given as a URL: git clones plain paths; make it absolute.
            local = Path(url).expanduser()
            local = local if local.is_absolute() else base_dir / local
            if not local.exists():
                raise InputError(f"{where}repository not found: {url}")
            url = str(local.resolve())
        name = spec.get("name") or _name_from_url(url)
        root, head = _clone(url, commit, Path(cache_dir), where)
        return Repo(root, name, head, max_file_bytes=max_file_bytes)

    path = Path(str(spec["path"])).expanduser()
    root = path if path.is_absolute() else base_dir / path
    if not root.is_dir():
        raise InputError(f"{where}repository path not found: {spec['path']}")
    root = root.resolve()
    name = spec.get("name") or root.name
    if commit:
        # Read the files as of that commit, not the working tree: clone the local repo.
        if _git_head(root) is None:
            raise InputError(
                f"{where}{spec['path']} is not a git repository; cannot pin commit {commit}"
            )
        clone_root, head = _clone(str(root), commit, Path(cache_dir), where)
        return Repo(clone_root, name, head, max_file_bytes=max_file_bytes)
    return Repo(root, name, _git_head(root), max_file_bytes=max_file_bytes)


def _name_from_url(url: str) -> str:
    last = re.split(r"[/:]", url.rstrip("/"))[-1]
    return re.sub(r"\.git$", "", last) or "repo"


def _git(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="true", LC_ALL="C")
    return children.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)


def _git_head(root: Path) -> str | None:
    proc = _git(["-C", str(root), "rev-parse", "--verify", "--quiet", "HEAD"])
    if proc.returncode != 0:
        return None
    return proc.stdout.strip() or None


def _first_error_line(proc: subprocess.CompletedProcess) -> str:
    for line in (proc.stderr or "").splitlines():
        line = line.strip()
        if line.startswith(("fatal:", "error:")):
            return line
    lines = [ln.strip() for ln in (proc.stderr or "").splitlines() if ln.strip()]
    return lines[-1] if lines else f"git exited with {proc.returncode}"


def _clone_dest(url: str, commit: str | None, cache_dir: Path) -> Path:
    key = hashlib.sha256(f"{url}\n{commit or ''}".encode()).hexdigest()[:12]
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", _name_from_url(url))[:60]
    return Path(cache_dir) / "repos" / f"{safe}-{key}"


def is_cloned(url: str, commit: str | None, cache_dir: Path) -> bool:
    """True when `open_repo` would find a finished clone of `url` (at `commit`) in cache_dir."""
    return (_clone_dest(url, commit, cache_dir) / ".git").exists()


def _clone(url: str, commit: str | None, cache_dir: Path, where: str) -> tuple[Path, str | None]:
    """Clone `url` (at `commit`) into cache_dir/repos/<name>-<hash>/, re-using a finished clone."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", _name_from_url(url))[:60]
    dest = _clone_dest(url, commit, cache_dir)
    if (dest / ".git").exists():
        head = _git_head(dest)
        if head is not None:
            return dest, head
        shutil.rmtree(dest, ignore_errors=True)  # a broken clone: start over
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Clone into a temporary folder and rename it when complete, so a killed run never leaves
    # a half clone that a re-run would take for finished.
    tmp = Path(tempfile.mkdtemp(prefix=f".{safe}-", dir=dest.parent))
    try:
        proc = _git(["clone", "--quiet", "--no-checkout", "--", url, str(tmp)])
        if proc.returncode != 0:
            raise InputError(f"{where}cannot clone {url}: {_first_error_line(proc)}")
        target = commit or "HEAD"
        # --force: the index of a --no-checkout clone is empty; populate it from `target`.
        proc = _git(["-C", str(tmp), "checkout", "--quiet", "--force", "--detach", target, "--"])
        if proc.returncode != 0:
            raise InputError(
                f"{where}cannot check out {target} of {url}: {_first_error_line(proc)}"
            )
        head = _git_head(tmp)
        if head is None:
            raise InputError(f"{where}cannot clone {url}: the repository has no commits")
        tmp.rename(dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dest, head
