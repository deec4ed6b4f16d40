"""Shared model fixtures: the tiny gpt-oss (random weights, the real o200k tokenizer) and its GGUF.

Import the fixtures a test module needs (`from model_fixtures import tiny_model`). They build
under pytest's base temp folder with idempotent builders, so however many modules import them,
the model is built once per session (per xdist worker) and the GGUF converted once.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

for _k, _v in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "WANDB_MODE": "disabled",
}.items():
    os.environ.setdefault(_k, _v)


def _shared_dir(factory: pytest.TempPathFactory) -> Path:
    return factory.getbasetemp() / "shared-models"


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny gpt-oss folder (save_pretrained layout), laid out as a train stage's merged/."""
    from wikikit.train.tinymodel import make_tiny_model

    return make_tiny_model(_shared_dir(tmp_path_factory) / "train" / "merged")


@pytest.fixture(scope="session")
def merged_model(tiny_model: Path) -> Path:
    """A train stage's output folder whose merged/ is the tiny gpt-oss (random weights are valid
    weights)."""
    return tiny_model.parent


@pytest.fixture(scope="session")
def tiny_gguf(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny gpt-oss converted to an f16 GGUF by llama.cpp's own converter."""
    from wikikit.package.gguf_convert import convert, find_converter

    out = _shared_dir(tmp_path_factory) / "gguf" / "model.gguf"
    if not out.is_file():  # convert() renames into place only when it succeeded
        convert(tiny_model, out, "f16", find_converter(None), out.with_name("convert.log"))
    return out
