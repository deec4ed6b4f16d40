"""Resumable training: the Trainer's checkpoints in the stage cache, kept only when they belong to
this exact training (config and data content) and are complete."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from wikikit import console
from wikikit.atomic import write_text


def _checkpoints(output_dir: Path) -> list[Path]:
    """The Trainer's checkpoint-N directories, oldest first (the rule Axolotl resumes by)."""
    cps = [p for p in output_dir.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
    return sorted(cps, key=lambda p: int(p.name.split("-")[-1]))


def checkpoint_state(checkpoint: Path) -> dict[str, Any] | None:
    """A checkpoint's trainer_state.json; None when the save was cut short (it is written last)."""
    try:
        state = json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def latest_checkpoint(output_dir: Path) -> Path | None:
    cps = [cp for cp in _checkpoints(output_dir) if checkpoint_state(cp) is not None]
    return cps[-1] if cps else None


def _file_sha256(path: Path) -> str | None:
    if not path.is_file():
        return None
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def training_identity(cfg: dict[str, Any]) -> str:
    """What checkpoints are only valid for: the config and the content behind its paths.

    A re-run data stage rewrites train.jsonl at the same path, so the files' bytes count too
    (and a local base model's config)."""
    files = [d["path"] for d in cfg.get("datasets", []) + cfg.get("test_datasets", [])]
    if cfg.get("base_model"):
        files.append(str(Path(cfg["base_model"]) / "config.json"))
    contents = {f: _file_sha256(Path(f)) for f in files}
    blob = json.dumps([cfg, contents], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def prepared_key(data_files: list[Path], *code: Path) -> str:
    """Names Axolotl's prepared dataset after what it is made of: the data files' bytes and the
    template and strategy that tokenize them (Axolotl's own key hashes paths, not contents)."""
    contents = [_file_sha256(Path(f)) for f in [*data_files, *code]]
    return hashlib.sha256(json.dumps(contents).encode()).hexdigest()[:16]


def drop_stale_prepared(prepared_root: Path, keep: str) -> None:
    """Earlier data's prepared datasets are never read again."""
    if prepared_root.is_dir():
        for old in prepared_root.iterdir():
            if old.is_dir() and old.name != keep:
                shutil.rmtree(old, ignore_errors=True)


def prepare_checkpoint_dir(output_dir: Path, cfg: dict[str, Any]) -> dict[str, Any] | None:
    """Keep checkpoints only when they belong to this exact training and are complete.

    Returns the trainer state of the checkpoint Axolotl will resume from, or None (fresh start).
    """
    stamp = output_dir / "wikikit-config.sha256"
    digest = training_identity(cfg)
    if output_dir.exists() and (not stamp.is_file() or stamp.read_text().strip() != digest):
        shutil.rmtree(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    # The Trainer writes a checkpoint in place (no rename): a kill mid-save leaves one without
    # trainer_state.json, and Axolotl would resume from it (the highest number) and fail.
    for cp in _checkpoints(output_dir):
        if checkpoint_state(cp) is None:
            console.warn(f"train: removing {cp.name}, cut short before it was complete")
            shutil.rmtree(cp)
    write_text(stamp, digest + "\n")
    latest = latest_checkpoint(output_dir)
    return checkpoint_state(latest) if latest else None


def trainer_state(output_dir: Path) -> dict[str, Any]:
    cp = latest_checkpoint(output_dir)
    return (checkpoint_state(cp) or {}) if cp else {}
