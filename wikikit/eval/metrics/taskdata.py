"""Loading the small datasets shipped with eval_tasks/ for lm-eval.

Rows differ in shape (files, rubric trees, expected calls), which Arrow cannot hold in one
schema, so each row travels as its JSON text in `payload` next to its `id`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wikikit.bounded import JsonlError, iter_jsonl
from wikikit.errors import InputError


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    path = Path(path)
    rows = []
    try:
        for n, row in iter_jsonl(path):
            if not isinstance(row, dict) or "id" not in row:
                raise InputError(f"{path}:{n}: row has no id")
            rows.append(row)
    except JsonlError as exc:
        raise InputError(str(exc)) from None
    return rows


def load_task_dataset(path: str | Path) -> Any:
    """A datasets.DatasetDict with one `test` split of {id, payload} rows."""
    import datasets

    rows = [{"id": r["id"], "payload": json.dumps(r, ensure_ascii=False)} for r in read_rows(path)]
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


def payload(doc: dict[str, Any]) -> dict[str, Any]:
    return json.loads(doc["payload"])
