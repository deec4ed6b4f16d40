"""Reading a recipe file within bounds: its size, its encoding, its nesting and its aliases.

A recipe may come from a stranger, so every bound is checked before the work it protects:
the size before the file is read, the encoding before YAML sees it, and depth, alias uses and
the size the document would have once its aliases were expanded while PyYAML composes it (a
"billion laughs" is cheap to compose because aliased nodes are shared; it explodes only when
built or walked, which never happens here). Each breach is an InputError at FILE:LINE:COL.

PyYAML facts relied on (pyyaml 6.0, yaml/composer.py): `Composer.compose_node` handles an
AliasEvent by returning the anchored node itself (shared, not copied) and composes a
collection's children by calling `compose_node` again, so overriding it sees every node and
every alias before anything refers to it; the pure-Python SafeLoader is used because the C
loader composes inside C and would not call the override.
"""

from __future__ import annotations

import codecs
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from wikikit.errors import InputError


@dataclass(frozen=True)
class Limits:
    """The bounds on one recipe file (README.md, "Sharing recipes safely", lists them)."""

    # The shipped recipes are under 4 KiB and 200 nodes; pure-Python YAML composes 40,000-70,000
    # nodes a second here (bench/recipe_bounds.py), so these bounds keep every breach well
    # under a second.
    max_bytes: int = 256 << 10  # the file's size, checked before it is read
    max_depth: int = 64  # nested maps and lists
    max_aliases: int = 100  # uses of `*anchor`
    max_nodes: int = 20_000  # keys, values and items once every alias is expanded
    max_chars: int = 1 << 20  # characters of all scalars once every alias is expanded
    max_extends: int = 8  # levels of `extends` below the recipe named on the command line
    max_reported: int = 50  # problems printed; the rest are counted


LIMITS = Limits()

_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),  # before UTF-16: its BOM starts with UTF-16 LE's
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


class Breach(Exception):
    """A bound or rule broken at a position in the text (line and column counted from 1)."""

    def __init__(self, line: int, col: int, message: str):
        super().__init__(message)
        self.line, self.col, self.message = line, col, message


def _human(n: int) -> str:
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MiB"
    return f"{n / 1024:.0f} KiB" if n >= 1 << 10 else f"{n} bytes"


def read_recipe_text(path: Path, file: str, limits: Limits = LIMITS) -> str:
    """The file's text, refused before reading when it is too large and when it is not UTF-8."""
    try:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            if stat.S_ISREG(st.st_mode) and st.st_size > limits.max_bytes:
                raise InputError(
                    f"{file}:1:1: the file is {_human(st.st_size)}; a recipe may be at most "
                    f"{_human(limits.max_bytes)}"
                )
            data = fh.read(limits.max_bytes + 1)  # a pipe or device has no size: read a bound
    except FileNotFoundError:
        raise InputError(f"{file}: no such recipe file") from None
    except IsADirectoryError:
        raise InputError(f"{file}: is a folder, not a recipe file") from None
    except OSError as exc:
        raise InputError(f"{file}: cannot read recipe: {exc.strerror}") from None
    if len(data) > limits.max_bytes:
        raise InputError(f"{file}:1:1: a recipe may be at most {_human(limits.max_bytes)}")
    try:
        return decode_utf8(data)
    except Breach as b:
        raise InputError(f"{file}:{b.line}:{b.col}: {b.message}") from None


def _line_col(data: bytes, pos: int) -> tuple[int, int]:
    start = data.rfind(b"\n", 0, pos) + 1
    col = len(data[start:pos].decode("utf-8", errors="replace")) + 1
    return data.count(b"\n", 0, pos) + 1, col


def decode_utf8(data: bytes) -> str:
    """UTF-8 text (a UTF-8 BOM is allowed); UTF-16/32, NUL bytes and bad bytes are a Breach."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            raise Breach(1, 1, f"the file is {name} encoded; save the recipe as UTF-8")
    nul = data.find(b"\x00")
    if nul >= 0:
        line, col = _line_col(data, nul)
        raise Breach(line, col, "NUL byte: a recipe is UTF-8 text (is the file UTF-16 or binary?)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _line_col(data, exc.start)
        raise Breach(
            line, col, f"byte 0x{data[exc.start]:02x} is not UTF-8; save the recipe as UTF-8"
        ) from None


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader whose composer counts depth, aliases and the expanded size as it goes."""

    def __init__(self, text: str, limits: Limits):
        super().__init__(text)
        self._limits = limits
        self._depth = 0
        self._aliases = 0
        self._nodes = 0
        self._chars = 0
        self._expanded: dict[str, tuple[int, int]] = {}  # anchor -> (nodes, chars) it stands for
        self._open: set[str] = set()  # anchors whose node is still being composed

    def _breach(self, mark: Any, message: str) -> Breach:
        return Breach(mark.line + 1, mark.column + 1, message)

    def _grow(self, nodes: int, chars: int, mark: Any) -> None:
        lim = self._limits
        self._nodes += nodes
        self._chars += chars
        if self._nodes > lim.max_nodes:
            raise self._breach(
                mark,
                f"the recipe would expand to more than {lim.max_nodes:,} nodes "
                "(aliases count as copies of what they name)",
            )
        if self._chars > lim.max_chars:
            raise self._breach(
                mark,
                f"the recipe's values would expand to more than {_human(lim.max_chars)} of text "
                "(aliases count as copies of what they name)",
            )

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            anchor = event.anchor
            if anchor in self._open:
                raise self._breach(
                    event.start_mark, f"alias *{anchor} is inside the node it names (a cycle)"
                )
            size = self._expanded.get(anchor)
            if size is not None:  # an undefined alias is left to PyYAML's own error
                self._aliases += 1
                if self._aliases > self._limits.max_aliases:
                    raise self._breach(
                        event.start_mark,
                        f"more than {self._limits.max_aliases} aliases (*name) in one recipe",
                    )
                self._grow(*size, event.start_mark)
            return super().compose_node(parent, index)
        if self._depth >= self._limits.max_depth:
            raise self._breach(
                event.start_mark, f"nested deeper than {self._limits.max_depth} levels"
            )
        before = (self._nodes, self._chars)
        chars = len(event.value) if isinstance(event, yaml.ScalarEvent) else 0
        self._grow(1, chars, event.start_mark)
        anchor = event.anchor
        if anchor is not None:
            self._open.add(anchor)
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if anchor is not None:
            self._open.discard(anchor)
            self._expanded[anchor] = (self._nodes - before[0], self._chars - before[1])
        return node


def compose_bounded(text: str, limits: Limits = LIMITS) -> yaml.Node | None:
    """The YAML node tree of one document; raises Breach, or PyYAML's own errors for bad YAML."""
    loader = _BoundedLoader(text, limits)
    try:
        return loader.get_single_node()
    except (ValueError, OverflowError) as exc:
        # PyYAML's scanner lets a few bad escapes through as Python errors: "\U08017136"
        # (past U+10FFFF) is chr()'s ValueError. Found by tests/recipe_fuzz.py.
        mark = loader.get_mark()
        raise Breach(mark.line + 1, mark.column + 1, f"cannot read this value ({exc})") from None
    finally:
        loader.dispose()


def reader_error_position(exc: yaml.reader.ReaderError, text: str) -> tuple[int, int]:
    """Line and column of a character PyYAML's reader refused (it reports an offset)."""
    pos = max(0, min(int(exc.position), len(text)))
    return text.count("\n", 0, pos) + 1, pos - (text.rfind("\n", 0, pos) + 1) + 1
