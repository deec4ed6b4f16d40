"""`wikikit inspect`: look at training examples as the model will see them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wikikit.errors import InputError

SPLITS = ("train", "validation", "test")


def load_examples(run_dir: Path, split: str, source: str | None, n: int) -> list[dict[str, Any]]:
    path = run_dir / "data" / f"{split}.jsonl"
    if not path.is_file():
        raise InputError(
            f"{path}: not found; run the data stage first (wikikit run RECIPE --only data)"
        )
    rows = []
    with path.open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{line_no}: not JSON: {exc.msg}") from None
            if source and row.get("source") != source:
                continue
            rows.append(row)
            if len(rows) >= n:
                break
    return rows


def print_examples(rows: list[dict[str, Any]], show_text: bool = True) -> None:
    """Each example in panels. Every text is printed verbatim (rich `Text`, never markup):
    `[src/a.py:1-2](...)` or `[bold]` in an example is the example's, not a style."""
    from rich.console import Console
    from rich.panel import Panel
    from rich.text import Text

    console = Console()
    if not rows:
        console.print("no examples match")
    for row in rows:
        refs = (
            ", ".join(f"{r['path']}:{r['start']}-{r['end']}" for r in row.get("refs") or [])
            or "none"
        )
        protocol = (row.get("meta") or {}).get("protocol")
        head = Text.assemble(
            (str(row.get("id")), "bold"),
            f" source={row.get('source')} category={row.get('category')} "
            f"language={row.get('language')} repo={row.get('repo')}"
            + (f" protocol={protocol}" if protocol else "")
            + f"\nrefs: {refs}\nfilters: passed every quality filter of the recipe (it is in the split)",
        )
        console.print(Panel(head, title="example"))
        for m in row.get("messages", []):
            label = m["role"] + (
                f" -> {c['name']}" if (c := (m.get("tool_calls") or [None])[0]) else ""
            )
            if m.get("thinking"):
                console.print(
                    Panel(Text(m["thinking"]), title=f"{m['role']} (analysis)", border_style="dim")
                )
            body = m.get("content") or json.dumps(m.get("tool_calls"), ensure_ascii=False)
            console.print(Panel(Text(body), title=Text(label)))
        if show_text and row.get("text"):
            console.print(Panel(Text(row["text"]), title="rendered"))
