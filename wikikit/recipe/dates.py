"""`model.current_date`: the `Current date:` each training example's system block says.

Both runtimes write today's date there at deployment (wikikit/semanticwiki/runtimes.py), so one
fixed date in every example teaches the model one day. The key takes:
- a day, `"2026-02-04"` (the default, DEFAULT_CURRENT_DATE): every example says it;
- a range, `{from: 2026-01-01, to: 2026-12-31}` (both days included): each example gets a day of
  it, chosen from a hash of the example's id, so a rerun renders the same text;
- `recording`: the day the example was recorded (`meta.recorded`, written by the semanticwiki
  source from the exchange's `date`); an example with no recorded day is an error naming it.

The data stage writes the chosen day into each row (`current_date`) beside its text, and the
Axolotl strategy (wikikit/train/harmony_turns.py) renders the row with it, so the text Axolotl
trains on is the data stage's text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from typing import Any

from wikikit.errors import InputError

KEY = "model.current_date"
DEFAULT_CURRENT_DATE = "2026-02-04"  # the pinned client's release (SemanticWiki 1.2.1, 2026-02-04)
RECORDING = "recording"

# An example's id (and meta) -> its day.
DateOf = Callable[[str, dict[str, Any]], str]


def _day(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):  # YAML reads an unquoted 2026-01-01 as a date
        return value
    text = str(value)
    try:
        if len(text) != 10:  # fromisoformat also takes 20260101
            raise ValueError(text)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None


def problem(spec: Any) -> str | None:
    """What is wrong with a `model.current_date` value (None if nothing): "key.path: why"."""
    try:
        date_function(spec)
    except InputError as exc:
        return str(exc)
    return None


def date_function(spec: Any, key: str = KEY) -> DateOf | None:
    """The day of each example under `spec`; None for no `Current date:` line (`false`/null)."""
    if spec is None or spec is False:
        return None
    if spec == RECORDING:
        return _recorded
    if isinstance(spec, dict):
        if set(spec) != {"from", "to"}:
            raise InputError(f"{key}: a range is {{from: YYYY-MM-DD, to: YYYY-MM-DD}}")
        lo, hi = _day(spec["from"], f"{key}.from"), _day(spec["to"], f"{key}.to")
        if hi < lo:
            raise InputError(f"{key}.to: {hi.isoformat()} is before {key}.from {lo.isoformat()}")
        span = (hi - lo).days + 1
        return lambda example_id, meta: (
            lo + dt.timedelta(days=_pick(example_id, span))
        ).isoformat()
    if not isinstance(spec, (str, dt.date)) or len(str(spec)) != 10:
        raise InputError(
            f"{key}: {spec!r} is not a day (YYYY-MM-DD), a range {{from: YYYY-MM-DD, "
            f"to: YYYY-MM-DD}} or {RECORDING}"
        )
    day = _day(spec, key).isoformat()
    return lambda example_id, meta: day


def fixed_date(spec: Any) -> str | None:
    """The one day every example says, or None when the days vary (a range, `recording`)."""
    if isinstance(spec, dict) or spec == RECORDING:
        return None
    fn = date_function(spec)
    return fn("", {}) if fn else None


def _pick(example_id: str, span: int) -> int:
    digest = hashlib.sha256(f"current_date:{example_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % span


def _recorded(example_id: str, meta: dict[str, Any]) -> str:
    day = (meta or {}).get("recorded")
    if not day:
        raise InputError(
            f"{KEY}: recording: example {example_id} has no recorded day (meta.recorded); "
            "only examples recorded through the client have one: use a range"
        )
    return _day(day, f"{KEY}: recording: example {example_id}").isoformat()
