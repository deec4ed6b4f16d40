"""Quality filters. Each filter judges one Example and returns None (keep) or a short reason.

    class Filter(Protocol):
        name: str
        def check(self, example: Example) -> str | None: ...

`build_filters(quality: dict, ctx)` returns the filters the recipe's `data.quality` asks for,
in order; the data stage counts each drop reason per source for quality.json and the report.
A reason is `"<key>"` or `"<key> (<detail>)"`; counts are kept by key. A filter may also carry
`counts` (a Counter of things it noted without dropping, e.g. secrets redacted) and `status`
("ok" or "unavailable").
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Protocol

from wikikit.errors import WikikitError
from wikikit.example import Example

# What the data stage uses when `data.quality` leaves a key out.
DEFAULTS: dict[str, Any] = {
    "min_chars": 200,
    "require_refs": True,
    "verify_refs": True,
    "markdown": True,
    "mermaid": "must_parse",
    "mermaid_unavailable": "fail",
    "scrub_secrets": True,
    "local_mode": True,
}


class Filter(Protocol):
    name: str

    def check(self, example: Example) -> str | None: ...


def reason_key(reason: str) -> str:
    """The countable part of a reason: `bad_ref (x.py:9 past end)` -> `bad_ref`."""
    return reason.split(" (", 1)[0]


# A cheap pre-check so the Node worker only starts for text that may hold a diagram
# (``` or ~~~ fences, any case, any indent); the real extraction is wikikit.mermaid's.
_MAY_HOLD_MERMAID = re.compile(r"(?:`{3,}|~{3,})\s*mermaid", re.IGNORECASE)


def _mermaid_filter_class() -> Any:
    from wikikit.data.filters.mermaid import MermaidFilter

    return MermaidFilter


class MermaidCheck:
    """Runs the Mermaid issue's validator on examples that contain a mermaid block.

    The Node worker starts on the first such example only, so a dataset without diagrams never
    needs Node. When the validator cannot run, `on_unavailable="fail"` stops the run and
    `"skip"` keeps every example and reports the filter as "unavailable".
    """

    name = "mermaid"

    def __init__(self, mode: str, on_unavailable: str = "fail"):
        self.mode = mode
        self.on_unavailable = on_unavailable
        self.status = "ok"
        self.unavailable_reason = ""
        self.counts: Counter = Counter()
        self._inner: Any = None

    def _unavailable(self, why: str) -> None:
        if self.on_unavailable != "skip":
            raise WikikitError(
                f"data.quality.mermaid: the Mermaid validator is unavailable ({why}); "
                "set data.quality.mermaid_unavailable: skip to keep examples unchecked"
            )
        from wikikit import console

        console.warn(f"Mermaid validator unavailable ({why}); diagrams are not checked")
        self.status = "unavailable"
        self.unavailable_reason = why

    def check(self, example: Example) -> str | None:
        if self.status == "unavailable":
            if _MAY_HOLD_MERMAID.search(example.assistant_text):
                self.counts["unchecked"] += 1
            return None
        if not _MAY_HOLD_MERMAID.search(example.assistant_text):
            return None
        try:
            if self._inner is None:
                self._inner = _mermaid_filter_class()(self.mode)
            return self._inner.check(example)
        except (ImportError, WikikitError) as exc:
            self._unavailable(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            self.counts["unchecked"] += 1
            return None


def build_filters(quality: dict, ctx: Any) -> list[Filter]:
    """The filters `data.quality` asks for (defaults in DEFAULTS), cheapest first.

    `ctx` needs `.recipe` and `.cache_dir` (a StageContext or SourceContext): the reference
    check opens the recipe's repositories from the same cache the sources cloned into.
    """
    q = {**DEFAULTS, **(quality or {})}
    from wikikit.data.filters.control_tokens import ControlTokenFilter
    from wikikit.data.filters.length import (
        MaxCharsFilter,
        MaxTokensFilter,
        MinCharsFilter,
        OversizedPieceFilter,
    )

    # Always first: text the tokenizer cannot take (or would read as control tokens) must reach
    # no other check, nor the renderer.
    filters: list[Filter] = [OversizedPieceFilter(), ControlTokenFilter()]
    if q.get("scrub_secrets"):
        from wikikit.data.filters.secrets import SecretsScrubber

        filters.append(SecretsScrubber())  # first, so every later check sees redacted text
    if q.get("min_chars"):
        filters.append(MinCharsFilter(int(q["min_chars"])))
    if q.get("max_chars"):
        filters.append(MaxCharsFilter(int(q["max_chars"])))
    if q.get("local_mode"):
        from wikikit.data.filters.local_mode import LocalModeFilter

        share = q.get("min_context_share")
        filters.append(LocalModeFilter(float(share) if share is not None else None))
    if q.get("markdown"):
        from wikikit.data.filters.markdown import MarkdownFilter

        filters.append(MarkdownFilter())
    if q.get("require_refs"):
        from wikikit.data.filters.references import RequireRefsFilter

        filters.append(RequireRefsFilter())
    if q.get("verify_refs"):
        from wikikit.data.filters.references import RepoIndex, VerifyRefsFilter

        filters.append(VerifyRefsFilter(RepoIndex(ctx.recipe, ctx.cache_dir)))
    if q.get("max_tokens"):
        filters.append(MaxTokensFilter(int(q["max_tokens"])))
    if q.get("mermaid", "ignore") != "ignore":
        filters.append(MermaidCheck(q["mermaid"], q.get("mermaid_unavailable", "fail")))
    return filters
