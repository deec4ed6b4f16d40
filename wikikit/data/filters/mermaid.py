"""Quality filter: every mermaid block in the assistant's text must parse with Mermaid itself.

Modes (recipe `data.quality.mermaid`): `must_parse` drops an example whose first bad block gives
the reason, e.g. `mermaid (parse error line 3, flowchart)`; `warn` keeps it and counts it;
`ignore` checks nothing. Building the filter in a checking mode starts the Node worker, so a
missing `node` or an `npm ci` that never ran surfaces at once as a WikikitError.
"""

from __future__ import annotations

from collections import Counter

from wikikit import console
from wikikit.errors import WikikitError
from wikikit.example import Example
from wikikit.mermaid import (
    DEFAULT_TIMEOUT_S,
    MermaidValidator,
    extract_mermaid_blocks,
    short_reason,
    validate_blocks,
)
from wikikit.mermaid import _validator as shared_validator

MODES = ("must_parse", "warn", "ignore")
_WARN_LIMIT = 5  # warn about the first few invalid examples; count all


class MermaidFilter:
    name = "mermaid"

    def __init__(self, mode: str = "must_parse", timeout_s: float = DEFAULT_TIMEOUT_S):
        if mode not in MODES:
            raise WikikitError(
                f"data.quality.mermaid: unknown mode {mode!r} (expected one of {', '.join(MODES)})"
            )
        self.mode = mode
        self.timeout_s = timeout_s
        self.counts: Counter = Counter()
        if mode != "ignore":
            validator: MermaidValidator = shared_validator()
            validator.worker(0)  # start now: raises WikikitError when Node or npm ci is missing

    def check(self, example: Example) -> str | None:
        if self.mode == "ignore":
            return None
        blocks = extract_mermaid_blocks(example.assistant_text)
        if not blocks:
            return None
        results = validate_blocks(blocks, timeout_s=self.timeout_s)
        self.counts["blocks"] += len(blocks)
        bad = [r for r in results if not r.ok]
        self.counts["invalid_blocks"] += len(bad)
        if not bad:
            return None
        reason = f"mermaid ({short_reason(bad[0]).replace(' (', ', ').rstrip(')')})"
        if self.mode == "must_parse":
            return reason
        self.counts["invalid_kept"] += 1
        if self.counts["invalid_kept"] <= _WARN_LIMIT:
            console.warn(f"example {example.id}: {reason} (kept: data.quality.mermaid is warn)")
        return None
