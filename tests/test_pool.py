"""The training pool: the shipped list, its validation line by line, the benchmark held out whole,
and pins that later runs reuse."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from git_fixtures import commit_all, git, init_repo

from wikikit.code.benchmark_repos import CODEWIKIBENCH_REPOS
from wikikit.code.holdout import Holdout
from wikikit.code.pool import LANGUAGE_GROUPS, PinStore, load_pool, pool_repos
from wikikit.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "recipes" / "pools" / "pool.yaml"
HEAD = "pool: 1\nrepos:\n"


def line(repo: str, **more: str) -> str:
    fields = {"repo": repo, "language": "python", "size": "small", "deepwiki": "unknown", **more}
    return "  - {" + ", ".join(f"{k}: {v}" for k, v in fields.items()) + "}\n"


def write_pool(tmp_path: Path, *lines: str, name: str = "pool.yaml") -> Path:
    path = tmp_path / name
    path.write_text(HEAD + "".join(lines))
    return path


# -- the shipped pool ------------------------------------------------------------------------


def test_the_shipped_pool_has_400_repositories_and_none_of_the_benchmark():
    pool = load_pool(SHIPPED)
    assert len(pool) >= 400
    # Checked here without wikikit's matcher: owner/name and bare name, case-insensitively.
    owners = {r.github.lower() for r in CODEWIKIBENCH_REPOS}
    bare = {r.name.lower() for r in CODEWIKIBENCH_REPOS} | {o.split("/")[1] for o in owners}
    for entry in pool.repos:
        assert entry.name.lower() not in owners, entry
        for marked in (entry.fork_of, entry.mirror_of):
            assert not marked or marked.lower().removeprefix("https://github.com/") not in owners
        # no benchmark repository under another owner either (a fork the list failed to mark)
        assert entry.name.split("/")[1].lower() not in bare, entry
    assert len({r.name.lower() for r in pool.repos}) == len(pool)


def test_the_shipped_pool_spans_the_benchmarks_languages_at_about_its_shares():
    pool = load_pool(SHIPPED)
    groups = pool.groups()
    benchmark = Counter(r.language for r in CODEWIKIBENCH_REPOS)  # 22 rows in 6 groups
    six = {g: groups[g] for g in benchmark}
    six["Java"] += groups["Kotlin"]  # the brief's Java group takes Kotlin too
    total = sum(six.values())
    for group, n in benchmark.items():
        share, want = six[group] / total, n / 22
        assert abs(share - want) < 0.04, (group, round(share, 3), round(want, 3))
    assert groups["Go"] >= 20 and groups["Rust"] >= 20 and groups["Kotlin"] >= 10
    assert {"small", "medium", "large"} <= {r.size for r in pool.repos}
    assert set(LANGUAGE_GROUPS) == {r.language for r in pool.repos}


# -- validation, line by line ----------------------------------------------------------------


@pytest.mark.parametrize(
    "bad, why",
    [
        (line("nlohmann/json"), "nlohmann/json is CodeWikiBench's nlohmann/json"),
        (line("ALL-HANDS-AI/openhands"), "CodeWikiBench's All-Hands-AI/OpenHands"),
        (
            line("someone/charts", url="https://github.com/chartjs/Chart.js.git"),
            "its url https://github.com/chartjs/Chart.js.git, which is CodeWikiBench's",
        ),
        (
            line("someone/trino-fork", fork_of="trinodb/trino"),
            "marked fork_of trinodb/trino, which is CodeWikiBench's trinodb/trino",
        ),
        (
            line("mirrors/electron", mirror_of="https://github.com/electron/electron"),
            "marked mirror_of https://github.com/electron/electron, which is CodeWikiBench's",
        ),
    ],
)
def test_a_pool_naming_a_benchmark_repository_fails_with_its_line(tmp_path, bad, why):
    path = write_pool(tmp_path, line("psf/requests"), bad, line("pallets/flask"))
    with pytest.raises(InputError) as err:
        load_pool(path)
    assert str(err.value).startswith(f"{path}:4: "), err.value  # line 4: the bad entry
    assert why in str(err.value) and "remove the line" in str(err.value)


def test_every_problem_is_reported_at_once_each_with_its_line(tmp_path):
    path = write_pool(
        tmp_path,
        line("psf/requests"),  # 3
        line("PSF/Requests"),  # 4: twice
        line("acme/x", language="cobol"),  # 5
        line("acme/y", colour="red"),  # 6
        "  - {language: python, size: small}\n",  # 7
        line("wazuh/wazuh"),  # 8
        line("acme/z", size="huge"),  # 9
    )
    with pytest.raises(InputError) as err:
        load_pool(path, shown="pool.yaml")
    got = err.value.lines
    assert [g.split(":")[1] for g in got] == ["4", "5", "6", "7", "8", "9"], got
    assert "listed twice (line 3)" in got[0]
    assert "'cobol', not one of python" in got[1]
    assert "unknown key 'colour'" in got[2]
    assert "missing `repo`" in got[3]
    assert "CodeWikiBench's wazuh/wazuh" in got[4]
    assert "'huge', not one of small, medium, large" in got[5]


def test_a_line_that_is_not_one_entry_is_named(tmp_path):
    path = write_pool(tmp_path, line("psf/requests"), "  - repo: a/b\n")
    with pytest.raises(InputError, match=r"pool.yaml:4: one repository a line"):
        load_pool(path)
    path.write_text("repos:\n" + line("psf/requests"))
    with pytest.raises(InputError, match=r"pool.yaml:1: `pool: 1` comes first, then `repos:`"):
        load_pool(path)


def test_the_recipes_own_holdout_is_refused_too(tmp_path):
    path = write_pool(tmp_path, line("psf/requests"), line("pallets/flask"))
    with pytest.raises(
        InputError, match=r":4: pallets/flask is held out by data.holdout \(flask\)"
    ):
        load_pool(path, Holdout(["flask"]))


def test_validation_names_the_pool_line_and_exits_2(tmp_path):
    write_pool(tmp_path, line("psf/requests"), line("acme/json", fork_of="nlohmann/json"))
    (tmp_path / "r.yaml").write_text(
        "wikikit: 1\nname: x\nmodel: {base: tiny-gpt-oss}\ndata:\n  holdout: [codewikibench]\n"
        "  mix: {all: {weight: 1.0, sources: [t]}}\n"
        "  sources:\n    t: {kind: traceability, pool: pool.yaml}\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "wikikit.cli", "validate", "r.yaml"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    first = proc.stderr.strip().splitlines()[0]
    assert first.startswith("error: pool.yaml:4: acme/json: marked fork_of nlohmann/json"), first


# -- the benchmark held out whole --------------------------------------------------------------


def test_the_codewikibench_entry_holds_out_all_22_in_every_naming():
    held = Holdout(["codewikibench"])
    assert len(held.repos) == 22 and held.names == ["codewikibench"]
    for row in CODEWIKIBENCH_REPOS:
        for form in (row.name, row.github, row.url, f"{row.url}.git", f"{row.name}@0123abc"):
            assert held.matches(form), form
        assert held.entry_for(row.name) == "codewikibench"
        assert held.repo_for(row.url) == row.github
    # the bare benchmark names are not held out under another owner
    assert not held.matches("someone/json") and not held.matches("acme/electron-app")
    assert not held.matches("psf/requests") and held.entry_for("psf/requests") is None
    # with other entries beside it
    both = Holdout(["codewikibench", "acme/widgets"])
    assert both.matches("widgets") and both.entry_for("widgets") == "acme/widgets"


def test_the_eval_stage_sees_the_benchmark_as_held_out():
    # eval/heldout.py builds Holdout(data.holdout) as is: every benchmark row passes its check
    from wikikit.recipe.load import load_recipe

    recipe = load_recipe(ROOT / "recipes" / "semanticwiki-gpt-oss-20b.yaml")
    held = Holdout(recipe.get(("data", "holdout")))
    assert all(held.matches(r.github) for r in CODEWIKIBENCH_REPOS)
    assert recipe.get(("data", "size")) == 20000
    for name, cfg in recipe.get(("data", "sources")).items():
        if cfg["kind"] in ("semanticwiki", "synthetic", "traceability"):
            assert cfg.get("pool") == "pools/pool.yaml", name
            assert not cfg.get("repos") and not cfg.get("codewikibench"), name


# -- pins --------------------------------------------------------------------------------------


def test_a_pin_is_fixed_when_first_fetched_and_read_back_by_later_runs(tmp_path):
    repo = tmp_path / "alpha"
    init_repo(repo)
    (repo / "a.py").write_text("def a():\n    return 1\n")
    first = commit_all(repo)
    pool = write_pool(tmp_path, line("acme/alpha", url="alpha"))
    store_path = tmp_path / "cache" / "pins.json"

    (spec,) = pool_repos({"pool": str(pool)})
    assert spec == {"url": str(repo), "name": "acme/alpha"}  # a local url: against the pool file
    store = PinStore(store_path)
    assert store.pin(spec) == first and store.resolved == 1

    (repo / "a.py").write_text("def a():\n    return 2\n")
    assert commit_all(repo) != first  # the default branch moved on
    later = PinStore(store_path)  # a later run: reads the pin, asks the remote nothing
    pinned, failed = later.pin_all(pool_repos({"pool": str(pool)}))
    assert pinned == [{**spec, "commit": first}] and failed == {} and later.resolved == 0
    assert pool_repos({"pool": str(pool)}, pins=later) == [{**spec, "commit": first}]
    assert later.pins["acme/alpha"]["how"] == "head"


def test_a_repository_that_cannot_be_pinned_is_named_and_the_rest_go_on(tmp_path):
    repo = tmp_path / "beta"
    init_repo(repo)
    (repo / "b.py").write_text("x = 1\n")
    head = commit_all(repo)
    store = PinStore(tmp_path / "pins.json")
    specs = [
        {"url": str(tmp_path / "gone"), "name": "acme/gone"},
        {"url": str(repo), "name": "acme/beta"},
        {"url": str(repo), "name": "acme/tagged", "commit": "v1"},
    ]
    pinned, failed = store.pin_all(specs, parallel=2)
    assert [s["name"] for s in pinned] == ["acme/beta", "acme/tagged"]
    assert pinned[0]["commit"] == head and pinned[1]["commit"] == "v1"
    assert list(failed) == ["acme/gone"] and "cannot read its default branch" in failed["acme/gone"]
    assert PinStore(tmp_path / "pins.json").pins["acme/tagged"]["how"] == "pool"
    git(repo, "log", "-1")  # the repository itself is untouched
