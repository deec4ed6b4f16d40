"""Atomic file writes: every file appears under its final name complete, or not at all.

A writer writes to a hidden temporary name in the same directory, fsyncs, and renames into
place. A run killed at any moment leaves only `.*.tmp-*` files, which `remove_partials` clears.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

TMP_MARK = ".tmp-"


def _file_mode() -> int:
    # mkstemp creates 0600 files; outputs should get the usual mode the umask allows.
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


FILE_MODE = _file_mode()


@contextlib.contextmanager
def open_atomic(path: str | os.PathLike, mode: str = "w") -> Iterator[IO[Any]]:
    """Open `path` for writing; the file is renamed into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}{TMP_MARK}", dir=path.parent)
    try:
        os.fchmod(fd, FILE_MODE)
        kwargs = {} if "b" in mode else {"encoding": "utf-8", "newline": "\n"}
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    with open_atomic(path) as f:
        f.write(text)


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with open_atomic(path, "wb") as f:
        f.write(data)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def write_jsonl(path: str | os.PathLike, rows: Any) -> int:
    """Write an iterable of dicts as JSON lines (sorted keys, so output is byte-stable)."""
    n = 0
    with open_atomic(path) as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, sort_keys=True))
            f.write("\n")
            n += 1
    return n


def remove_partials(root: str | os.PathLike) -> int:
    """Delete temporary files left by a killed writer under `root`; returns how many."""
    n = 0
    root = Path(root)
    if not root.exists():
        return 0
    for p in root.rglob(f".*{TMP_MARK}*"):
        if p.is_file():
            p.unlink()
            n += 1
    return n
