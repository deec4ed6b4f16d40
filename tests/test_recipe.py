"""Recipes: shipped ones validate; every malformed one fails with the right place and message."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from wikikit.cli import cli
from wikikit.errors import InputError
from wikikit.paths import REPO_ROOT
from wikikit.recipe.load import load_recipe, load_schema, redact

MALFORMED = Path(__file__).parent / "recipes" / "malformed"
CASES = sorted(p.name for p in MALFORMED.glob("*.yaml"))
SHIPPED = [
    REPO_ROOT / "recipes" / "demo.yaml",
    REPO_ROOT / "recipes" / "semanticwiki-gpt-oss-20b.yaml",
]


def test_there_are_at_least_25_malformed_recipes():
    assert len(CASES) >= 25


@pytest.mark.parametrize("name", CASES)
def test_malformed_recipe_reports_key_path_and_line(name, monkeypatch, tmp_path):
    expect = json.loads((MALFORMED / name).read_text().splitlines()[0].removeprefix("# expect: "))
    monkeypatch.chdir(MALFORMED)
    result = CliRunner().invoke(cli, ["validate", name])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert lines, "no error printed"
    first = lines[0]
    assert first.startswith(f"error: {expect['at']}:"), first
    if expect["key"]:
        assert f": {expect['key']}: " in first, first
    assert expect["message"] in first, first


def test_all_errors_are_reported_at_once(tmp_path):
    bad = tmp_path / "r.yaml"
    bad.write_text("wikikit: 1\nname: x\nmodel: {base: m, formatt: h}\ntrian: {}\nevall: {}\n")
    with pytest.raises(InputError) as exc:
        load_recipe(bad)
    assert len(exc.value.lines) == 3
    assert [ln.split(":")[1] for ln in exc.value.lines] == ["3", "4", "5"]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_recipes_validate(path):
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "ok" in result.output


def test_flagship_extends_base_with_a_local_mode_mix():
    r = load_recipe(SHIPPED[1])
    mix = r.data["data"]["mix"]
    assert {k: v["weight"] for k, v in mix.items()} == {
        "local_pages": 0.7,
        "local_plan_index": 0.03,
        "agent": 0.12,
        "traceability": 0.15,
        "benchmark": 0.0,
    }
    # Real repositories at pinned commits, never the checkout itself.
    sources = r.data["data"]["sources"]
    for name, cfg in sources.items():
        for spec in cfg.get("repos") or []:
            assert spec != ".." and isinstance(spec, dict) and spec.get("commit"), (name, spec)
    kinds = {n: c["kind"] for n, c in sources.items() if n in mix["local_pages"]["sources"]}
    assert set(kinds.values()) == {"semanticwiki"}
    # Inherited from recipes/base/gpt-oss.yaml, and the error location points there.
    assert r.data["train"]["adapter"] == "lora"
    assert r.loc(("train", "adapter")).file.endswith("gpt-oss.yaml")
    assert r.data["package"]["gguf"]["outtype"] == "q8_0"


def test_extends_deep_merges_maps_and_replaces_lists(tmp_path):
    (tmp_path / "base.yaml").write_text(
        "wikikit: 1\nname: base\nmodel: {base: m, format: harmony}\n"
        "eval: {tasks: [wikikit_mermaid, wikikit_tooluse], limit: 5}\n"
    )
    (tmp_path / "child.yaml").write_text(
        "wikikit: 1\nname: child\nextends: base.yaml\nmodel: {format: chatml}\neval: {tasks: [wikikit_traceability]}\n"
    )
    r = load_recipe(tmp_path / "child.yaml")
    assert r.data["model"] == {"base": "m", "format": "chatml"}
    assert r.data["eval"] == {"tasks": ["wikikit_traceability"], "limit": 5}
    assert "extends" not in r.data


def test_extends_a_shipped_recipe_by_name(tmp_path):
    (tmp_path / "mine.yaml").write_text("wikikit: 1\nname: mine\nextends: demo\nseed: 3\n")
    r = load_recipe(tmp_path / "mine.yaml")
    assert r.seed == 3 and r.data["model"]["base"] == "tiny-gpt-oss"


def test_set_overrides_apply_after_extends_and_are_validated():
    r = load_recipe(SHIPPED[1], ["data.size=1000", "train.lora.r=32", "eval.compare_base=false"])
    assert r.data["data"]["size"] == 1000 and r.data["train"]["lora"]["r"] == 32
    assert r.data["eval"]["compare_base"] is False
    with pytest.raises(InputError) as exc:
        load_recipe(SHIPPED[1], ["data.size=lots"])
    assert exc.value.lines == ["--set data.size=lots: data.size: 'lots' is not of type 'integer'"]
    with pytest.raises(InputError):
        load_recipe(SHIPPED[1], ["no-equals-sign"])


def test_fingerprint_is_stable_and_changes_with_any_key():
    a, b = load_recipe(SHIPPED[1]), load_recipe(SHIPPED[1])
    assert a.fingerprint == b.fingerprint
    c = load_recipe(SHIPPED[1], ["seed=43"])
    assert c.fingerprint != a.fingerprint
    assert c.fingerprint_of(("train",)) == a.fingerprint_of(("train",))


def test_secret_comes_from_environment_only_and_is_redacted(monkeypatch):
    r = load_recipe(SHIPPED[1])
    key = ("data", "sources", "agent_tool_use", "teacher", "api_key")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(InputError, match="ANTHROPIC_API_KEY is not set"):
        r.secret(key)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-planted-value-123")
    assert r.secret(key) == "sk-planted-value-123"
    assert "sk-planted" not in r.to_yaml()
    assert redact(r.data)["data"]["sources"]["agent_tool_use"]["teacher"]["api_key"] == "***"
    # The fingerprint does not depend on the environment's secret.
    monkeypatch.setenv("ANTHROPIC_API_KEY", "other")
    assert load_recipe(SHIPPED[1]).fingerprint == r.fingerprint


def test_show_prints_resolved_recipe_with_secrets_redacted(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-planted-value-123")
    result = CliRunner().invoke(cli, ["show", str(SHIPPED[1])])
    assert result.exit_code == 0
    assert "api_key: '***'" in result.output and "sk-planted" not in result.output
    assert "adapter: lora" in result.output  # inherited


def test_paths_are_confined_to_declared_roots(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.yaml").write_text(
        "wikikit: 1\nname: x\nmodel: {base: m}\ndata:\n  mix: {a: {weight: 1, sources: [s]}}\n"
        "  sources: {s: {kind: jsonl, paths: [ok.jsonl, /etc/passwd]}}\n"
    )
    r = load_recipe(tmp_path / "r.yaml")
    key = ("data", "sources", "s", "paths")
    assert r.resolve_path("ok.jsonl", key + (0,)) == tmp_path / "ok.jsonl"
    with pytest.raises(
        InputError, match=r"r.yaml:6:\d+: data.sources.s.paths.1: /etc/passwd is outside"
    ):
        r.resolve_path("/etc/passwd", key + (1,))
    monkeypatch.setenv("WIKIKIT_ALLOWED_ROOTS", "/etc")
    assert r.resolve_path("/etc/passwd", key + (1,)) == Path("/etc/passwd")


def _walk_properties(node, path=""):
    if isinstance(node, dict):
        for name, prop in (node.get("properties") or {}).items():
            yield f"{path}.{name}", prop
        for k, v in node.items():
            if k != "if":  # an `if` only tests a value; its properties are not recipe keys
                yield from _walk_properties(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk_properties(v, f"{path}[{i}]")


@pytest.mark.parametrize("which", ["recipe", "example"])
def test_every_schema_property_has_a_description(which):
    missing = [
        p
        for p, prop in _walk_properties(load_schema(which))
        if "description" not in prop and "$ref" not in prop
    ]
    assert not missing, missing


def test_init_writes_a_valid_recipe_and_never_overwrites(tmp_path):
    target = tmp_path / "team.yaml"
    runner = CliRunner()
    result = runner.invoke(cli, ["init", str(target), "--from", "semanticwiki-gpt-oss-20b"])
    assert result.exit_code == 0, result.output
    assert load_recipe(target).data["data"]["mix"]["local_pages"]["weight"] == 0.7
    before = target.read_bytes()
    result = runner.invoke(cli, ["init", str(target)])
    assert result.exit_code == 2 and "already exists" in result.stderr
    assert target.read_bytes() == before


def test_bad_recipe_run_exits_2_without_traceback_and_writes_nothing(tmp_path):
    bad = MALFORMED / "08-weights-not-one.yaml"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "wikikit.cli", "run", str(bad)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "bucket weights sum to 0.9" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and "0.1.0" in result.output
