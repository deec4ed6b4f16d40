"""The real deepwiki.com page of ../shared/fixtures/deepwiki-real, and what must never survive it.

Found in the first `shared/` folder above this checkout (../shared beside the main checkout,
../../shared beside a worktree); None without it.
"""

from __future__ import annotations

from pathlib import Path

FIXTURE = "shared/fixtures/deepwiki-real/qcustomplot-2.1-core-components.html"
REPO, COMMIT = "vasilyaksenov/QCustomPlot", "2307919c"
PAGE_IDS = ["1", "2", "2.1", "2.2", "3", "3.1", "3.2", "3.3", "3.4", "4", "5"]

# Site chrome around the article (fixture README and the page itself) and React's comment debris.
CHROME_PHRASES = (
    "Index your code with",
    "Devin",
    "Last indexed",
    "Refresh this wiki",
    "Enter email to refresh",
    "On this page",
    "Edit Wiki",
    "Copy link to header",
    "$!",
    "/$",
)


def real_page_path() -> Path | None:
    for parent in Path(__file__).resolve().parents:
        candidate = parent / FIXTURE
        if candidate.is_file():
            return candidate
    return None


def real_page() -> bytes | None:
    path = real_page_path()
    return path.read_bytes() if path else None
