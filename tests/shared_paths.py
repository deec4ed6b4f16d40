"""Where ../shared is: beside the checkout (/work/main) or further up (a worktree in /work/wt/x).

The real neighbours' artefacts live there (../shared/vendor/semanticwiki, ../shared/fixtures);
tests that need them skip with a reason when no such folder exists above the checkout.
"""

from __future__ import annotations

from pathlib import Path


def _find_shared() -> Path | None:
    for parent in Path(__file__).resolve().parents[1:]:
        candidate = parent / "shared"
        if (candidate / "fixtures").is_dir() or (candidate / "vendor").is_dir():
            return candidate
    return None


SHARED = _find_shared()
SEMANTICWIKI_VENDOR = SHARED / "vendor" / "semanticwiki" if SHARED else None
SEMANTICWIKI_TGZ = SEMANTICWIKI_VENDOR / "semanticwiki-1.2.1.tgz" if SEMANTICWIKI_VENDOR else None
SEMANTICWIKI_PROMPTS = SHARED / "fixtures" / "semanticwiki-prompts" if SHARED else None
