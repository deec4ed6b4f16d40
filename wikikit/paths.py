"""Where the project's own folders are: the one place that knows the checkout's layout."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = REPO_ROOT / "schemas"
RECIPES_DIR = REPO_ROOT / "recipes"
EVAL_TASKS_DIR = REPO_ROOT / "eval_tasks"
DEMO_DIR = REPO_ROOT / "demo"


def cache_root() -> Path:
    """wikikit's per-machine cache (built wheels, converters, the SemanticWiki client)."""
    import os

    return Path(os.environ.get("WIKIKIT_CACHE", Path.home() / ".cache" / "wikikit"))
