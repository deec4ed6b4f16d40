"""A property-based fuzzer (hypothesis) over the recipe loader and validator (issue 20).

Each example is a recipe drawn from schemas/recipe.schema.json, then mutated: values of the
wrong type, unknown and missing keys, deep nesting, shared subtrees (which YAML writes as
anchors and aliases, up to nine levels of nine: a "billion laughs"), `extends` to every kind of
path (outside the roots, `..`, a symlink out, devices, cycles, shipped names), tags (Python
objects, !!binary, !!set, custom), raw YAML fragments, byte edits, truncation, sizes around the
limit, other encodings (UTF-16/32, Latin-1, BOMs), and `--set` overrides. The real command line
(`wikikit validate`) runs on it in this process, under an audit hook, and must:

- exit 0 or 2, never 1 and never a traceback; every error line is `error: FILE:LINE:COL: ...`
  (or `--set ...:`);
- finish each example in under 2 s of CPU time, allocating under 200 MB at its peak (tracemalloc);
- write nothing, and open nothing outside the recipe's folder, the working directory, the
  project's own code, schemas and recipes, and the interpreter's files;
- never print the content of a file it must not quote.

CI runs a fixed number of examples with a fixed seed (tests/test_recipe_fuzz.py); by hand:

    python tests/recipe_fuzz.py --examples 20000            # a fresh random seed each run
    python tests/recipe_fuzz.py --examples 300 --seed 20    # what CI runs

It prints a JSON report (examples run, exit codes, the kinds of error seen, the slowest example,
peak memory) and exits 1 with hypothesis's shrunk falsifying example if a property fails.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import re
import resource
import signal
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from audited_cli import Audit, cap_memory, interpreter_roots, outside, project_roots
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import seed as fixed_seed
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from wikikit.cli import cli
from wikikit.paths import REPO_ROOT
from wikikit.recipe.load import load_schema
from wikikit.recipe.safe_yaml import LIMITS

SECONDS_PER_EXAMPLE = 2.0
PEAK_MB_PER_EXAMPLE = 200  # Python memory allocated at the peak of one validate (tracemalloc)
SECRET_OUTSIDE = "outside-secret-9c2e"
SECRET_NOTES = "notes-secret-51ab"
ERROR_LINE = re.compile(r"^error: (?:[^:]+:\d+:\d+: |--set .*?: |\.\.\. and )")
SCHEMA = load_schema("recipe")

# ---------------------------------------------------------------- the world it runs in


@dataclass
class World:
    """team/ holds the recipe (its folder), work/ is the working directory, outside/ is private."""

    root: Path
    team: Path = field(init=False)
    work: Path = field(init=False)
    private: Path = field(init=False)

    def __post_init__(self) -> None:
        self.team, self.work, out = self.root / "team", self.root / "work", self.root / "outside"
        for d in (self.team, self.work, out, self.team / "sub"):
            d.mkdir(parents=True, exist_ok=True)
        self.private = out / "private.yaml"
        self.private.write_text(f"wikikit: 1\nname: {SECRET_OUTSIDE}\nseed: x\n")
        (self.team / "base.yaml").symlink_to(self.private)
        (self.team / "notes.yaml").write_text(f"token: {SECRET_NOTES}\nmodel: {{base: 1}}\n")
        (self.team / "team-base.yaml").write_text("wikikit: 1\nname: tb\nseed: 3\n")
        (self.team / "loop.yaml").write_text("wikikit: 1\nname: loop\nextends: recipe.yaml\n")
        (self.work / "w.yaml").write_text("wikikit: 1\nname: w\nextends: demo\n")

    @property
    def recipe(self) -> Path:
        return self.team / "recipe.yaml"

    def allowed(self) -> list[Path]:
        return [self.team, self.work, *project_roots(REPO_ROOT), *interpreter_roots()]

    def extends_targets(self) -> list[str]:
        return [
            str(self.private),
            "../outside/private.yaml",
            "sub/../../outside/private.yaml",
            "base.yaml",
            "notes.yaml",
            "team-base.yaml",
            "loop.yaml",
            "recipe.yaml",
            "sub",
            "missing.yaml",
            str(self.work / "w.yaml"),
            "demo",
            "semanticwiki-gpt-oss-20b",
            "base/gpt-oss",
            "base/gpt-oss.yaml",
            "../recipes/demo.yaml",
            "/dev/zero",
            "/proc/self/environ",
            "/etc/passwd",
            "~/.bashrc",
            "/",
            ".",
            "",
        ]


# ---------------------------------------------------------------- recipes from the schema


def _deref(node: dict) -> dict:
    while "$ref" in node:
        target = SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _scalar() -> st.SearchStrategy:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.text(max_size=16),
        st.sampled_from(["", "${HOME}", "${ANTHROPIC_API_KEY}", "~", 10**40, -1, 0.5]),
    )


def from_schema(node: dict, depth: int = 0) -> st.SearchStrategy:
    """Values that the schema accepts (mostly: cross-field rules are the mutations' job)."""
    node = _deref(node)
    parts = node.get("allOf") or []
    if parts and all("then" in p for p in parts):  # the `source` kind dispatch
        return st.one_of([from_schema(p["then"], depth) for p in parts])
    if "const" in node:
        return st.just(node["const"])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    for key in ("oneOf", "anyOf"):
        if key in node:
            rest = {k: v for k, v in node.items() if k != key}
            return st.one_of([from_schema({**rest, **alt}, depth) for alt in node[key]])
    kind = node.get("type")
    if isinstance(kind, list):
        return st.one_of([from_schema({**node, "type": k}, depth) for k in kind])
    if kind == "object" or "properties" in node:
        props = node.get("properties") or {}
        required = {
            k: from_schema(props[k], depth + 1) for k in node.get("required", []) if k in props
        }
        optional = (
            {k: from_schema(v, depth + 1) for k, v in props.items() if k not in required}
            if depth < 5
            else {}
        )
        fixed = st.fixed_dictionaries(required, optional=optional)
        extra = node.get("additionalProperties")
        if isinstance(extra, dict) and depth < 5:
            names = node.get("propertyNames", {}).get("enum")
            keys = (
                st.sampled_from(names)
                if names
                else st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
            )
            more = st.dictionaries(
                keys,
                from_schema(extra, depth + 1),
                min_size=node.get("minProperties", 0),
                max_size=3,
            )
            return st.tuples(fixed, more).map(lambda fm: {**fm[1], **fm[0]})
        return fixed
    if kind == "array":
        return st.lists(
            from_schema(node.get("items") or {}, depth + 1),
            min_size=node.get("minItems", 0),
            max_size=max(node.get("minItems", 0), min(node.get("maxItems", 3), 3)),
        )
    if kind == "string":
        if "pattern" in node:
            return st.from_regex(node["pattern"], fullmatch=True)
        return st.text(min_size=node.get("minLength", 0), max_size=24)
    if kind == "integer":
        low = node.get("minimum", node.get("exclusiveMinimum", -(10**6)) + 1)
        return st.integers(min_value=low, max_value=node.get("maximum", 10**9))
    if kind == "number":
        return st.floats(
            min_value=node.get("minimum", node.get("exclusiveMinimum")),
            max_value=node.get("maximum"),
            exclude_min="exclusiveMinimum" in node,
            allow_nan=False,
            allow_infinity=False,
        )
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    return _scalar()


# ---------------------------------------------------------------- mutations


def _slots(tree: Any, limit: int = 400) -> list[tuple[Any, Any]]:
    """(container, key) for values in the tree, breadth first, each container once."""
    out, queue, seen = [], [tree], set()
    while queue and len(out) < limit:
        node = queue.pop(0)
        if id(node) in seen:
            continue
        seen.add(id(node))
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for k, v in list(items):
            out.append((node, k))
            if isinstance(v, (dict, list)):
                queue.append(v)
    return out


def _containers(tree: Any) -> list[Any]:
    found = [tree]
    for parent, key in _slots(tree):
        v = parent[key]
        if isinstance(v, (dict, list)):
            found.append(v)
    return found


def _nested(depth: int, as_map: bool) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"k": value} if as_map else [value]
    return value


def _laughs(levels: int, fanout: int) -> Any:
    node: Any = ["lol"] * fanout
    for _ in range(levels):
        node = [node] * fanout  # the same list n times: the YAML has an anchor and n aliases
    return node


def mutate_tree(draw: Any, tree: dict, world: World) -> tuple[dict, list[str]]:
    done = []
    for op in draw(st.lists(st.sampled_from(TREE_OPS), max_size=4)):
        slots = _slots(tree)
        if op == "retype" and slots:
            parent, key = draw(st.sampled_from(slots))
            parent[key] = draw(
                _scalar()
                | st.lists(_scalar(), max_size=3)
                | st.dictionaries(st.text(max_size=5), _scalar(), max_size=2)
            )
        elif op == "unknown-key":
            target = draw(st.sampled_from([c for c in _containers(tree) if isinstance(c, dict)]))
            base = draw(st.sampled_from(sorted(map(str, target)) or ["x"]))
            i = draw(st.integers(0, len(base)))
            target[base[:i] + draw(st.sampled_from("aex_")) + base[i + 1 :]] = draw(_scalar())
        elif op == "drop-key":
            dicts = [c for c in _containers(tree) if isinstance(c, dict) and c]
            if dicts:
                target = draw(st.sampled_from(dicts))
                target.pop(draw(st.sampled_from(sorted(target, key=str))))
        elif op == "nest" and slots:
            parent, key = draw(st.sampled_from(slots))
            parent[key] = _nested(draw(st.integers(1, 150)), draw(st.booleans()))
        elif op == "share" and len(slots) > 1:
            (pa, ka), (pb, kb) = draw(st.lists(st.sampled_from(slots), min_size=2, max_size=2))
            pb[kb] = pa[ka]  # the same object twice: an anchor and an alias
        elif op == "laughs" and slots:
            parent, key = draw(st.sampled_from(slots))
            parent[key] = _laughs(draw(st.integers(1, 9)), draw(st.integers(2, 9)))
        elif op == "extends":
            tree["extends"] = draw(st.sampled_from(world.extends_targets()) | st.text(max_size=12))
        else:
            continue
        done.append(op)
    return tree, done


TREE_OPS = ["retype", "unknown-key", "drop-key", "nest", "share", "laughs", "extends"]
TAGS = [
    "!!python/object/apply:os.system ['true']",
    "!!python/name:os.getcwd",
    "!!python/object:pathlib.Path {}",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!omap [a: 1]",
    "!!timestamp 2001-12-14",
    "!!float",
    "!!int",
    "!!str",
    "!!null",
    "!!map",
    "!!seq",
    "!custom",
    "!<tag:example.com,2000:x>",
]
FRAGMENTS = [
    "2001-12-14t21:59:43.10-05:00",
    "1e400",
    ".nan",
    "-.inf",
    "0o17",
    "0x1F",
    "1_000",
    "yes",
    "~",
    "'unterminated",
    '"\\x',
    '"\\U0010ffff"',
    "*undefined",
    "&a 1",
    "&a [*a]",
    "{",
    "[",
    "]",
    "- - -",
    "? [a, b]\n: c",
    "|",
    ">-\n  folded",
    "%YAML 1.1",
    "---",
    "...",
    "{<<: {a: 1}}",
    "{<<: [*a]}",
    "@reserved",
    "`backtick",
    "\t",
    "\x85",
    "\ufeff",
    "\x00",
    "\x07",
    "\ud7ff",
]
TEXT_OPS = [
    "tag",
    "fragment",
    "deep-text",
    "long-comment",
    "long-scalar",
    "dup-line",
    "indent",
    "truncate",
]
ENCODINGS = ["utf-8"] * 6 + ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1"]


def mutate_text(draw: Any, text: str) -> tuple[str, list[str]]:
    done = []
    for op in draw(st.lists(st.sampled_from(TEXT_OPS), max_size=3)):
        lines = text.split("\n")
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        line = lines[i]
        if op in ("tag", "fragment", "deep-text"):
            add = {
                "tag": lambda: draw(st.sampled_from(TAGS)),
                "fragment": lambda: draw(st.sampled_from(FRAGMENTS)),
                "deep-text": lambda: (lambda d: "[" * d + "]" * d)(draw(st.integers(1, 20_000))),
            }[op]()
            if ": " in line:
                head, _, tail = line.partition(": ")
                lines[i] = f"{head}: {add}" + (
                    "" if op == "deep-text" or draw(st.booleans()) else f" {tail}"
                )
            else:
                lines[i] = f"{line} {add}"
        elif op == "long-comment":
            lines.insert(i, "# " + "x" * draw(st.integers(0, LIMITS.max_bytes + 1024)))
        elif op == "long-scalar":
            lines.insert(i, "long: " + "y" * draw(st.integers(0, LIMITS.max_bytes + 1024)))
        elif op == "dup-line":
            lines.insert(i, line)
        elif op == "indent":
            lines[i] = " " * draw(st.integers(1, 7)) + line
        elif op == "truncate":
            cut = draw(st.integers(0, len(text)))
            text = text[:cut]
            done.append(op)
            continue
        text = "\n".join(lines)
        done.append(op)
    return text, done


def mutate_bytes(draw: Any, data: bytes) -> tuple[bytes, list[str]]:
    done = []
    for op in draw(st.lists(st.sampled_from(["insert", "delete", "flip"]), max_size=2)):
        pos = draw(st.integers(0, len(data)))
        if op == "insert":
            data = data[:pos] + draw(st.binary(min_size=1, max_size=4)) + data[pos:]
        elif op == "delete":
            data = data[:pos] + data[pos + draw(st.integers(1, 8)) :]
        elif pos < len(data):
            data = (
                data[:pos] + bytes([data[pos] ^ (1 << draw(st.integers(0, 7)))]) + data[pos + 1 :]
            )
        done.append(f"bytes-{op}")
    return data, done


SET_KEYS = [
    "seed",
    "name",
    "data.size",
    "train.lora.r",
    "eval.tasks",
    "extends",
    "model",
    "x.y.z",
    "data.mix.a.weight",
]


@dataclass
class Case:
    raw: bytes
    overrides: list[str]
    ops: list[str]
    encoding: str

    def __repr__(self) -> str:
        head = self.raw[:600]
        more = f" ... ({len(self.raw)} bytes)" if len(self.raw) > 600 else ""
        return f"Case(ops={self.ops}, encoding={self.encoding!r}, overrides={self.overrides!r}, raw={head!r}{more})"


def cases(world: World) -> st.SearchStrategy:
    @st.composite
    def build(draw: Any) -> Case:
        tree = draw(from_schema(SCHEMA))
        tree, ops = mutate_tree(draw, tree, world)
        text = yaml.safe_dump(
            tree,
            default_flow_style=draw(st.sampled_from([False, True, None])),
            sort_keys=draw(st.booleans()),
            allow_unicode=draw(st.booleans()),
            width=draw(st.sampled_from([80, 10**6])),
        )
        text, text_ops = mutate_text(draw, text)
        encoding = draw(st.sampled_from(ENCODINGS))
        raw = text.encode(encoding, errors="replace")
        raw, byte_ops = mutate_bytes(draw, raw)
        overrides = draw(
            st.lists(
                st.tuples(
                    st.sampled_from(SET_KEYS),
                    st.sampled_from(FRAGMENTS + TAGS)
                    | st.text(max_size=10)
                    | st.just("[" * 200 + "]" * 200),
                ).map(lambda kv: f"{kv[0]}={kv[1]}"),
                max_size=2,
            )
        )
        return Case(raw, overrides, ops + text_ops + byte_ops, encoding)

    return build()


# ---------------------------------------------------------------- the properties


class ExampleTimeout(BaseException):
    """Raised by the alarm in a runaway example (a BaseException: the CLI cannot swallow it)."""


def _alarm(signum: int, frame: Any) -> None:
    raise ExampleTimeout(f"still running after {5 * SECONDS_PER_EXAMPLE:.0f} s of CPU time")


@dataclass
class Stats:
    examples: int = 0
    exits: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    ops: Counter = field(default_factory=Counter)
    slowest_s: float = 0.0
    slowest_wall_s: float = 0.0
    slow_once: int = 0  # examples over the CPU bound once, under it when run again
    slowest: str = ""
    peak_mb: float = 0.0
    slowest_raw: bytes = b""
    runaways: list[bytes] = field(default_factory=list)


def _kind(line: str) -> str:
    """An error line reduced to its kind: no place, no quoted values, no numbers."""
    text = ERROR_LINE.sub("", line)
    text = re.sub(r"^[\w.$-]+: ", "", text)  # the key path
    text = re.sub(r"'[^']*'|\"[^\"]*\"|\[[^\]]*\]|\d[\d,.]*", "_", text)
    return " ".join(text.split()[:7])


def check(case: Case, world: World, audit: Audit, stats: Stats) -> None:
    world.recipe.write_bytes(case.raw)
    args = ["validate", str(world.recipe)] + [a for o in case.overrides for a in ("--set", o)]
    runner = CliRunner()
    audit.clear()
    # The fuzzer's own heap (hypothesis keeps every example) out of the garbage collector's
    # walks, so that a collection during the example costs what the example allocated only.
    gc.freeze()
    tracemalloc.start()
    audit.recording = True
    start, cpu_start = time.perf_counter(), time.process_time()
    # CPU time, not wall time: a machine shared with other work must not fail an example.
    signal.setitimer(signal.ITIMER_PROF, 5 * SECONDS_PER_EXAMPLE)
    try:
        result = runner.invoke(cli, args, catch_exceptions=True)
    except ExampleTimeout as exc:
        stats.runaways.append(case.raw)
        raise AssertionError(f"{exc}: {case!r}") from None
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        audit.recording = False
        seconds = time.process_time() - cpu_start
        wall = time.perf_counter() - start
        peak_mb = tracemalloc.get_traced_memory()[1] / (1 << 20)
        tracemalloc.stop()
    if seconds >= SECONDS_PER_EXAMPLE:
        # Slow once can be the process (a collection, a cache filling); a runaway is slow again.
        stats.slow_once += 1
        again = time.process_time()
        runner.invoke(cli, args, catch_exceptions=True)
        seconds = min(seconds, time.process_time() - again)
    stats.peak_mb = max(stats.peak_mb, peak_mb)
    stats.slowest_wall_s = max(stats.slowest_wall_s, wall)
    stats.examples += 1
    stats.exits[result.exit_code] += 1
    stats.ops.update(case.ops)
    if seconds > stats.slowest_s:
        stats.slowest_s, stats.slowest, stats.slowest_raw = seconds, repr(case)[:400], case.raw
    out = result.stdout + result.stderr
    assert result.exit_code in (0, 2), f"exit {result.exit_code}: {out[-800:]} {result.exception!r}"
    assert "Traceback" not in out and "internal error" not in out, out[-800:]
    if result.exit_code == 2:
        lines = result.stderr.splitlines()
        assert lines and all(ERROR_LINE.match(ln) for ln in lines), lines[:5]
        stats.errors.update({_kind(lines[0])})
    assert SECRET_OUTSIDE not in out and SECRET_NOTES not in out, out[-800:]
    assert seconds < SECONDS_PER_EXAMPLE, f"{seconds:.2f} s of CPU time ({wall:.2f} s wall)"
    assert peak_mb < PEAK_MB_PER_EXAMPLE, f"peak memory {peak_mb:.0f} MB"
    assert audit.writes == [], audit.writes
    assert not [p for p in audit.opened if "outside" in Path(p).parts], audit.opened
    assert outside(audit.opened, world.allowed()) == []


def _failures(exc: BaseException) -> list[str]:
    """Each distinct failure with hypothesis's falsifying example (kept in the exception's notes)."""
    group = exc.exceptions if isinstance(exc, BaseExceptionGroup) else [exc]
    return [
        f"{type(e).__name__}: {str(e)[:1500]} | " + " ".join(getattr(e, "__notes__", []))[:3000]
        for e in group
    ]


def run(examples: int, seed: int) -> tuple[dict[str, Any], Stats]:
    audit = Audit()
    audit.recording = False
    audit.install()
    signal.signal(signal.SIGPROF, _alarm)
    stats = Stats()
    failure = None
    with tempfile.TemporaryDirectory(prefix="wikikit-fuzz-") as tmp:
        world = World(Path(tmp))
        set_hypothesis_home_dir(str(Path(tmp) / "hypothesis"))  # its own files, not in the cwd
        cwd = os.getcwd()
        os.chdir(world.work)
        started = time.perf_counter()

        @fixed_seed(seed)
        @settings(
            max_examples=examples,
            database=None,  # writes nothing: no .hypothesis/ folder
            deadline=None,  # time is a property of its own, measured around the command only
            suppress_health_check=list(HealthCheck),
            derandomize=False,
            print_blob=False,
        )
        @given(case=cases(world))
        def recipe_loader_properties(case: Case) -> None:
            check(case, world, audit, stats)

        # Warm up: the first validate of a recipe with a teacher imports that provider's SDK
        # (over a second); an example must be timed on its own work, not on imports.
        for shipped in sorted((REPO_ROOT / "recipes").glob("*.yaml")):
            CliRunner().invoke(cli, ["validate", str(shipped)])
        try:
            recipe_loader_properties()
        except Exception as exc:  # noqa: BLE001 - the shrunk counterexamples, reported below
            failure = _failures(exc)
        finally:
            os.chdir(cwd)
        elapsed = time.perf_counter() - started
    return {
        "seed": seed,
        "examples_requested": examples,
        "examples_run": stats.examples,
        "elapsed_s": round(elapsed, 1),
        "exit_codes": {str(k): v for k, v in sorted(stats.exits.items())},
        "slowest_example_cpu_s": round(stats.slowest_s, 3),
        "slowest_example_wall_s": round(stats.slowest_wall_s, 3),
        "slow_once_then_fast": stats.slow_once,
        "slowest_example": stats.slowest,
        "peak_mb_per_example": round(stats.peak_mb, 1),
        "process_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "mutations": dict(stats.ops.most_common()),
        "error_kinds": dict(stats.errors.most_common(25)),
        "failure": failure,
    }, stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--examples", type=int, default=300)
    ap.add_argument("--seed", type=int, default=None, help="default: a fresh random seed")
    ap.add_argument("--report", help="also write the JSON report here")
    args = ap.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    cap_memory()
    report, stats = run(args.examples, seed)
    text = json.dumps(report, indent=2)
    print(text)
    if args.report:  # the report, and the slowest and runaway inputs beside it to replay
        Path(args.report).write_text(text)
        Path(f"{args.report}.slowest.yaml").write_bytes(stats.slowest_raw)
        for i, raw in enumerate(stats.runaways[:5]):
            Path(f"{args.report}.runaway{i}.yaml").write_bytes(raw)
    return 1 if report["failure"] else 0


if __name__ == "__main__":
    sys.exit(main())
