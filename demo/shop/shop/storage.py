"""Order storage: one JSON file per order under a directory, written atomically."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class OrderStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path_of(self, order_id: str) -> Path:
        return self.root / f"{order_id}.json"

    def save(self, order: dict[str, Any]) -> None:
        """Write to a temporary file, then rename: a crash never leaves half an order."""
        path = self.path_of(order["id"])
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(order, sort_keys=True))
        os.replace(tmp, path)

    def load(self, order_id: str) -> dict[str, Any]:
        return json.loads(self.path_of(order_id).read_text())

    def all(self) -> list[dict[str, Any]]:
        return [json.loads(p.read_text()) for p in sorted(self.root.glob("*.json"))]
