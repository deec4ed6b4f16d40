"""code_units on real click source: units of every granularity, call edges, verified refs."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
from code_mining_repos import make_click_repo, make_hostile_repo, make_many_files_repo, source_ctx

from wikikit.code.callgraph import CallGraph, Def, call_sites
from wikikit.code.refs import parse_refs
from wikikit.code.symbols import extract_symbols
from wikikit.data.sources import code_units


def _ctx(tmp_path: Path, name: str = "cu") -> SimpleNamespace:
    return source_ctx(tmp_path, name)


@pytest.fixture(scope="module")
def click_examples(tmp_path_factory):
    root = tmp_path_factory.mktemp("click") / "click"
    make_click_repo(root)
    ctx = _ctx(tmp_path_factory.mktemp("cache"))
    examples = list(code_units.generate("cu", {"repos": [str(root)]}, ctx))
    return root, examples, ctx.stats["cu"]


def test_every_granularity_is_produced(click_examples):
    _, examples, stats = click_examples
    units = Counter(ex.meta["unit"] for ex in examples)
    for unit in ("function", "calls", "class", "file", "module", "type_ecosystem"):
        assert units[unit] > 0, units
    assert stats["calls_resolved"] > 100
    assert stats.get("ref_rejected", 0) == 0 and stats.get("ref_mismatch", 0) == 0


def test_every_reference_resolves_independently(click_examples):
    root, examples, _ = click_examples
    checked = 0
    for ex in examples:
        assert ex.refs, ex.id
        written = {(m.path, m.start, m.end) for m in parse_refs(ex.assistant_text)}
        assert written == {(r.path, r.start, r.end) for r in ex.refs}
        for r in ex.refs:
            lines = (root / r.path).read_text(encoding="utf-8").splitlines()
            assert 1 <= r.start <= r.end <= len(lines), (ex.id, r)
            checked += 1
    assert checked > 1000


def test_function_unit_carries_doc_flags_and_calls(click_examples):
    root, examples, _ = click_examples
    shout = [
        ex
        for ex in examples
        if ex.meta["unit"] == "function"
        and "`shout`" in ex.messages[0].content
        or ex.meta.get("unit") == "function"
        and ex.messages[1].content.startswith("`shout`")
    ]
    assert len(shout) == 1
    ex = shout[0]
    assert "Print a message in upper case." in ex.assistant_text
    assert ex.meta["visibility"] == "public" and ex.meta["async"] is False
    assert ex.meta["calls"] == ["echo"]  # resolved into click/utils.py, not guessed
    echo_ref = [r for r in ex.refs if r.path == "src/click/utils.py"]
    assert len(echo_ref) == 1
    lines = (root / "src/click/utils.py").read_text().splitlines()
    assert lines[echo_ref[0].start - 1].lstrip().startswith("def echo(")

    decorated = [ex for ex in examples if ex.meta["unit"] == "function" and ex.meta["decorators"]]
    assert decorated and all(d.startswith("@") for ex in decorated for d in ex.meta["decorators"])


def test_callers_unit_lists_real_call_sites(click_examples):
    root, examples, _ = click_examples
    echo_callers = [
        ex
        for ex in examples
        if ex.meta["unit"] == "calls"
        and ex.meta["path"] == "src/click/utils.py"
        and "`echo`" in ex.messages[0].content
    ]
    assert len(echo_callers) == 1
    ex = echo_callers[0]
    assert "shout" in ex.meta["called_by"] and "whisper" in ex.meta["called_by"]
    call_refs = [r for r in ex.refs if r.start == r.end]
    assert call_refs
    for r in call_refs:
        assert "echo(" in (root / r.path).read_text().splitlines()[r.start - 1]


def test_type_ecosystem_links_base_and_implementors(click_examples):
    _, examples, _ = click_examples
    eco = {ex.meta["base"]: ex for ex in examples if ex.meta["unit"] == "type_ecosystem"}
    # click.types: ParamType has many implementors (IntParamType goes via _NumberParamTypeBase); core: Parameter -> Option, Argument.
    assert "IntParamType" in eco["_NumberParamTypeBase"].meta["implementors"]
    assert "ParamType" in eco and {"Choice", "BoolParamType"} <= set(
        eco["ParamType"].meta["implementors"]
    )
    assert {"Option", "Argument"} <= set(eco["Parameter"].meta["implementors"])


def test_call_sites_in_other_languages():
    ts = "function a() { return b(1) + obj.c(); }\nfunction b(x) { return x; }\n"
    assert call_sites("x.ts", ts, "typescript") == [(1, "b"), (1, "c")]
    go = "package m\nfunc A() int { return B() }\nfunc B() int { return 1 }\n"
    assert call_sites("m.go", go, "go") == [(2, "B")]
    graph = CallGraph()
    graph.add_file("m.go", go, "go", extract_symbols("m.go", go, "go"))
    graph.resolve()
    (edge,) = [e for edges in graph.forward.values() for e in edges]
    assert (edge.caller.name, edge.callee.name, edge.line) == ("A", "B", 2)
    assert isinstance(edge.callee, Def)


def test_rust_trait_ecosystem(tmp_path):
    root = tmp_path / "rs"
    root.mkdir()
    (root / "lib.rs").write_text(
        "/// Something that can speak.\npub trait Speak {\n    fn speak(&self) -> String;\n}\n\n"
        "/// A dog.\npub struct Dog;\n\nimpl Speak for Dog {\n    fn speak(&self) -> String {\n"
        '        "woof".into()\n    }\n}\n\n/// A cat.\npub struct Cat;\n\n'
        'impl Speak for Cat {\n    fn speak(&self) -> String {\n        "meow".into()\n    }\n}\n'
    )
    (root / "main.rs").write_text("fn main() {}\n")
    examples = list(code_units.generate("cu", {"repos": [str(root)]}, _ctx(tmp_path)))
    (eco,) = [ex for ex in examples if ex.meta["unit"] == "type_ecosystem"]
    assert eco.meta["base"] == "Speak" and eco.meta["implementors"] == ["Dog", "Cat"]


def test_hostile_repo_is_skipped_and_counted(tmp_path):
    root = tmp_path / "hostile"
    make_hostile_repo(root, tmp_path / "outside")
    ctx = _ctx(tmp_path)
    examples = list(code_units.generate("cu", {"repos": [str(root)]}, ctx))
    stats = ctx.stats["cu"]
    assert stats["too_large"] == 1  # the 50 MB file, above the default 1 MB limit
    assert stats["binary"] >= 2  # image.png and the NUL-containing .py
    assert stats["symlink_outside"] == 2
    assert stats["decode_replaced"] == 1  # latin-1 read with replacement, still parsed
    paths = {r.path for ex in examples for r in ex.refs}
    assert paths <= {"good.py", "latin1.py"} and "good.py" in paths
    assert not any("Outside the repository" in ex.assistant_text for ex in examples)


@pytest.mark.slow
def test_ten_thousand_files(tmp_path):
    root = tmp_path / "many"
    make_many_files_repo(root)
    ctx = _ctx(tmp_path)
    cfg = {"repos": [str(root)], "granularities": ["function", "module"]}
    examples = list(code_units.generate("cu", cfg, ctx))
    stats = ctx.stats["cu"]
    assert stats["files_parsed"] == 10_000 and stats["repo_files"] == 10_000
    assert Counter(ex.meta["unit"] for ex in examples)["module"] == 100
    # Every run() calls the helper of its own module: 10,000 resolved cross-symbol edges.
    assert stats["calls_resolved"] == 10_000
