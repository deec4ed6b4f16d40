"""Small CodeWikiBench datasets in the real schema, written with `datasets` for the tests.

Rows: repo_name, commit_id, and docs_tree / structured_docs / rubrics as JSON strings. One row is
written here (the tiny `acme/widgets`); when ../shared is present, one more is built from the
real OpenHands files (structured_docs and docs_tree from CodeWiki's output, combined rubrics).
"""

from __future__ import annotations

import json
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared/fixtures/codewikibench/OpenHands"

TINY_DOCS = {
    "title": "docs",
    "description": "Documentation for docs",
    "content": {},
    "metadata": {"type": "root", "path": "docs", "source": "codewiki"},
    "subpages": [
        {
            "title": "overview",
            "description": None,
            "content": {
                "Widgets Overview": {
                    "Architecture Overview": (
                        "Widgets has an app layer and a store layer. The app layer receives every "
                        "request, validates the widget id and asks the store for the widget; the store "
                        "layer owns the widgets, keeps them in memory and is the only place that "
                        "changes them. Keeping the two apart means a new transport (a CLI, a queue "
                        "consumer) reuses the store unchanged, and the store can be tested without "
                        "any request handling. Errors raised by the store travel back through the app, "
                        "which turns them into responses.\n\n"
                        "```\ngraph TD\n    App --> Store\n```\n\n"
                        "Sources: [widgets/app.py:1-3](), [widgets/store.py:1-4]()"
                    ),
                    "Data Flow": [
                        "A request reaches `widgets.app.handle`.",
                        "**Steps**:",
                        ["The app validates the id", "The store returns the widget"],
                    ],
                    "Getting Started": "Run `make serve`.",
                    "Acknowledgements": "Thanks to everyone.",
                }
            },
            "metadata": {"source": "codewiki"},
            "subpages": [
                {
                    "title": "store",
                    "description": None,
                    "content": {
                        "Store Module": {
                            "Core Components": {
                                "Store class": (
                                    "The `Store` in widgets/store.py keeps widgets in a dict keyed by id. "
                                    "It is created once per process and shared by every request handler, so "
                                    "reads are cheap and consistent. `get` returns None for an unknown id "
                                    "instead of raising, leaving the app to decide how a missing widget is "
                                    "reported. Nothing else writes to the dict: all changes go through the "
                                    "store, which is what lets the app layer stay free of storage details "
                                    "and lets tests swap in a store filled with fixtures.\n\n"
                                    "Sources: [widgets/store.py:1-5]()"
                                )
                            }
                        }
                    },
                    "metadata": {"source": "codewiki"},
                    "subpages": [],
                }
            ],
        }
    ],
}
TINY_RUBRICS = {
    "rubrics": [
        {
            "requirements": "Store design",
            "weight": 3,
            "sub_tasks": [{"requirements": "In-memory dict", "weight": 2}],
        }
    ]
}

TINY_CODE = {
    "widgets/app.py": "from widgets.store import Store\n\ndef handle(request):\n    return Store().get(request.id)\n",
    "widgets/store.py": "class Store:\n    def __init__(self):\n        self.items = {}\n    def get(self, key):\n        return self.items.get(key)\n",
}


def docs_tree_of(docs: dict) -> dict:
    """The outline-only form: the same headings, every text replaced by <detail_content>."""

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items()}
        return "<detail_content>"

    def page(p, path):
        return {
            "title": p["title"],
            "path": json.dumps(path),
            "content": strip(p["content"]),
            **(
                {"subpages": [page(s, [*path, "subpages", i]) for i, s in enumerate(p["subpages"])]}
                if p.get("subpages")
                else {}
            ),
        }

    return {
        "title": docs["title"],
        "description": docs["description"],
        "subpages": [page(p, ["subpages", i]) for i, p in enumerate(docs["subpages"])],
    }


def tiny_row(repo_name: str = "acme/widgets") -> dict:
    return {
        "repo_name": repo_name,
        "commit_id": "0123abc",
        "docs_tree": json.dumps(docs_tree_of(TINY_DOCS)),
        "structured_docs": json.dumps(TINY_DOCS),
        "rubrics": json.dumps(TINY_RUBRICS),
    }


def real_row() -> dict | None:
    if not SHARED.is_dir():
        return None
    return {
        "repo_name": "OpenHands",
        "commit_id": "30604c40fc6e9ac914089376f41e118582954f4c",
        "docs_tree": (SHARED / "codewiki/docs_tree.json").read_text(encoding="utf-8"),
        "structured_docs": (SHARED / "codewiki/structured_docs.json").read_text(encoding="utf-8"),
        "rubrics": (SHARED / "rubrics/combined_rubrics.json").read_text(encoding="utf-8"),
    }


def rows() -> list[dict]:
    return [r for r in (tiny_row(), real_row()) if r is not None]


def write_dataset(target: Path, rows: list[dict], fmt: str = "disk") -> Path:
    """Write rows with `datasets` as a save_to_disk folder, a parquet file or a json-lines file."""
    import datasets

    ds = datasets.Dataset.from_list(rows)
    if fmt == "disk":
        ds.save_to_disk(str(target))
        return target
    target.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        path = target / "train-00000-of-00001.parquet"
        ds.to_parquet(str(path))
    else:
        path = target / "train.jsonl"
        ds.to_json(str(path), lines=True)
    return path


def write_checkout(root: Path) -> Path:
    for rel, text in TINY_CODE.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root
