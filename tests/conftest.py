"""Test-wide settings: the vendored SemanticWiki pack, when ../shared has it, is the one the
tests (and the wikikit runs they start) install the client from (wikikit.semanticwiki.install)."""

from __future__ import annotations

import os

from shared_paths import SEMANTICWIKI_TGZ

if SEMANTICWIKI_TGZ is not None and SEMANTICWIKI_TGZ.is_file():
    os.environ.setdefault("WIKIKIT_SEMANTICWIKI_TGZ", str(SEMANTICWIKI_TGZ))
