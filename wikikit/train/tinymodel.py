"""A tiny gpt-oss with the real tokenizer: the offline stand-in for openai/gpt-oss-20b.

The model is transformers' GptOssConfig shrunk to a few layers, a small hidden size and a few
experts, with seeded random weights. The tokenizer is the real one: o200k_base plus the harmony
special tokens at the ids openai-harmony uses (read from its encoding), converted offline with
transformers' TikTokenConverter from the vocab file wikikit.vocab provides. The chat template is
wikikit's harmony template (wikikit/train/chat_template/harmony.jinja). Every stage (Axolotl, merge,
GGUF conversion, llama.cpp, lm-eval) therefore runs the real code path on the real architecture.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import wikikit  # noqa: F401  (points tiktoken/openai-harmony at the offline vocab)
from wikikit.vocab import vocab_path

VOCAB_SIZE = 201088  # gpt-oss-20b's embedding rows; harmony reserves special ids below this
TEMPLATE_PATH = Path(__file__).resolve().parent / "chat_template" / "harmony.jinja"
MARKER = "wikikit-tiny-model.json"  # what was built, so a second call with the same shape is free
BUILD_VERSION = 1  # bump when the build changes, so cached models are rebuilt


def chat_template() -> str:
    """wikikit's harmony chat template (jinja text)."""
    return TEMPLATE_PATH.read_text(encoding="utf-8")


def harmony_encoding():
    from openai_harmony import HarmonyEncodingName, load_harmony_encoding

    return load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)


def harmony_special_tokens() -> list[tuple[int, str]]:
    """(id, token) for every harmony special token that fits the model's vocabulary, by id."""
    enc = harmony_encoding()
    out = []
    for tok in enc.special_tokens_set:
        ids = enc.encode(tok, allowed_special="all")
        if len(ids) == 1 and ids[0] < VOCAB_SIZE:
            out.append((ids[0], tok))
    return sorted(out)


@lru_cache(maxsize=1)
def _build_fast_tokenizer():
    import tiktoken
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    specials = harmony_special_tokens()
    n_ranks = len(tiktoken.get_encoding("o200k_base")._mergeable_ranks)
    # The converter appends specials in order after the ranks: they must be contiguous from there.
    if [i for i, _ in specials] != list(range(n_ranks, n_ranks + len(specials))):
        raise RuntimeError("harmony special token ids are not contiguous after o200k_base ranks")
    converter = TikTokenConverter(
        vocab_file=str(vocab_path()),
        pattern=tiktoken.get_encoding("o200k_base")._pat_str,
        extra_special_tokens=[t for _, t in specials],
    )
    tok = PreTrainedTokenizerFast(
        tokenizer_object=converter.converted(),
        bos_token="<|startoftext|>",
        eos_token="<|return|>",
        pad_token="<|endoftext|>",
        model_max_length=131072,
    )
    tok.chat_template = chat_template()
    for i, t in specials:
        if tok.convert_tokens_to_ids(t) != i:
            raise RuntimeError(
                f"tokenizer puts {t} at {tok.convert_tokens_to_ids(t)}, harmony at {i}"
            )
    return tok


def make_tokenizer():
    """The real gpt-oss tokenizer (o200k_base + harmony specials) with wikikit's chat template."""
    return _build_fast_tokenizer()


def tiny_config(*, num_hidden_layers: int = 2, hidden_size: int = 64, num_local_experts: int = 4):
    from transformers import GptOssConfig

    head_dim = 16
    heads = max(2, hidden_size // head_dim)
    return GptOssConfig(
        vocab_size=VOCAB_SIZE,
        hidden_size=hidden_size,
        intermediate_size=hidden_size,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=heads,
        num_key_value_heads=max(1, heads // 2),
        head_dim=head_dim,
        num_local_experts=num_local_experts,
        num_experts_per_tok=min(2, num_local_experts),
        # Alternate sliding/full attention as gpt-oss-20b does.
        layer_types=[
            "sliding_attention" if i % 2 == 0 else "full_attention"
            for i in range(num_hidden_layers)
        ],
        bos_token_id=199998,
        eos_token_id=200002,
        pad_token_id=199999,
        tie_word_embeddings=False,
    )


def make_tiny_model(
    out_dir: str | os.PathLike,
    *,
    num_hidden_layers: int = 2,
    hidden_size: int = 64,
    num_local_experts: int = 4,
    seed: int = 0,
) -> Path:
    """Build the tiny gpt-oss into `out_dir` (save_pretrained layout) and return its path.

    Idempotent: when `out_dir` already holds a model built with the same shape and seed it is
    returned as is. The directory appears complete or not at all (built beside it, then renamed).
    """
    out = Path(out_dir)
    spec: dict[str, Any] = {
        "build_version": BUILD_VERSION,
        "num_hidden_layers": num_hidden_layers,
        "hidden_size": hidden_size,
        "num_local_experts": num_local_experts,
        "seed": seed,
        "template_sha256": _sha256(chat_template()),
    }
    marker = out / MARKER
    if marker.is_file():
        try:
            if json.loads(marker.read_text(encoding="utf-8")) == spec:
                return out
        except json.JSONDecodeError:
            pass

    import torch
    from transformers import GenerationConfig, GptOssForCausalLM

    config = tiny_config(
        num_hidden_layers=num_hidden_layers,
        hidden_size=hidden_size,
        num_local_experts=num_local_experts,
    )
    torch.manual_seed(seed)
    model = GptOssForCausalLM(config).eval()
    model.generation_config = GenerationConfig(
        bos_token_id=199998,
        eos_token_id=[200002, 199999, 200012],  # <|return|>, <|endoftext|>, <|call|> as gpt-oss
        pad_token_id=199999,
        do_sample=False,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        model.save_pretrained(tmp)
        make_tokenizer().save_pretrained(tmp)
        (tmp / MARKER).write_text(
            json.dumps(spec, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _sha256(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()
