"""Choosing and running llama.cpp's converter: sources, output types, k-quants, failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wikikit.errors import InputError, WikikitError
from wikikit.package.gguf_convert import (
    CONVERTER,
    convert,
    convert_model,
    fetch_sdist_converter,
    find_converter,
)


def test_named_checkout_must_hold_the_converter(tmp_path):
    with pytest.raises(InputError, match=r"package\.gguf\.llama_cpp_dir: .*not found"):
        find_converter(tmp_path)
    (tmp_path / CONVERTER).write_text("# stand-in\n")
    assert find_converter(tmp_path) == tmp_path / CONVERTER


def test_cached_sdist_tree_is_reused_without_downloading(tmp_path):
    tree = tmp_path / "sdist" / "llama_cpp_python-0.3.36" / "vendor" / "llama.cpp"
    tree.mkdir(parents=True)
    (tree / CONVERTER).write_text("# cached\n")
    assert fetch_sdist_converter(tmp_path) == tree  # no tarball present: must not fetch


def test_k_quant_without_the_quantize_tool_is_an_input_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no llama-quantize anywhere
    with pytest.raises(InputError, match="q4_k_m needs llama.cpp's llama-quantize"):
        convert_model(tmp_path, tmp_path / "m.gguf", {"quantize": "q4_k_m"}, tmp_path / "log")
    assert not (tmp_path / "m.gguf").exists()


def test_unknown_outtype_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="outtype"):
        convert(tmp_path, tmp_path / "m.gguf", "q2_k", tmp_path / CONVERTER, tmp_path / "log")


@pytest.mark.slow
def test_a_failed_conversion_leaves_no_gguf_and_a_log(tmp_path):
    """llama.cpp's real converter on a model it cannot convert."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"architectures": ["NoSuchModelForCausalLM"]}))
    out = tmp_path / "out" / "model.gguf"
    log = tmp_path / "out" / "convert.log"
    with pytest.raises(WikikitError, match="GGUF conversion failed"):
        convert(model, out, "f16", find_converter(None), log)
    assert not out.exists() and not list(out.parent.glob(".*tmp-*"))
    assert "NoSuchModelForCausalLM" in log.read_text()


def test_q8_0_named_as_quantize_is_written_by_the_converter(tmp_path, monkeypatch):
    calls = []

    def fake_convert(model_dir, out_path, outtype, converter, log_path):
        calls.append(outtype)
        Path(out_path).write_bytes(b"GGUF")
        return 0.1

    monkeypatch.setattr("wikikit.package.gguf_convert.convert", fake_convert)
    monkeypatch.setattr("wikikit.package.gguf_convert.find_converter", lambda *a, **k: Path("c.py"))
    conv = convert_model(tmp_path, tmp_path / "m.gguf", {"quantize": "q8_0"}, tmp_path / "log")
    assert calls == ["q8_0"] and conv.quantize is None and conv.outtype == "q8_0"
