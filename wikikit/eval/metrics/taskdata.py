"""Loading the small datasets shipped with eval_tasks/ for lm-eval.

Rows differ in shape (files, rubric trees, expected calls), which Arrow cannot hold in one
schema, so each row travels as its JSON text in `payload` next to its `id`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wikikit.errors import InputError


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    path = Path(path)
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{path}:{n}: not JSON: {e.msg}") from None
        if "id" not in row:
            raise InputError(f"{path}:{n}: row has no id")
        rows.append(row)
    return rows


def load_task_dataset(path: str | Path) -> Any:
    """A datasets.DatasetDict with one `test` split of {id, payload} rows."""
    import datasets

    rows = [{"id": r["id"], "payload": json.dumps(r, ensure_ascii=False)} for r in read_rows(path)]
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


def payload(doc: dict[str, Any]) -> dict[str, Any]:
    return json.loads(doc["payload"])
