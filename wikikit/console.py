"""Console output for every stage: plain lines, rich progress bars, --quiet, --json-logs.

Stages never print directly; they call `info`, `warn` and `progress` so that the CLI's output
mode applies everywhere. Nothing here may receive a secret: the recipe redacts them first.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

_mode = "normal"  # normal | quiet | json


def set_mode(mode: str) -> None:
    global _mode
    _mode = mode


def printable(text: str) -> str:
    """The text with control characters escaped (`\\x1b`, `\\u2028`).

    Messages quote values from recipes and data a stranger wrote; a raw ESC could drive the
    terminal and a line separator could forge a second message line.
    """
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


def _emit(level: str, msg: str, **fields: Any) -> None:
    if _mode == "json":
        rec = {"ts": round(time.time(), 3), "level": level, "msg": msg, **fields}
        print(json.dumps(rec, default=str), file=sys.stderr, flush=True)
    elif _mode == "quiet" and level == "info":
        return
    else:
        print(printable(msg), file=sys.stderr, flush=True)


def info(msg: str, **fields: Any) -> None:
    _emit("info", msg, **fields)


def warn(msg: str, **fields: Any) -> None:
    _emit("warning", f"warning: {msg}", **fields)


def error(msg: str, **fields: Any) -> None:
    _emit("error", f"error: {msg}", **fields)


def progress(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate with a progress bar on a terminal; a start/end line otherwise."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    start = time.monotonic()
    n = 0
    if _mode == "normal" and sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn()]
        columns += [MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn()]
        # On stderr like every other line, so stdout stays clean for results.
        with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task(description, total=total)
            for item in items:
                n += 1
                yield item
                bar.advance(task)
        _emit("info", f"{description}: {n} in {time.monotonic() - start:.1f}s", items=n)
        return
    for item in items:
        n += 1
        yield item
    _emit("info", f"{description}: {n} in {time.monotonic() - start:.1f}s", items=n)
