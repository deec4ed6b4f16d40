"""The run engine: skip when unchanged, re-run only what depends on a change, never pretend."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from wikikit import runner
from wikikit.errors import StageNotImplemented
from wikikit.recipe.load import load_recipe
from wikikit.stage import STAGE_MODULES

sys.path.insert(0, str(Path(__file__).parent))
import stage_probe  # noqa: E402

RECIPE = """wikikit: 1
name: probe
seed: 1
model: {base: tiny-gpt-oss}
data:
  size: 10
  mix: {a: {weight: 1, sources: [s]}}
  sources: {s: {kind: jsonl, paths: [x.jsonl]}}
train: {max_steps: 2}
eval: {limit: 3}
package: {gguf: {outtype: f16}}
"""


@pytest.fixture
def probe(monkeypatch, tmp_path):
    for stage in STAGE_MODULES:
        monkeypatch.setitem(STAGE_MODULES, stage, "stage_probe")
    stage_probe.CALLS.clear()
    (tmp_path / "r.yaml").write_text(RECIPE)
    return tmp_path


def _run(tmp_path, *overrides, **kw):
    stage_probe.CALLS.clear()
    recipe = load_recipe(tmp_path / "r.yaml", list(overrides))
    plans = runner.run(recipe, run_dir=tmp_path / "run", **kw)
    return list(stage_probe.CALLS), plans


def test_second_run_skips_every_finished_stage(probe):
    calls, _ = _run(probe)
    assert calls == ["data", "train", "package", "eval"]
    manifest = json.loads((probe / "run" / "manifest.json").read_text())
    assert {s: v["status"] for s, v in manifest["stages"].items()} == dict.fromkeys(calls, "done")
    assert manifest["versions"]["wikikit"] and manifest["recipe_fingerprint"]
    calls, plans = _run(probe)
    assert calls == []
    assert all(p.reason == "up to date" for p in plans)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("eval.limit=4", ["eval"]),
        ("package.gguf.outtype=q8_0", ["package"]),
        ("train.max_steps=3", ["train", "package", "eval"]),
        ("data.size=11", ["data", "train", "package", "eval"]),
        ("seed=2", ["data", "train", "package", "eval"]),  # package follows train's new weights
    ],
)
def test_changing_one_key_reruns_only_dependent_stages(probe, override, expected):
    _run(probe)
    calls, plans = _run(probe, override)
    assert calls == expected
    first = next(p for p in plans if p.action == "run")
    assert "changed" in first.reason


def test_tampered_output_reruns_that_stage(probe):
    _run(probe)
    (probe / "run" / "train" / "part-1.txt").write_text("edited by hand")
    calls, plans = _run(probe)
    assert calls == ["train"]
    assert next(p for p in plans if p.stage == "train").reason == "output part-1.txt changed"


def test_editing_a_local_file_the_recipe_names_reruns_data_and_everything_after(probe):
    """The fingerprint covers the recipe, and also the contents of the files its data sources
    name: a JSONL edited by hand is new data, not an up-to-date stage."""
    x = probe / "x.jsonl"
    x.write_text('{"a": 1}\n')
    calls, _ = _run(probe)
    assert calls == ["data", "train", "package", "eval"]
    manifest = json.loads((probe / "run" / "manifest.json").read_text())
    recorded = manifest["stages"]["data"]["input_files"]
    assert list(recorded) == [str(x.resolve())] and recorded[str(x.resolve())]["size"] == 9
    assert _run(probe)[0] == []  # untouched: up to date
    x.write_text('{"a": 2}\n')  # same size, new content
    calls, plans = _run(probe)
    assert calls == ["data", "train", "package", "eval"]
    assert plans[0].reason == f"input file {x.resolve()} changed"
    x.unlink()  # gone: the data stage runs again (and its source reports the missing file)
    calls, plans = _run(probe)
    assert calls[0] == "data" and plans[0].reason == f"input file {x.resolve()} changed"


def test_input_files_are_read_only_inside_the_roots_and_folders_are_listed(tmp_path):
    from wikikit.data.input_files import input_files, named_paths

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.jsonl").write_text("{}\n")
    home = tmp_path / "home"
    (home / "copy" / "sub").mkdir(parents=True)
    (home / "copy" / "sub" / "b.parquet").write_bytes(b"b")
    (home / "copy" / "a.json").write_bytes(b"a")
    (home / "copy" / "link").symlink_to(outside / "secret.jsonl")
    (home / "repos.txt").write_text("acme/app\n")
    (home / "r.yaml").write_text(
        RECIPE.replace(
            "sources: {s: {kind: jsonl, paths: [x.jsonl]}}",
            "sources:\n"
            "    s: {kind: jsonl, paths: [../outside/secret.jsonl, missing.jsonl]}\n"
            "    d: {kind: deepwiki, repos_file: repos.txt}\n"
            "    w: {kind: codewikibench, path: copy}",
        )
    )
    recipe = load_recipe(home / "r.yaml")
    assert input_files(recipe) == [
        (home / "repos.txt").resolve(),
        (home / "copy" / "a.json").resolve(),
        (home / "copy" / "sub" / "b.parquet").resolve(),
    ]
    # a semanticwiki source's local CodeWikiBench copy counts too
    sw = SimpleNamespace(data={"data": {"sources": {"sw": {"codewikibench": {"path": "copy"}}}}})
    assert named_paths(sw) == [(("data", "sources", "sw", "codewikibench", "path"), "copy")]


def test_only_and_from(probe):
    calls, _ = _run(probe, only="data")
    assert calls == ["data"]
    calls, _ = _run(probe, from_="train")
    assert calls == ["train", "package", "eval"]
    calls, _ = _run(probe, from_="eval")
    assert calls == []  # up to date


def test_a_stage_chooses_its_inputs_from_its_section(probe, monkeypatch):
    """eval reads package when its settings say so (the packaged GGUF): a new GGUF re-runs it;
    without package among its inputs, a package change leaves it alone."""
    from types import SimpleNamespace

    from wikikit.eval import stage as eval_stage

    probe_eval = SimpleNamespace(run_stage=stage_probe.run_stage, inputs=eval_stage.inputs)
    monkeypatch.setattr(
        runner, "_load_stage_module", lambda stage: probe_eval if stage == "eval" else stage_probe
    )
    harness = "eval={harness: semanticwiki, heldout: {repos: {x: .}}}"
    _run(probe, harness)
    calls, plans = _run(probe, harness, "package.gguf.outtype=q8_0")
    assert calls == ["package", "eval"]
    assert next(p for p in plans if p.stage == "eval").input_fingerprints.keys() == {"package"}
    explicit = "eval={harness: semanticwiki, semanticwiki: {url: 'http://127.0.0.1:9/v1'}}"
    _run(probe, explicit)
    calls, _ = _run(probe, explicit, "package.gguf.outtype=bf16")
    assert calls == ["package"]
    assert eval_stage.inputs({}) == ("train",)  # hf on the merged model
    assert eval_stage.inputs({"backend": "gguf"}) == ("package",)
    assert eval_stage.inputs({"backend": "gguf", "gguf": "m.gguf", "compare_base": True}) == (
        "train",
    )


def test_missing_input_stage_is_a_clear_error(probe):
    with pytest.raises(Exception, match="needs the train stage's outputs"):
        _run(probe, only="eval")


def test_dry_run_plans_and_writes_nothing(probe, capsys):
    _, plans = _run(probe, dry_run=True)
    assert [p.action for p in plans] == ["run"] * 4
    assert not (probe / "run").exists()
    err = capsys.readouterr().err
    assert "would run (never run)" in err and "probe would write 3 files for data" in err


def test_unimplemented_stage_fails_the_run(probe, monkeypatch):
    monkeypatch.setitem(STAGE_MODULES, "train", "wikikit.no_such_stage_module")
    with pytest.raises(StageNotImplemented, match="stage 'train' is not implemented"):
        _run(probe)
    manifest = json.loads((probe / "run" / "manifest.json").read_text())
    assert manifest["stages"]["data"]["status"] == "done"
    assert manifest["stages"]["train"]["status"] == "not implemented"
    assert "eval" not in manifest["stages"]


def test_partial_files_from_a_killed_run_are_cleared(probe):
    _run(probe, only="data")
    partial = probe / "run" / "data" / ".part-0.txt.tmp-abc123"
    partial.write_text("half")
    (probe / "run" / "data" / "part-0.txt").unlink()
    calls, _ = _run(probe, only="data")
    assert calls == ["data"] and not partial.exists()
