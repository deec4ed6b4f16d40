"""A stranger's recipe can't hang, exhaust or read the machine (issue 20).

Each hostile recipe runs through the real command line in a child process under an audit hook
(tests/audited_cli.py): it must exit 2 with one `error: FILE:LINE:COL: ...` line and no
traceback, in under 2 s and 200 MB, write nothing, and open no file outside the allowed roots
(the recipe's folder, the working directory, the project's own files, the interpreter's).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from audited_cli import interpreter_roots, outside, project_roots

from wikikit.errors import InputError
from wikikit.paths import REPO_ROOT
from wikikit.recipe.load import load_recipe
from wikikit.recipe.safe_yaml import LIMITS

AUDITED = Path(__file__).with_name("audited_cli.py")
SECRET = "planted-secret-4f1d"
GOOD = "wikikit: 1\nname: team\nmodel: {base: tiny-gpt-oss}\n"


def _bomb() -> str:
    """A "billion laughs": nine levels of nine aliases, 9^9 strings once expanded."""
    lines = ["wikikit: 1", "name: bomb", "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]
    return "\n".join(lines) + "\n"


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    """team/ holds the stranger's recipe, work/ is the working directory, outside/ is private."""
    w = {name: tmp_path / name for name in ("team", "work", "outside")}
    for p in w.values():
        p.mkdir()
    # A perfectly good wikikit recipe, so that only confinement can keep it from being read.
    (w["outside"] / "private.yaml").write_text(f"wikikit: 1\nname: {SECRET}\nseed: 1\n")
    return w


def _audited(world: dict[str, Path], args: list[str], env: dict | None = None) -> dict:
    report = world["work"].parent / "report.json"
    proc = subprocess.run(
        [sys.executable, str(AUDITED), str(report), *args],
        cwd=world["work"],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "PYTHONPATH": str(REPO_ROOT),
            "PYTHONDONTWRITEBYTECODE": "1",
            **(env or {}),
        },
    )
    assert report.stat().st_size, f"no report (exit {proc.returncode}): {proc.stderr[-2000:]}"
    out = json.loads(report.read_text())
    report.unlink()
    out["returncode"], out["stderr"], out["stdout"] = proc.returncode, proc.stderr, proc.stdout
    return out


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.lstat().st_size, p.lstat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }


def _allowed(world: dict[str, Path]) -> list[Path]:
    return [world["team"], world["work"], *project_roots(REPO_ROOT), *interpreter_roots()]


CASES = {
    "alias-bomb": (lambda w: _bomb(), r"recipe.yaml:\d+:\d+: the recipe would expand to more than"),
    "extends-absolute": (
        lambda w: f"{GOOD}extends: {w['outside'] / 'private.yaml'}\n",
        r"recipe.yaml:4:1: extends: .*private.yaml is outside the allowed roots",
    ),
    "extends-dotdot": (
        lambda w: f"{GOOD}extends: ../outside/private.yaml\n",
        r"recipe.yaml:4:1: extends: \.\./outside/private.yaml climbs out \(\.\.\) of the allowed roots",
    ),
    "extends-symlink": (
        lambda w: f"{GOOD}extends: base.yaml\n",
        r"recipe.yaml:4:1: extends: base.yaml is a symbolic link that leads outside the allowed roots",
    ),
    "deep-brackets": (
        lambda w: "wikikit: 1\nname: x\nmodel: " + "[" * 5000 + "]" * 5000 + "\n",
        rf"recipe.yaml:3:\d+: nested deeper than {LIMITS.max_depth} levels",
    ),
    "deep-flow-keys": (
        lambda w: "wikikit: 1\nname: x\nmodel: " + "{k: " * 3000 + "1" + "}" * 3000 + "\n",
        rf"recipe.yaml:3:\d+: nested deeper than {LIMITS.max_depth} levels",
    ),
    "deep-block-keys": (
        lambda w: "wikikit: 1\nname: x\n" + "".join(" " * i + f"k{i}:\n" for i in range(200)),
        rf"recipe.yaml:\d+:\d+: nested deeper than {LIMITS.max_depth} levels",
    ),
    "nested-keys-3000": (  # 3,000 block levels are 4.5 MB of indentation: the size bound first
        lambda w: "wikikit: 1\nname: x\n" + "".join(" " * i + f"k{i}:\n" for i in range(3000)),
        r"recipe.yaml:1:1: the file is 4\.3 MiB; a recipe may be at most 256 KiB",
    ),
    "huge-comment": (
        lambda w: "wikikit: 1\n# " + "x" * 50_000_000 + "\n",
        r"recipe.yaml:1:1: the file is 47\.7 MiB; a recipe may be at most 256 KiB",
    ),
    "latin-1": (
        lambda w: "wikikit: 1\nname: café\n".encode("latin-1"),
        r"recipe.yaml:2:10: byte 0xe9 is not UTF-8",
    ),
    "utf-16-bom": (
        lambda w: GOOD.encode("utf-16"),
        r"recipe.yaml:1:1: the file is UTF-16 encoded; save the recipe as UTF-8",
    ),
    "utf-16-no-bom": (
        lambda w: GOOD.encode("utf-16-le"),
        r"recipe.yaml:1:2: NUL byte: a recipe is UTF-8 text",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_recipe_exits_2_in_bounds_writing_and_leaking_nothing(case, world):
    make, expected = CASES[case]
    body = make(world)
    recipe = world["team"] / "recipe.yaml"
    if isinstance(body, bytes):
        recipe.write_bytes(body)
    else:
        recipe.write_text(body, encoding="utf-8")
    (world["team"] / "base.yaml").symlink_to(world["outside"] / "private.yaml")
    before = _tree(world["team"].parent)

    r = _audited(world, ["validate", str(recipe)])

    assert r["returncode"] == 2 and r["exit"] == 2, r["stderr"]
    assert "Traceback" not in r["stderr"] and "internal error" not in r["stderr"]
    lines = r["stderr"].splitlines()
    assert len(lines) == 1 and re.match(rf"error: .*{expected}", lines[0]), lines
    assert SECRET not in r["stderr"] + r["stdout"]
    assert r["seconds"] < 2.0, r["seconds"]
    assert r["max_rss_mb"] < 200, r["max_rss_mb"]
    assert r["writes"] == []
    assert _tree(world["team"].parent) == before
    assert not [p for p in r["opened"] if "outside" in Path(p).resolve().parts]
    assert outside(r["opened"], _allowed(world)) == []


def test_the_audit_sees_a_permitted_outside_file_opened(world):
    """The hook is not blind: allowed by WIKIKIT_ALLOWED_ROOTS, the same base is opened and used."""
    recipe = world["team"] / "recipe.yaml"
    recipe.write_text(f"{GOOD}extends: {world['outside'] / 'private.yaml'}\n")
    r = _audited(
        world, ["validate", str(recipe)], env={"WIKIKIT_ALLOWED_ROOTS": str(world["outside"])}
    )
    assert r["exit"] == 0, r["stderr"]
    assert outside(r["opened"], _allowed(world)) == [str(world["outside"] / "private.yaml")]
    assert r["writes"] == []


def test_a_clean_validate_opens_only_the_recipe_project_and_interpreter(world):
    recipe = world["team"] / "recipe.yaml"
    recipe.write_text(
        f"{GOOD}extends: base/gpt-oss\n"
        "data:\n  mix: {a: {weight: 1, sources: [s]}}\n"
        "  sources: {s: {kind: jsonl, paths: [mine.jsonl]}}\n"
    )
    r = _audited(world, ["validate", str(recipe)])
    assert r["exit"] == 0, r["stderr"]
    assert str(recipe) in r["opened"]
    assert str(REPO_ROOT / "recipes" / "base" / "gpt-oss.yaml") in r["opened"]
    assert outside(r["opened"], _allowed(world)) == [] and r["writes"] == []


# ---- each bound and rule on its own, in process (fast) ----------------------------------------


def _fails(path: Path, *args) -> list[str]:
    with pytest.raises(InputError) as exc:
        load_recipe(path, *args)
    return exc.value.lines


def test_extends_levels_are_bounded(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    n = LIMITS.max_extends + 1
    for i in range(n):
        (tmp_path / f"b{i}.yaml").write_text(f"wikikit: 1\nname: b{i}\nextends: b{i + 1}.yaml\n")
    (tmp_path / f"b{n}.yaml").write_text("wikikit: 1\nname: last\nmodel: {base: m}\n")
    assert _fails(tmp_path / "b0.yaml") == [
        f"b{LIMITS.max_extends}.yaml:3:1: extends: more than {LIMITS.max_extends} levels of extends"
    ]
    (tmp_path / "b1.yaml").write_text("wikikit: 1\nname: b1\nmodel: {base: m}\n")
    assert load_recipe(tmp_path / "b0.yaml").name == "b0"  # two levels are fine


def test_alias_uses_and_expanded_text_are_bounded(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    many = tmp_path / "many.yaml"
    many.write_text(
        "wikikit: 1\nname: x\nv: &v 1\nl: [" + ", ".join(["*v"] * (LIMITS.max_aliases + 1)) + "]\n"
    )
    assert _fails(many) == [
        f"many.yaml:4:{5 + 4 * LIMITS.max_aliases}: more than "
        f"{LIMITS.max_aliases} aliases (*name) in one recipe"
    ]
    text = tmp_path / "text.yaml"
    big = "x" * (LIMITS.max_chars // 8)
    text.write_text(f"wikikit: 1\nname: x\nv: &v {big}\nl: [*v, *v, *v, *v, *v, *v, *v, *v]\n")
    assert text.stat().st_size < LIMITS.max_bytes
    (line,) = _fails(text)
    assert line.startswith("text.yaml:4:") and "more than 1.0 MiB of text" in line
    cycle = tmp_path / "cycle.yaml"
    cycle.write_text("wikikit: 1\nname: x\nmodel: &m {base: *m}\n")
    assert _fails(cycle) == ["cycle.yaml:3:18: alias *m is inside the node it names (a cycle)"]


def test_aliases_within_bounds_still_work(tmp_path):
    r = tmp_path / "r.yaml"
    r.write_text(
        "wikikit: 1\nname: x\nmodel: &m {base: m}\n"
        "data:\n  mix: {a: {weight: 1, sources: [s]}}\n"
        "  sources:\n    s: &src {kind: jsonl, paths: [a.jsonl]}\n"
    )
    assert load_recipe(r).data["model"] == {"base": "m"}


def test_a_base_that_is_not_a_recipe_is_never_quoted(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "creds.yaml").write_text(f"aws_secret: {SECRET}\nmodel: {{base: {SECRET}}}\n")
    (tmp_path / "broken.yaml").write_text(f"token: *{SECRET}\n")
    (tmp_path / "a.yaml").write_text(f"{GOOD}extends: creds.yaml\n")
    (tmp_path / "b.yaml").write_text(f"{GOOD}extends: broken.yaml\n")
    assert _fails(tmp_path / "a.yaml") == [
        "a.yaml:4:1: extends: creds.yaml is not a wikikit recipe (it has no top-level "
        "`wikikit:` key); its content is not shown"
    ]
    assert _fails(tmp_path / "b.yaml") == [
        "broken.yaml:1:8: YAML syntax error: found undefined alias '...'"
    ]
    # The recipe the user named is theirs: its own problems are quoted in full.
    (tmp_path / "c.yaml").write_text(f"{GOOD}seed: {SECRET}\n")
    assert SECRET in _fails(tmp_path / "c.yaml")[0]


def test_non_printable_characters_and_set_values_are_located_and_bounded(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = tmp_path / "r.yaml"
    r.write_text(f"{GOOD}seed: 1\x07\n")
    assert _fails(r) == ["r.yaml:4:8: character #x0007 is not allowed in YAML"]
    r.write_text(GOOD)
    deep = "[" * 100 + "]" * 100
    assert _fails(r, [f"seed={deep}"]) == [
        f"--set seed={deep}: nested deeper than {LIMITS.max_depth} levels"
    ]


def test_extends_inside_the_roots_and_shipped_names_still_resolve(tmp_path, monkeypatch):
    team, work = tmp_path / "team", tmp_path / "work"
    (team / "bases").mkdir(parents=True)
    work.mkdir()
    monkeypatch.chdir(work)
    (team / "bases" / "b.yaml").write_text("wikikit: 1\nname: b\nseed: 7\n")
    (work / "w.yaml").write_text("wikikit: 1\nname: w\nextends: demo\n")
    (team / "r.yaml").write_text(f"{GOOD}extends: bases/b.yaml\n")
    assert load_recipe(team / "r.yaml").seed == 7
    (team / "bases" / "b.yaml").write_text(f"wikikit: 1\nname: b\nextends: {work / 'w.yaml'}\n")
    r = load_recipe(team / "r.yaml")  # the working directory is a root too, then a shipped name
    assert r.data["model"]["base"] == "tiny-gpt-oss" and len(r.files) == 4


def test_thousands_of_problems_print_the_first_ones_and_count_the_rest(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = tmp_path / "r.yaml"
    r.write_text(f"{GOOD}eval:\n  tasks: [{', '.join(['nope'] * 19_000)}]\n")
    lines = _fails(r)
    assert len(lines) == LIMITS.max_reported + 1
    assert lines[0].startswith("r.yaml:5:11: eval.tasks.0: 'nope' is not one of")
    assert (
        lines[-1]
        == f"... and at least {20 * LIMITS.max_reported - LIMITS.max_reported} more problems"
    )


@pytest.mark.parametrize(
    "line, expected",
    [  # what the fuzzer found: each was an `internal error`, exit 1
        ("wikikit: !!float", "r.yaml:1:10: wikikit: the value is not a valid !!float"),
        (
            'extends: "\\0"',
            "r.yaml:4:1: extends: must name a file (got an empty path or a NUL byte)",
        ),
        (
            "extends: " + "a" * 5000,
            "r.yaml:4:1: extends: cannot use this path (File name too long)",
        ),
        (
            'seed: "\\U08017136"',  # past U+10FFFF: PyYAML's scanner raises chr()'s ValueError
            "r.yaml:4:10: cannot read this value (chr() arg not in range(0x110000))",
        ),
    ],
)
def test_values_the_fuzzer_found_are_located_problems(tmp_path, monkeypatch, line, expected):
    monkeypatch.chdir(tmp_path)
    r = tmp_path / "r.yaml"
    body = GOOD.replace("wikikit: 1\n", "") if line.startswith("wikikit") else GOOD
    r.write_text(f"{line}\n{body}" if line.startswith("wikikit") else f"{GOOD}{line}\n")
    assert _fails(r)[0] == expected
