"""The tree shows the architecture, and the dependency direction holds (tests/layout_rules.py)."""

from __future__ import annotations

import ast
from pathlib import Path

from layout_rules import ENGINE, SHARED, violations

ROOT = Path(__file__).resolve().parents[1] / "wikikit"


def test_the_real_tree_follows_the_dependency_direction():
    assert violations(ROOT) == []


def _plant(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "wikikit"
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    for d in [p for p in root.rglob("*") if p.is_dir()] + [root]:
        (d / "__init__.py").touch()
    return root


def test_a_stage_importing_another_stage_is_caught(tmp_path):
    root = _plant(
        tmp_path,
        {
            "data/stage.py": "from wikikit.eval.metrics import traceability\n",
            "eval/metrics/traceability.py": "",
            "train/stage.py": "def f():\n    from ..package import stage\n",
            "package/stage.py": "",
        },
    )
    assert violations(root) == [
        "wikikit/data/stage.py:1: data (stage) imports wikikit.eval.metrics (stage)",
        "wikikit/train/stage.py:2: train (stage) imports wikikit.package (stage)",
    ]


def test_report_services_and_shared_pieces_are_caught_too(tmp_path):
    root = _plant(
        tmp_path,
        {
            "report/page.py": "import wikikit.eval.stage\n",
            "eval/stage.py": "",
            "code/refs.py": "from wikikit.data import render\n",
            "data/render.py": "",
            "tokens.py": "from wikikit.mermaid import client\n",
            "mermaid/client.py": "from wikikit import teachers\n",
            "teachers/base.py": "from wikikit.mermaid import client\n",
            "newthing.py": "",
        },
    )
    got = violations(root)
    assert "wikikit/report/page.py:1: report (report) imports wikikit.eval.stage (stage)" in got
    assert "wikikit/code/refs.py:1: code (service) imports wikikit.data (stage)" in got
    assert "wikikit/tokens.py:1: tokens (shared) imports wikikit.mermaid (service)" in got
    assert "service import cycle: mermaid -> teachers -> mermaid" in got
    assert (
        "wikikit/newthing.py: unit 'newthing' has no place in the layout (add it to a layer)" in got
    )
    assert len(got) == 5


def test_top_level_holds_only_the_engine_and_shared_pieces():
    top = {p.stem for p in ROOT.glob("*.py")}
    assert top <= ENGINE | SHARED, top - (ENGINE | SHARED)


def test_wikikit_never_imports_eval_tasks():
    for path in ROOT.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not any(n.split(".")[0] == "eval_tasks" for n in names), path


def test_every_package_says_what_it_holds():
    for init in ROOT.rglob("__init__.py"):
        if "node_modules" in init.parts:
            continue
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc, f"{init.relative_to(ROOT.parent)} has no docstring"
