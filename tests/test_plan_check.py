"""SemanticWiki's plan validation (wikikit.semanticwiki.plan_check), and the client's own code
run by node on the same plans agreeing with it."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

from semanticwiki_fixtures import semanticwiki_client  # noqa: F401 (a fixture)

from wikikit import children
from wikikit.semanticwiki.plan_check import check_plan

HERE = Path(__file__).resolve().parent
FILES = ["shop/cart.py", "shop/api.py", "shop/db.py", "README.md"]


def plan(*pages, **top) -> str:
    return json.dumps({"projectType": "x", "pages": list(pages), **top})


def page(title="Cart", filename="cart.md", type="module", files=("shop/cart.py",), **extra):
    out = {
        "title": title,
        "filename": filename,
        "type": type,
        "files": list(files) if isinstance(files, tuple) else files,
        **extra,
    }
    return {k: v for k, v in out.items() if v is not ...}


CART, API = page(), page("API", "api", "component", ["shop/api.py"])
CASES = {
    "valid": plan(CART, API),
    "valid, filename without .md": plan(page(filename="cart")),
    "fenced json": "```json\n" + plan(CART, API) + "\n```",
    "fenced without a language": "```\n" + plan(CART) + "\n```",
    "fenced with text after": "```json\n" + plan(CART) + "\n```\nHope this helps",
    "prose": "Here is the plan: " + plan(CART),
    "missing type": plan(CART, page("API", "api.md", ..., ["shop/api.py"])),
    "missing filename": plan(page(filename=...), API),
    "files as a string": plan(CART, page("API", "api.md", "module", "shop/api.py")),
    "files as a string, nothing listed": plan(CART, page(files="nowhere.py", type="x")),
    "missing type on a page with no listed file": plan(CART, page("X", "x.md", ..., ["no.py"])),
    "overview without files": plan(page("Overview", "overview.md", "overview", [])),
    "Overview capitalised, no files": plan(page("O", "o.md", "Overview", []), CART),
    "missing title, augmented": plan(page(title=...)),
    "missing title after getting started": plan(
        page("Getting Started", "gs.md"),
        *[page(f"P{i}", f"p{i}.md") for i in range(4)],
        page(title=...),
    ),
    "missing title before getting started": plan(
        *[page(f"P{i}", f"p{i}.md") for i in range(4)],
        page(title=...),
        page("Getting Started", "gs.md"),
    ),
    "no pages": json.dumps({"projectType": "x"}),
    "pages empty": plan(),
    "pages a string": json.dumps({"pages": "abc"}),
    "pages an object": json.dumps({"pages": {"a": 1}}),
    "a null page": plan(CART, None),
    "a number page": plan(CART, 3),
    "type a number": plan(page(type=3)),
    "null": "null",
    "a list": "[1, 2]",
    "NaN": '{"pages": [], "n": NaN}',
    "empty": "",
    "files null": plan(page("O", "o.md", "guide", None)),
    "files an object": plan(page(files={"a": 1})),
}


def min_pages(files: list[str]) -> int:
    """:1045-1047: max(5, min(25, ceil(source files / 8))), docs not counted."""
    docs = (".md", ".txt", ".rst", ".adoc")
    return max(5, min(25, math.ceil(sum(not f.endswith(docs) for f in files) / 8)))


def test_plans_the_client_discards():
    n = min_pages(FILES)
    got = {name: check_plan(answer, FILES, n) for name, answer in CASES.items()}
    discarded = {name for name, c in got.items() if not c.accepted}
    assert discarded == {
        "prose", "fenced with text after", "missing type", "missing filename",
        "files as a string", "files as a string, nothing listed", "missing title, augmented", "missing title before getting started",
        "no pages", "pages an object", "a null page", "type a number", "null", "a list", "NaN",
        "empty", "files an object",
    }  # fmt: skip
    assert [p["filename"] for p in got["valid, filename without .md"].kept] == ["cart.md"]
    assert [p["filename"] for p in got["fenced json"].kept] == ["cart.md", "api.md"]
    assert got["Overview capitalised, no files"].dropped == 1
    assert got["missing type"].reason == "page 2: no `type` string"
    assert "`files` is str" in got["files as a string"].reason
    assert got["overview without files"].adds_overview is False
    assert got["valid"].adds_overview and got["valid"].adds_getting_started
    assert not got["missing title after getting started"].adds_getting_started


def test_the_clients_own_code_agrees(semanticwiki_client, tmp_path):  # noqa: F811
    node = shutil.which("node")
    assert node, "the installed client needs node"
    dist = semanticwiki_client.cli.parent
    cases = [{"answer": a, "files": FILES} for a in CASES.values()]
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases), encoding="utf-8")
    out = children.run(
        [node, str(HERE / "plan_check_node.mjs"), str(dist), str(path)],
        timeout_s=120, capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    clients = json.loads(out.stdout.strip().splitlines()[-1])
    n = min_pages(FILES)
    for (name, answer), theirs in zip(CASES.items(), clients, strict=True):
        ours = check_plan(answer, FILES, n)
        assert ours.accepted == (not theirs["pattern"]), (name, ours.reason)
        if ours.accepted:
            want = (["architecture.md"] if ours.adds_overview else []) + [
                p["filename"] for p in ours.kept
            ]
            want += ["getting-started.md"] if ours.adds_getting_started else []
            assert theirs["filenames"] == want, name
