"""The real SemanticWiki client for tests: installed once (per machine, and so per session)
from the vendored pack, and a fake teacher that answers its local-mode prompts about demo/shop.

Import what a test module needs (`from semanticwiki_fixtures import semanticwiki_client`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHOP = ROOT / "demo" / "shop"


@pytest.fixture(scope="session")
def semanticwiki_client():
    """The installed client (wikikit.semanticwiki.install): from the stamp of an earlier
    install, else installed now from WIKIKIT_SEMANTICWIKI_TGZ (tests/conftest.py points it at
    ../shared/vendor/semanticwiki when that exists)."""
    from wikikit.semanticwiki.install import ClientSpec, ensure_client, install_dir

    spec = ClientSpec.from_env()
    if spec.install is None and spec.tgz is None and not (install_dir() / "stamp.json").is_file():
        pytest.skip("needs the SemanticWiki pack (../shared/vendor/semanticwiki) or an install")
    return ensure_client(spec)


def shop_teacher(api: str, body: dict[str, Any]) -> str:
    """Local-mode answers written from demo/shop's code (demo/build_teacher_cache.py's)."""
    sys.path.insert(0, str(ROOT / "demo"))
    from build_teacher_cache import local_mode_answer
    from teacher_fakes import last_user_text

    answer = local_mode_answer(last_user_text(body))
    assert answer is not None, "not a SemanticWiki local-mode prompt"
    return answer
