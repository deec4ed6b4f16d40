"""Recipes: safe YAML loading with source positions, `extends`, `--set`, secrets, validation.

Every problem is reported at once as `FILE:LINE:COL: key.path: message`, pointing at the file
where the offending key was written (an inherited key points into its base file).
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from wikikit.errors import InputError
from wikikit.paths import RECIPES_DIR, REPO_ROOT, SCHEMA_DIR
from wikikit.recipe import dates
from wikikit.recipe.safe_yaml import (
    LIMITS,
    Breach,
    compose_bounded,
    read_recipe_text,
    reader_error_position,
)

ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
ANY_ENV_REF = re.compile(r"\$\{[^}]*\}")
REDACTED = "***"
_MAX_MESSAGE = 300


@dataclass(frozen=True)
class Loc:
    file: str
    line: int
    col: int

    def __str__(self) -> str:
        # line 0 marks a value that came from the command line (--set), not a file
        return f"{self.file}:{self.line}:{self.col}" if self.line else self.file


Path_ = tuple  # a key path: ("data", "sources", "trace", "repos", 0)


def key_path_str(path: Path_) -> str:
    return ".".join(str(p) for p in path) or "(recipe)"


class _Problems:
    """Collects every error so that all are reported at once."""

    def __init__(self) -> None:
        self.lines: list[tuple[tuple, str]] = []
        self.uncounted = False  # True when checking stopped before every problem was found

    def add(self, loc: Loc | None, path: Path_ | None, message: str) -> None:
        if len(message) > _MAX_MESSAGE:  # a schema message quotes the whole offending value
            message = f"{message[:_MAX_MESSAGE]}... ({len(message):,} characters)"
        where = f"{loc}: " if loc else ""
        what = f"{key_path_str(path)}: " if path is not None else ""
        sort_key = (loc.file, loc.line, loc.col) if loc else ("", 0, 0)
        self.lines.append((sort_key, f"{where}{what}{message}"))

    def raise_if_any(self) -> None:
        if self.lines:
            ordered = [text for _, text in sorted(self.lines, key=lambda x: x[0])]
            # Keep first occurrence order stable and drop exact repeats.
            ordered = list(dict.fromkeys(ordered))
            shown = ordered[: LIMITS.max_reported]
            if len(ordered) > len(shown):
                more = len(ordered) - len(shown)
                shown.append(f"... and {'at least ' if self.uncounted else ''}{more} more problems")
            raise InputError(shown[0], shown)


# ---------------------------------------------------------------- YAML with positions

_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


class NotARecipe(Exception):
    """A base file that is not a wikikit recipe; its content is never shown."""


def _unquoted(problem: str) -> str:
    """PyYAML's message without the fragments of the file it quotes ('\\t', an anchor name)."""
    return _QUOTED.sub("'...'", problem)


def _declares_recipe(root: yaml.Node | None) -> bool:
    return isinstance(root, yaml.MappingNode) and any(
        isinstance(k, yaml.ScalarNode) and k.value == "wikikit" for k, _ in root.value
    )


def _mark_loc(file: str, mark: Any) -> Loc:
    return Loc(file, mark.line + 1, mark.column + 1)


def load_yaml_with_locs(
    text: str, file: str, *, base: bool = False
) -> tuple[Any, dict[Path_, Loc]]:
    """Safe-load YAML within LIMITS, returning the data and the position of every key and item.

    `base` marks a file reached through `extends`: until it shows itself a wikikit recipe (a
    mapping with a top-level `wikikit` key) nothing from its text is quoted in an error.
    """
    problems = _Problems()
    try:
        root = compose_bounded(text)
    except Breach as b:
        raise InputError(f"{file}:{b.line}:{b.col}: {b.message}") from None
    except yaml.reader.ReaderError as exc:
        line, col = reader_error_position(exc, text)
        what = f" #x{exc.character:04x}" if isinstance(exc.character, int) else ""
        raise InputError(f"{file}:{line}:{col}: character{what} is not allowed in YAML") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = _mark_loc(file, mark) if mark else Loc(file, 1, 1)
        problem = str(exc.problem or exc)
        problems.add(loc, None, f"YAML syntax error: {_unquoted(problem) if base else problem}")
        problems.raise_if_any()
        raise AssertionError("unreachable") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{file}:1:1: YAML error: {'' if base else exc}") from None
    if base and not _declares_recipe(root):
        raise NotARecipe(file)
    locs: dict[Path_, Loc] = {(): Loc(file, 1, 1)}
    if root is None:
        return {}, locs
    constructor = yaml.SafeLoader("")

    def build(node: yaml.Node, path: Path_) -> Any:
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _PLAIN_TAGS:
            problems.add(
                _mark_loc(file, node.start_mark),
                path,
                f"tag {node.tag.replace('tag:yaml.org,2002:', '!!')} is not allowed (recipes are loaded safely and can never run code)",
            )
            return None
        if isinstance(node, yaml.MappingNode):
            try:
                constructor.flatten_mapping(node)
            except yaml.MarkedYAMLError as exc:
                problems.add(_mark_loc(file, exc.problem_mark), path, str(exc.problem))
                return {}
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = build(key_node, path)
                if isinstance(key, (dict, list)):
                    problems.add(
                        _mark_loc(file, key_node.start_mark), path, "a key must be a scalar"
                    )
                    continue
                if key in out:
                    problems.add(
                        _mark_loc(file, key_node.start_mark), path + (key,), "duplicate key"
                    )
                locs[path + (key,)] = _mark_loc(file, key_node.start_mark)
                out[key] = build(value_node, path + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            items = []
            for i, item in enumerate(node.value):
                locs[path + (i,)] = _mark_loc(file, item.start_mark)
                items.append(build(item, path + (i,)))
            return items
        try:
            return constructor.construct_object(node, deep=True)
        except Exception:  # noqa: BLE001 - PyYAML's scalar constructors raise what int(), float(),
            # base64 and re raise on a bad value (`!!float ""` is an IndexError): each a problem
            tag = str(getattr(node, "tag", "?"))
            shown = tag.replace("tag:yaml.org,2002:", "!!")
            if tag in yaml.SafeLoader.yaml_constructors:
                message = f"the value is not a valid {shown}"
            else:
                message = (
                    f"tag {shown} is not allowed (recipes are loaded safely and can never run code)"
                )
            problems.add(_mark_loc(file, node.start_mark), path, message)
            return None

    data = build(root, ())
    problems.raise_if_any()
    return data, locs


# ---------------------------------------------------------------- extends and overrides


def deep_merge(base: Any, child: Any) -> Any:
    """Maps merge key by key; anything else (lists included) is replaced by the child."""
    if isinstance(base, dict) and isinstance(child, dict):
        out = dict(base)
        for k, v in child.items():
            out[k] = deep_merge(base[k], v) if k in base else v
        return out
    return child


def _merge_locs(base_locs: dict, child_locs: dict, child: Any) -> dict:
    out = {}
    for path, loc in base_locs.items():
        # A base position survives only where the child did not replace that value wholesale.
        node, replaced = child, False
        for part in path:
            if isinstance(node, dict) and part in node:
                node = node[part]
                if not isinstance(node, dict):
                    replaced = True
                    break
            else:
                break
        if not replaced:
            out[path] = loc
    out.update({p: loc for p, loc in child_locs.items() if p != ()})
    out[()] = child_locs[()]
    return out


def allowed_roots(declaring_dir: Path, *extra: tuple[str, Path]) -> list[tuple[str, Path]]:
    """The folders a recipe's paths may reach, each with the rule that allows it.

    The declaring recipe's folder, the working directory, `extra` (what the caller adds: the
    shipped recipes for `extends`, the project for a shipped recipe's paths) and every folder
    in WIKIKIT_ALLOWED_ROOTS (os.pathsep-separated).
    """
    roots = [
        ("the recipe's folder", declaring_dir.resolve()),
        ("the working directory", Path.cwd().resolve()),
        *((name, root.resolve()) for name, root in extra),
    ]
    roots += [
        ("WIKIKIT_ALLOWED_ROOTS", Path(r).resolve())
        for r in os.environ.get("WIKIKIT_ALLOWED_ROOTS", "").split(os.pathsep)
        if r
    ]
    return roots


def _inside(path: Path, roots: list[tuple[str, Path]]) -> bool:
    return any(path == r or r in path.parents for _, r in roots)


def _roots_text(roots: list[tuple[str, Path]]) -> str:
    names = list(dict.fromkeys(name for name, _ in roots))
    if "WIKIKIT_ALLOWED_ROOTS" not in names:
        names.append("WIKIKIT_ALLOWED_ROOTS (not set)")
    return ", ".join(names)


def _refusal(value: str, roots: list[tuple[str, Path]]) -> str:
    """Which rule refused a path, without saying anything about what lies there."""
    if Path(value).is_absolute() or value.startswith("~"):
        how = "is outside"
    elif ".." in Path(value).parts:
        how = "climbs out (..) of"
    else:
        how = "is a symbolic link that leads outside"
    return (
        f"{value} {how} the allowed roots: {_roots_text(roots)}; "
        "nothing outside them is opened (add a folder to WIKIKIT_ALLOWED_ROOTS to allow it)"
    )


def _resolve_extends(value: str, declaring: Path, loc: Loc) -> Path | None:
    """The base file `extends: value` names, confined to the roots before anything is opened."""
    if not value.strip() or "\x00" in value:
        raise InputError(f"{loc}: extends: must name a file (got an empty path or a NUL byte)")
    roots = allowed_roots(declaring.parent, ("the shipped recipes", RECIPES_DIR))
    p = Path(os.path.expanduser(value) if value.startswith("~") else value)
    try:
        direct = (p if p.is_absolute() else declaring.parent / p).resolve()
        if not _inside(direct, roots):
            raise InputError(f"{loc}: extends: {_refusal(value, roots)}")
        if direct.is_file():
            return direct
        for name in (value, f"{value}.yaml", f"{value}.yml"):
            shipped = (RECIPES_DIR / name).resolve()
            if RECIPES_DIR in shipped.parents and shipped.is_file():
                return shipped
    except OSError as exc:  # a name too long for the file system, and the like
        raise InputError(f"{loc}: extends: cannot use this path ({exc.strerror})") from None
    return None


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def _load_chain(path: Path, stack: tuple[Path, ...]) -> tuple[Any, dict[Path_, Loc], list[Path]]:
    file = _display(path)
    text = read_recipe_text(path, file)
    data, locs = load_yaml_with_locs(text, file, base=bool(stack))
    if not isinstance(data, dict):
        raise InputError(
            f"{file}:1:1: a recipe must be a mapping of keys (got {type(data).__name__})"
        )
    ext = data.get("extends")
    if ext is None:
        return data, locs, [path]
    loc = locs.get(("extends",))
    if not isinstance(ext, str):
        raise InputError(f"{loc}: extends: must be a path or a shipped recipe name")
    if len(stack) >= LIMITS.max_extends:
        raise InputError(f"{loc}: extends: more than {LIMITS.max_extends} levels of extends")
    base_path = _resolve_extends(ext, path, loc)
    if base_path is None:
        raise InputError(
            f"{loc}: extends: base recipe '{ext}' not found (relative to {file}, or in {_display(RECIPES_DIR)})"
        )
    if base_path in stack or base_path == path:
        chain = " -> ".join(_display(p) for p in (*stack, path, base_path))
        raise InputError(f"{loc}: extends: cycle: {chain}")
    try:
        base, base_locs, files = _load_chain(base_path, (*stack, path))
    except NotARecipe:
        raise InputError(
            f"{loc}: extends: {ext} is not a wikikit recipe (it has no top-level `wikikit:` "
            "key); its content is not shown"
        ) from None
    merged = deep_merge(base, {k: v for k, v in data.items() if k != "extends"})
    merged_locs = _merge_locs(base_locs, locs, data)
    return merged, merged_locs, [*files, path]


def parse_override(text: str) -> tuple[Path_, Any]:
    if "=" not in text:
        raise InputError(f"--set {text}: expected KEY.PATH=VALUE")
    key, raw = text.split("=", 1)
    parts = [p for p in key.strip().split(".")]
    if not all(parts):
        raise InputError(f"--set {text}: empty key in '{key}'")
    try:
        node = compose_bounded(raw) if raw.strip() else None
        value = yaml.SafeLoader("").construct_document(node) if node is not None else ""
    except Breach as b:
        raise InputError(f"--set {text}: {b.message}") from None
    except yaml.YAMLError as exc:
        detail = getattr(exc, "problem", None) or str(exc).split("\n", 1)[0]
        raise InputError(f"--set {text}: value is not valid YAML: {detail}") from None
    except Exception as exc:  # noqa: BLE001 - a bad `!!float ""` and the like (see build())
        raise InputError(f"--set {text}: value is not valid YAML ({type(exc).__name__})") from None
    return tuple(int(p) if p.isdigit() else p for p in parts), value


def apply_override(data: dict, path: Path_, value: Any, source: str) -> None:
    node: Any = data
    for i, part in enumerate(path[:-1]):
        if isinstance(node, dict):
            node = node.setdefault(part, {})
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            raise InputError(
                f"{source}: {key_path_str(path[: i + 1])}: cannot set inside a {type(node).__name__}"
            )
    last = path[-1]
    if (
        isinstance(node, dict)
        or isinstance(node, list)
        and isinstance(last, int)
        and last < len(node)
    ):
        node[last] = value
    else:
        raise InputError(
            f"{source}: {key_path_str(path)}: cannot set inside a {type(node).__name__}"
        )


# ---------------------------------------------------------------- schema


@cache
def load_schema(name: str = "recipe") -> dict:
    return json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def secret_keys() -> frozenset[str]:
    """Property names the schema marks secret (`x-secret: true`)."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in (node.get("properties") or {}).items():
                if isinstance(v, dict) and v.get("x-secret"):
                    names.add(k)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(load_schema("recipe"))
    return frozenset(names)


def _loc_for(locs: dict[Path_, Loc], path: Path_) -> Loc:
    path = tuple(path)
    while path not in locs and path:
        path = path[:-1]
    return locs[path]


def _schema_problems(data: dict, locs: dict[Path_, Loc], problems: _Problems) -> None:
    validator = jsonschema.Draft202012Validator(load_schema("recipe"))
    # Enough to sort and report the first max_reported; a stranger's 20,000 wrong items stop here.
    cap = 20 * LIMITS.max_reported
    for n, err in enumerate(validator.iter_errors(data), 1):
        _report_schema_error(err, locs, problems)
        if n >= cap:
            problems.uncounted = True
            break


# Keys that moved: the error says where they went.
MOVED_KEYS = {
    "holdout": "held-out repositories are named once, in data.holdout, for every source "
    "and the eval stage: move the names there",
}


def _report_schema_error(err: jsonschema.ValidationError, locs: dict, problems: _Problems) -> None:
    path = tuple(err.absolute_path)
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = list((err.schema.get("properties") or {}).keys())
        for key in err.instance:
            if key not in allowed:
                hint = difflib.get_close_matches(str(key), allowed, n=1)
                extra = f" (did you mean '{hint[0]}'?)" if hint else ""
                if key in MOVED_KEYS and path[:2] == ("data", "sources"):
                    extra = f" ({MOVED_KEYS[key]})"
                problems.add(
                    _loc_for(locs, path + (key,)), path + (key,), f"unknown key '{key}'{extra}"
                )
        return
    if err.validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", err.message)
        name = missing[0] if missing else err.message
        problems.add(_loc_for(locs, path), path, f"missing required key '{name}'")
        return
    if err.validator in ("oneOf", "anyOf") and err.context:
        if all(e.validator == "required" for e in err.context):  # one of these keys is needed
            keys = [
                k for e in err.context for k in re.findall(r"'([^']+)' is a required", e.message)
            ]
            alts = " or ".join(f"'{k}'" for k in keys[1:])
            extra = f" (or {alts})" if alts else ""
            problems.add(_loc_for(locs, path), path, f"missing required key '{keys[0]}'{extra}")
            return
        best = jsonschema.exceptions.best_match(err.context)
        problems.add(_loc_for(locs, path), path, f"{best.message}")
        return
    if err.validator == "propertyNames" and err.context:
        problems.add(_loc_for(locs, path), path, err.context[0].message)
        return
    problems.add(_loc_for(locs, path), path, err.message)


def _semantic_problems(data: dict, locs: dict[Path_, Loc], problems: _Problems) -> None:
    d = data.get("data")
    if isinstance(d, dict):
        mix, sources = d.get("mix"), d.get("sources")
        if isinstance(mix, dict) and mix:
            weights = [b.get("weight") for b in mix.values() if isinstance(b, dict)]
            if all(isinstance(w, (int, float)) for w in weights):
                total = sum(weights)
                if abs(total - 1.0) > 1e-6:
                    problems.add(
                        _loc_for(locs, ("data", "mix")),
                        ("data", "mix"),
                        f"bucket weights sum to {total:g}, not 1",
                    )
            defined = set(sources) if isinstance(sources, dict) else set()
            for bname, bucket in mix.items():
                srcs = bucket.get("sources") if isinstance(bucket, dict) else None
                for i, s in enumerate(srcs if isinstance(srcs, list) else []):
                    if isinstance(s, str) and s not in defined:
                        p = ("data", "mix", bname, "sources", i)
                        hint = difflib.get_close_matches(s, sorted(defined), n=1)
                        extra = f" (did you mean '{hint[0]}'?)" if hint else ""
                        problems.add(
                            _loc_for(locs, p),
                            p,
                            f"source '{s}' is not defined in data.sources{extra}",
                        )
        split = d.get("split")
        if isinstance(split, dict):
            parts = [split.get(k) for k in ("train", "validation", "test")]
            if all(isinstance(x, (int, float)) for x in parts) and abs(sum(parts) - 1.0) > 1e-6:
                problems.add(
                    _loc_for(locs, ("data", "split")),
                    ("data", "split"),
                    f"split fractions sum to {sum(parts):g}, not 1",
                )
    model = data.get("model")
    if isinstance(model, dict) and "current_date" in model:
        why = dates.problem(model["current_date"])
        if why:  # "model.current_date[.from|.to]: why"
            key, message = why.split(": ", 1)
            path = tuple(key.split("."))
            problems.add(_loc_for(locs, path), path, message)
    _interpolation_problems(data, (), locs, problems)


def _interpolation_problems(node: Any, path: Path_, locs: dict, problems: _Problems) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            p = path + (k,)
            if k in secret_keys() and isinstance(v, str):
                if not ENV_REF.match(v):
                    problems.add(
                        _loc_for(locs, p),
                        p,
                        "secret fields take only an environment reference like ${API_KEY}; never write a secret into a recipe",
                    )
                continue
            _interpolation_problems(v, p, locs, problems)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _interpolation_problems(v, path + (i,), locs, problems)
    elif isinstance(node, str) and ANY_ENV_REF.search(node):
        problems.add(
            _loc_for(locs, path), path, "${...} interpolation is only allowed in secret fields"
        )


# ---------------------------------------------------------------- the Recipe


def _canonical(obj: Any) -> bytes:
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode()


def redact(node: Any) -> Any:
    """A copy with every secret field's value replaced by ***."""
    if isinstance(node, dict):
        return {
            k: (REDACTED if k in secret_keys() and v is not None else redact(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [redact(v) for v in node]
    return node


@dataclass
class Recipe:
    data: dict[str, Any]
    path: Path
    locs: dict[Path_, Loc] = field(repr=False)
    files: list[Path] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def seed(self) -> int:
        return int(self.data.get("seed", 0))

    @property
    def stages(self) -> list[str]:
        return list(self.data.get("stages") or ["data", "train", "package", "eval"])

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(_canonical(redact(self.data))).hexdigest()

    def fingerprint_of(self, keys: tuple[str, ...]) -> str:
        return hashlib.sha256(_canonical({k: redact(self.data.get(k)) for k in keys})).hexdigest()

    def loc(self, key_path: Path_) -> Loc:
        return _loc_for(self.locs, key_path)

    def get(self, key_path: Path_, default: Any = None) -> Any:
        node: Any = self.data
        for part in key_path:
            if (
                isinstance(node, dict)
                and part in node
                or isinstance(node, list)
                and isinstance(part, int)
                and part < len(node)
            ):
                node = node[part]
            else:
                return default
        return node

    def resolve_path(self, value: str | os.PathLike, key_path: Path_) -> Path:
        """A path from the recipe, relative to the file that declared it, confined to allowed roots.

        Allowed roots: the declaring recipe's folder, the working directory, and any folder in
        WIKIKIT_ALLOWED_ROOTS (os.pathsep-separated). A shared recipe cannot reach elsewhere.
        """
        loc = self.loc(key_path)
        if "\x00" in str(value):
            raise InputError(f"{loc}: {key_path_str(key_path)}: a path cannot hold a NUL byte")
        declaring = Path(loc.file)
        base = (
            declaring.parent
            if declaring.is_file() or declaring.suffix in (".yaml", ".yml")
            else self.path.parent
        )
        p = Path(os.path.expanduser(str(value))) if str(value).startswith("~") else Path(value)
        try:
            resolved = (p if p.is_absolute() else (base / p)).resolve()
        except OSError as exc:  # a name too long for the file system, and the like
            raise InputError(
                f"{loc}: {key_path_str(key_path)}: cannot use this path ({exc.strerror})"
            ) from None
        shipped = base.resolve() == RECIPES_DIR or RECIPES_DIR in base.resolve().parents
        # shipped recipes may read the project's own files
        roots = allowed_roots(base, *([("the project", REPO_ROOT)] if shipped else []))
        if not _inside(resolved, roots):
            raise InputError(
                f"{loc}: {key_path_str(key_path)}: {value} is outside the recipe's folder and the working "
                "directory; allow it with WIKIKIT_ALLOWED_ROOTS"
            )
        return resolved

    def secret(self, key_path: Path_) -> str | None:
        """The secret's value from the environment, at the moment a stage needs it."""
        ref = self.get(key_path)
        if ref is None:
            return None
        m = ENV_REF.match(str(ref))
        if not m:  # validation already rejects this; never return a literal
            raise InputError(
                f"{self.loc(key_path)}: {key_path_str(key_path)}: not an environment reference"
            )
        value = os.environ.get(m.group(1))
        if not value:
            raise InputError(
                f"{self.loc(key_path)}: {key_path_str(key_path)}: environment variable {m.group(1)} is not set"
            )
        return value

    def redacted(self) -> dict[str, Any]:
        return redact(self.data)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.redacted(), sort_keys=False, allow_unicode=True, width=100)


def load_recipe(path: str | os.PathLike, overrides: tuple[str, ...] | list[str] = ()) -> Recipe:
    """Load, extend, override and validate a recipe; raises InputError listing every problem."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such recipe file")
    path = path.resolve()
    data, locs, files = _load_chain(path, ())
    data = copy.deepcopy(data)
    data.pop("extends", None)
    for text in overrides:
        key_path, value = parse_override(text)
        apply_override(data, key_path, value, f"--set {text}")
        locs = {p: loc for p, loc in locs.items() if p[: len(key_path)] != key_path}
        for j in range(1, len(key_path) + 1):
            locs.setdefault(key_path[:j], Loc(f"--set {text}", 0, 0))
        locs[key_path] = Loc(f"--set {text}", 0, 0)
    problems = _Problems()
    _schema_problems(data, locs, problems)
    _semantic_problems(data, locs, problems)
    problems.raise_if_any()
    return Recipe(data=data, path=path, locs=locs, files=files)
