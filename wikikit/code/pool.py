"""A training pool: a shipped list of public repositories to learn from, never the benchmark.

The file (recipes/pools/pool.yaml is the shipped one) is YAML with one repository per line, so
that every error names its line:

    pool: 1
    repos:
      - {repo: psf/requests, language: python, size: small, deepwiki: unknown}
      - {repo: valkey-io/valkey, language: c, size: large, deepwiki: unknown, fork_of: redis/redis}

Keys: `repo` (GitHub owner/name), `language` (LANGUAGES), `size` (SIZES: small library,
medium, large application), `deepwiki` (yes / no / unknown: whether deepwiki.com has a wiki
for it), and optionally `url` (where to clone it from: a git URL, or a local path relative to
the pool file; default its GitHub URL), `commit` (a pin), `fork_of` / `mirror_of` (the
repository it copies: owner/name or URL), `note`.

Loading validates every line and reports every problem at once (InputError, exit 2, the first
line `FILE:LINE: ...`): an unknown key or value, a repository listed twice, and a repository
that is a CodeWikiBench repository or one the recipe holds out (`data.holdout`), named
directly, by its URL, or as the fork or mirror the line marks.

Pins (`PinStore`): a pool repository is documented at one commit, fixed the first time it is
fetched (its default branch's head, `git ls-remote`; DeepWiki's documented commit when a
DeepWiki wiki is replayed, noted by the source that replays it) and kept in a JSON file under
the run's cache, which later runs read instead of asking the remote again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from wikikit import children
from wikikit.atomic import write_json
from wikikit.code.holdout import Holdout, recipe_holdout
from wikikit.code.repo import is_git_url
from wikikit.errors import InputError, WikikitError
from wikikit.recipe.safe_yaml import Breach, decode_utf8

FORMAT = 1
LANGUAGES = (
    "python", "javascript", "typescript", "c", "cpp", "csharp", "java", "kotlin", "go", "rust",
)  # fmt: skip
# CodeWikiBench's README groups (wikikit.code.benchmark_repos) for each pool language.
LANGUAGE_GROUPS = {
    "python": "Python", "javascript": "JS/TS", "typescript": "JS/TS", "c": "C", "cpp": "C++",
    "csharp": "C#", "java": "Java", "kotlin": "Kotlin", "go": "Go", "rust": "Rust",
}  # fmt: skip
SIZES = ("small", "medium", "large")
DEEPWIKI = ("yes", "no", "unknown")
REQUIRED = ("repo", "language", "size")
OPTIONAL = ("deepwiki", "url", "commit", "fork_of", "mirror_of", "note")
REPO_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
MAX_BYTES = 8 << 20  # 10,000 repositories are ~1.2 MiB
MAX_LINE_CHARS = 2000
HEADER = re.compile(r"^(pool|repos):(.*?)(?:\s#.*)?$")
ENTRY = re.compile(r"^-\s*\{.*\}(?:\s+#.*)?$")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~50x faster per line
MAX_REPORTED = 20
PIN_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class PoolRepo:
    """One line of a pool file."""

    name: str  # owner/name on GitHub
    language: str
    size: str
    deepwiki: str
    url: str
    line: int
    commit: str | None = None
    fork_of: str | None = None
    mirror_of: str | None = None

    def spec(self, commit: str | None = None) -> dict[str, Any]:
        """A repo spec for the sources (wikikit.code.repo.open_repo): url, name, commit."""
        spec: dict[str, Any] = {"url": self.url, "name": self.name}
        if commit or self.commit:
            spec["commit"] = commit or self.commit
        return spec


@dataclass(frozen=True)
class Pool:
    path: Path
    repos: tuple[PoolRepo, ...]

    def __len__(self) -> int:
        return len(self.repos)

    def languages(self) -> Counter:
        return Counter(r.language for r in self.repos)

    def groups(self) -> Counter:
        """Repositories per CodeWikiBench language group (JS/TS, Python, ...)."""
        return Counter(LANGUAGE_GROUPS[r.language] for r in self.repos)

    def summary(self) -> str:
        """`421 repositories (JS/TS 98, Python 50, ...; small 120, ...)` for the dry run."""
        groups = ", ".join(f"{g} {n}" for g, n in self.groups().most_common())
        sizes = Counter(r.size for r in self.repos)
        wikis = Counter(r.deepwiki for r in self.repos)
        return (
            f"{len(self)} repositories ({groups}; "
            + ", ".join(f"{s} {sizes[s]}" for s in SIZES if sizes[s])
            + "; DeepWiki wiki "
            + ", ".join(f"{k} {wikis[k]}" for k in DEEPWIKI if wikis[k])
            + ")"
        )


def _benchmark() -> Holdout:
    from wikikit.code.benchmark_repos import BENCHMARK

    return Holdout([BENCHMARK])


def _read(path: Path, shown: str) -> str:
    if not path.is_file():
        raise InputError(f"{shown}: no such pool file")
    if path.stat().st_size > MAX_BYTES:
        raise InputError(f"{shown}: a pool file may be at most {MAX_BYTES >> 20} MiB")
    try:
        return decode_utf8(path.read_bytes())
    except Breach as b:
        raise InputError(f"{shown}:{b.line}:{b.col}: {b.message}") from None


def _items(text: str, shown: str) -> list[tuple[int, Any]]:
    """(line, value) of each `- {...}` line under `repos:`; InputError for anything else.

    The file is YAML, read a line at a time: after `pool: 1` and `repos:`, every line that is
    not blank or a comment is one flow mapping (each parsed alone, so a bad line is named and
    a bounded line keeps each parse small)."""
    items: list[tuple[int, Any]] = []
    header: dict[str, int] = {}
    for n, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if len(raw) > MAX_LINE_CHARS:
            raise InputError(f"{shown}:{n}: a line may be at most {MAX_LINE_CHARS} characters")
        if "repos" not in header:
            m = HEADER.match(line)
            if not m:
                raise InputError(
                    f"{shown}:{n}: expected `pool: {FORMAT}`, then `repos:`, then one "
                    "`- {repo: OWNER/NAME, ...}` a line"
                )
            key, value = m.group(1), m.group(2).strip()
            if key == "pool" and value != str(FORMAT):
                raise InputError(f"{shown}:{n}: `pool: {FORMAT}` is the only format ({value!r})")
            if key == "repos" and ("pool" not in header or value not in ("", "[]")):
                raise InputError(f"{shown}:{n}: `pool: {FORMAT}` comes first, then `repos:`")
            header[key] = n
            continue
        if not ENTRY.match(line):
            raise InputError(f"{shown}:{n}: one repository a line: - {{repo: OWNER/NAME, ...}}")
        try:
            value = yaml.load(line, Loader=_LOADER)
        except yaml.YAMLError as exc:
            raise InputError(
                f"{shown}:{n}: not valid YAML ({getattr(exc, 'problem', exc)})"
            ) from None
        items.append((n, value[0] if isinstance(value, list) and len(value) == 1 else None))
    if "repos" not in header:
        raise InputError(f"{shown}:1: a pool file holds `pool: {FORMAT}` and `repos:`")
    return items


def _url(value: str, base: Path) -> str:
    """A git URL as written; a local path resolved against the pool file's folder."""
    if is_git_url(value):
        return value
    local = Path(os.path.expanduser(value))
    return str(local if local.is_absolute() else (base / local).resolve())


def _entry(line: int, item: Any, base: Path, where: str, problems: list[str]) -> PoolRepo | None:
    def bad(message: str) -> None:
        problems.append(f"{where}:{line}: {message}")

    if not isinstance(item, dict):
        bad("an entry is a mapping: {repo: OWNER/NAME, language: ..., size: ...}")
        return None
    for key in item:
        if str(key) not in (*REQUIRED, *OPTIONAL):
            bad(f"unknown key {str(key)!r} (keys: {', '.join((*REQUIRED, *OPTIONAL))})")
            return None
    for key in REQUIRED:
        if not isinstance(item.get(key), str) or not item[key].strip():
            bad(f"missing `{key}`")
            return None
    for key in OPTIONAL:
        if key in item and not isinstance(item[key], (str, int)):
            bad(f"`{key}` must be text")
            return None
    name = item["repo"].strip()
    if not REPO_NAME.match(name):
        bad(f"`repo` must be a GitHub OWNER/NAME, not {name[:80]!r}")
        return None
    choices = {"language": LANGUAGES, "size": SIZES, "deepwiki": DEEPWIKI}
    for key, allowed in choices.items():
        value = str(item.get(key, "unknown")).strip()
        if value not in allowed:
            bad(f"{name}: `{key}` is {value!r}, not one of {', '.join(allowed)}")
            return None
    opt = {k: str(item[k]).strip() for k in OPTIONAL if item.get(k) not in (None, "")}
    return PoolRepo(
        name=name,
        language=item["language"].strip(),
        size=item["size"].strip(),
        deepwiki=str(item.get("deepwiki", "unknown")).strip(),
        url=_url(opt["url"], base) if "url" in opt else f"https://github.com/{name}",
        line=line,
        commit=opt.get("commit"),
        fork_of=opt.get("fork_of"),
        mirror_of=opt.get("mirror_of"),
    )


def _held_out_problem(entry: PoolRepo, benchmark: Holdout, holdout: Holdout) -> str | None:
    """Why `entry` may not be in a training pool (a benchmark or held-out repo), or None."""
    names = [("", entry.name)]
    if is_git_url(entry.url) and not entry.url.startswith("file://"):
        names.append(("its url ", entry.url))
    names += [(f"marked {k} ", v) for k, v in (("fork_of", entry.fork_of),
                                               ("mirror_of", entry.mirror_of)) if v]  # fmt: skip
    for how, name in names:
        row = benchmark.repo_for(name)
        held = holdout.entry_for(name) if row is None else None
        if row is None and held is None:
            continue
        what = (
            f"CodeWikiBench's {row}, held out of training (the benchmark judges it)"
            if row
            else f"held out by data.holdout ({held})"
        )
        subject = f"{entry.name}: {how}{name}, which is" if how else f"{entry.name} is"
        return f"{subject} {what}: remove the line"
    return None


def load_pool(path: str | os.PathLike, holdout: Holdout | None = None, shown: str = "") -> Pool:
    """The pool file at `path`, every line checked (module docstring); `shown` names the file
    in errors (default: the path as given)."""
    path = Path(path)
    shown = shown or str(path)
    base = path.resolve().parent
    benchmark, holdout = _benchmark(), holdout or Holdout()
    problems: list[str] = []
    repos: list[PoolRepo] = []
    seen: dict[str, int] = {}
    for line, item in _items(_read(path, shown), shown):
        entry = _entry(line, item, base, shown, problems)
        if entry is None:
            continue
        why = _held_out_problem(entry, benchmark, holdout)
        if why:
            problems.append(f"{shown}:{line}: {why}")
            continue
        key = entry.name.lower()
        if key in seen:
            problems.append(f"{shown}:{line}: {entry.name} is listed twice (line {seen[key]})")
            continue
        seen[key] = line
        repos.append(entry)
    if problems:
        more = len(problems) - MAX_REPORTED
        lines = problems[:MAX_REPORTED] + ([f"... and {more} more"] if more > 0 else [])
        raise InputError(problems[0], lines)
    return Pool(path, tuple(repos))


def pool_path(config: dict[str, Any], recipe: Any = None, key_path: Sequence = ()) -> Path | None:
    """The pool file a source's config names (`pool:`), resolved as the recipe resolves paths."""
    value = config.get("pool")
    if not value:
        return None
    if recipe is not None and hasattr(recipe, "resolve_path"):
        return Path(recipe.resolve_path(value, (*key_path, "pool")))
    return Path(value)


def source_pool(config: dict[str, Any], recipe: Any = None, key_path: Sequence = ()) -> Pool | None:
    """The pool a source names, validated against the benchmark and the recipe's holdout."""
    path = pool_path(config, recipe, key_path)
    if path is None:
        return None
    return load_pool(path, recipe_holdout(recipe), shown=_display(path))


def _display(path: Path) -> str:
    """The path as errors show it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def check_recipe(recipe: Any) -> None:
    """Every pool file the recipe's sources name (`pool:`), read and checked line by line:
    InputError (exit 2) naming FILE:LINE. wikikit's commands run it when they load a recipe."""
    sources = ((getattr(recipe, "data", None) or {}).get("data") or {}).get("sources") or {}
    checked: set[Path] = set()
    for name, cfg in sources.items() if isinstance(sources, dict) else ():
        if not isinstance(cfg, dict) or not isinstance(cfg.get("pool"), str):
            continue
        key_path = ("data", "sources", name)
        path = pool_path(cfg, recipe, key_path)
        if path is None or path in checked:
            continue
        if not path.is_file():
            raise InputError(
                f"{recipe.loc((*key_path, 'pool'))}: data.sources.{name}.pool: no such pool "
                f"file: {cfg['pool']}"
            )
        source_pool(cfg, recipe, key_path)
        checked.add(path)


def pool_repos(
    config: dict[str, Any],
    recipe: Any = None,
    key_path: Sequence = (),
    pins: PinStore | None = None,
) -> list[dict[str, Any]]:
    """The repo specs (url, name, commit when pinned) of the pool a source names (`pool:`):
    [] without one. A commit comes from the pool line, else from `pins` when it holds one."""
    pool = source_pool(config, recipe, key_path)
    if pool is None:
        return []
    return [r.spec(pins.get(r.name) if pins is not None else None) for r in pool.repos]


# -- pins --------------------------------------------------------------------------------------


def remote_head(url: str, timeout_s: float = PIN_TIMEOUT_S) -> str:
    """The commit the default branch of `url` points at now (`git ls-remote URL HEAD`)."""
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="true", LC_ALL="C")
    try:
        proc = children.run(
            ["git", "ls-remote", "--", url, "HEAD"],
            timeout_s=timeout_s, capture_output=True, text=True, env=env,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise WikikitError(f"{url}: git ls-remote took over {timeout_s:.0f} s") from None
    sha = proc.stdout.split()[0] if proc.returncode == 0 and proc.stdout.strip() else ""
    if not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", sha):
        tail = (proc.stderr or "").strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        raise WikikitError(f"{url}: cannot read its default branch's head ({tail[0]})")
    return sha


class PinStore:
    """`{name: {commit, how, url, at}}` in one JSON file, rewritten atomically at each new pin.

    `how` says where the commit came from: `head` (the default branch when first fetched),
    `deepwiki` (the commit DeepWiki's wiki documents), `pool` (the pool line's `commit`)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._lock = threading.Lock()
        self.resolved = 0  # pins asked of a remote by this process (the rest were stored)
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            loaded = {}
        self.pins: dict[str, dict[str, Any]] = {
            k: v for k, v in (loaded if isinstance(loaded, dict) else {}).items()
            if isinstance(v, dict) and isinstance(v.get("commit"), str)
        }  # fmt: skip

    def get(self, name: str) -> str | None:
        entry = self.pins.get(name.lower())
        return entry["commit"] if entry else None

    def note(self, name: str, commit: str, how: str, url: str = "") -> None:
        """Record a pin made elsewhere (a pool line's commit, DeepWiki's documented commit)."""
        with self._lock:
            entry = self.pins.get(name.lower())
            if entry and entry["commit"] == commit and entry["how"] == how:
                return
            self.pins[name.lower()] = {
                "name": name, "commit": commit, "how": how, "url": url,
                "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            }  # fmt: skip
            write_json(self.path, dict(sorted(self.pins.items())))

    def pin(self, spec: dict[str, Any]) -> str:
        """The commit `spec` (name, url, optional commit) is documented at, fixed once."""
        name = str(spec["name"])
        stored = self.get(name)
        if stored:
            return stored
        if spec.get("commit"):
            self.note(name, str(spec["commit"]), "pool", str(spec.get("url") or ""))
            return str(spec["commit"])
        commit = remote_head(str(spec["url"]))
        with self._lock:
            self.resolved += 1
        self.note(name, commit, "head", str(spec["url"]))
        return commit

    def pin_all(
        self, specs: Iterable[dict[str, Any]], parallel: int = 8
    ) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """(each spec with its pinned commit, {name: why} for those that could not be pinned)."""
        specs = list(specs)
        failed: dict[str, str] = {}

        def one(spec: dict[str, Any]) -> dict[str, Any] | None:
            try:
                return {**spec, "commit": self.pin(spec)}
            except WikikitError as exc:
                failed[str(spec["name"])] = str(exc)
                return None

        with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
            done = list(pool.map(one, specs))
        return [s for s in done if s is not None], failed
