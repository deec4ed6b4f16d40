"""HTML building blocks for the report: escaping (everything from a run is untrusted), numbers,
tables, cards, notes and embedded charts."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from wikikit import console


class Raw(str):
    """HTML built here (already escaped); every other string is escaped when emitted."""


def esc(value: Any) -> str:
    if isinstance(value, Raw):
        return value
    return html.escape(str(value), quote=True)


def fmt_num(value: Any, digits: int = 4) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.{digits}g}"
    return str(value)


def fmt_bytes(n: Any) -> str:
    if not isinstance(n, int | float):
        return ""
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return str(n)


def table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Sequence[int] = ()
) -> Raw:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, c in enumerate(row):
            cls = ' class="num"' if i in numeric else ""
            cells.append(f"<td{cls}>{esc(c if isinstance(c, Raw) else fmt_num(c))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not body:
        return Raw("")
    thead = f"<thead><tr>{head}</tr></thead>" if any(headers) else ""
    return Raw(f"<table>{thead}<tbody>{''.join(body)}</tbody></table>")


def chart(make: Callable[[], str], alt: str) -> Raw:
    """A chart as an <img>; a chart that cannot be drawn becomes a note, not a broken page."""
    try:
        uri = make()
    except Exception as exc:  # a plotting bug must not cost the user the whole report
        return note(f"chart unavailable ({type(exc).__name__}: {exc})")
    return Raw(f'<figure><img alt="{esc(alt)}" src="{esc(uri)}"></figure>')


def note(text: str, kind: str = "muted") -> Raw:
    return Raw(f'<p class="{kind}">{esc(text)}</p>')


def cards(items: Sequence[tuple[str, Any]]) -> Raw:
    parts = [
        f'<div class="card"><div class="v">{esc(fmt_num(v))}</div><div class="k">{esc(k)}</div></div>'
        for k, v in items
        if v is not None
    ]
    return Raw(f'<div class="cards">{"".join(parts)}</div>')


def code(text: Any) -> Raw:
    return Raw(f"<code>{esc(text)}</code>")


def guarded(make: Callable[[], Raw]) -> Raw:
    """A section that raises (odd or hand-edited files) becomes a visible note."""
    try:
        return make()
    except Exception as exc:
        console.warn(f"report: a section could not be rendered: {type(exc).__name__}: {exc}")
        return note(f"this part could not be rendered ({type(exc).__name__}: {exc})", "error")
