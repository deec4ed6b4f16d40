"""Check a converted GGUF: its metadata (gguf's reader), that llama.cpp loads it, and that its
greedy tokens agree with transformers on the merged model for the same prompt.

Both runtimes follow transformers' greedy path (llama.cpp is fed transformers' tokens), and a
step agrees when llama.cpp picks the same token, or when the two picks are a near tie that the
runtimes' own rounding can swap: transformers' logits for them lie within twice the largest
logit difference between the runtimes at that step, and that difference is itself small
(NEAR_TIE_DRIFT). llama.cpp's kernels differ between CPUs (seen: a random model's text differed
from one x86 machine to another), so an exact-argmax rule passes on one CPU and fails on another
while the weights are the same."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from wikikit.errors import WikikitError

NEAR_TIE_DRIFT = 0.05  # logits; f32 GGUFs of the tiny model differ from transformers by ~6e-3

# Harmony's prompt for one user turn, as the chat template renders it for generation.
VERIFY_PROMPT = "Describe the architecture of a small web service in one sentence."


def _field_value(reader: Any, key: str) -> Any:
    f = reader.fields.get(key)
    if f is None:
        return None
    try:
        return f.contents()
    except Exception:  # older gguf: decode by hand
        if not f.data:
            return None
        part = f.parts[f.data[0]]
        try:
            return bytes(part).decode("utf-8")
        except (TypeError, ValueError):
            return part.tolist()


def inspect_gguf(path: Path) -> dict[str, Any]:
    """Architecture, tensor count, tokenizer metadata and chat template of a GGUF file."""
    from gguf import GGUFReader

    reader = GGUFReader(str(path))
    arch = _field_value(reader, "general.architecture")
    tokens = reader.fields.get("tokenizer.ggml.tokens")
    template = _field_value(reader, "tokenizer.chat_template")
    types = sorted({t.tensor_type.name for t in reader.tensors})
    return {
        "architecture": arch,
        "tensor_count": len(reader.tensors),
        "tensor_types": types,
        "tokenizer_model": _field_value(reader, "tokenizer.ggml.model"),
        "tokenizer_pre": _field_value(reader, "tokenizer.ggml.pre"),
        "vocab_size": len(tokens.data) if tokens is not None else 0,
        "eos_token_id": _field_value(reader, "tokenizer.ggml.eos_token_id"),
        "chat_template_chars": len(template) if isinstance(template, str) else 0,
        "context_length": _field_value(reader, f"{arch}.context_length") if arch else None,
        "block_count": _field_value(reader, f"{arch}.block_count") if arch else None,
    }


def check_metadata(
    info: dict[str, Any], expected_tensors: int | None = None, architecture: str = "gpt-oss"
) -> list[str]:
    """Problems with a GGUF's metadata for a wiki agent of `architecture` (empty when fine)."""
    problems = []
    if info["architecture"] != architecture:
        problems.append(f"architecture is {info['architecture']!r}, expected {architecture!r}")
    if info["tensor_count"] == 0:
        problems.append("no tensors")
    if expected_tensors is not None and info["tensor_count"] != expected_tensors:
        problems.append(f"{info['tensor_count']} tensors, expected {expected_tensors}")
    if info["tokenizer_model"] != "gpt2" or info["vocab_size"] == 0:
        problems.append(f"tokenizer metadata missing or unexpected ({info['tokenizer_model']!r})")
    if not info["chat_template_chars"]:
        problems.append("no tokenizer.chat_template")
    return problems


# config.json model_type -> the GGUF general.architecture llama.cpp's converter writes for it.
GGUF_ARCHITECTURES = {"gpt_oss": "gpt-oss", "llama": "llama"}


def expected_architecture(model_dir: Path) -> str:
    import json

    cfg = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    return GGUF_ARCHITECTURES.get(cfg.get("model_type"), "gpt-oss")


def expected_tensor_count(model_dir: Path) -> int:
    """Tensors the GGUF holds for this config: for gpt-oss 3 global + 19 per layer (experts
    fused); for llama (SmolLM2) token_embd, output_norm (+ output unless tied) + 9 per layer."""
    import json

    cfg = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    if cfg.get("model_type") == "llama":
        # attn_norm, attn_q/k/v/output, ffn_norm, ffn_gate/up/down (llama.cpp's LLAMA tensor map)
        tied = cfg.get("tie_word_embeddings", False)
        return 2 + (0 if tied else 1) + 9 * int(cfg["num_hidden_layers"])
    # token_embd, output_norm, output; per block: attn_norm, q/k/v/o (+ q/k/v/o bias), sinks,
    # post_attention_norm, router (+bias), gate_up/down experts (+biases) as llama.cpp maps them.
    return 3 + 19 * int(cfg["num_hidden_layers"])


def prompt_ids(model_dir: Path, prompt: str = VERIFY_PROMPT) -> list[int]:
    """The harmony generation prompt's token ids, from the model's own tokenizer and template."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(model_dir))
    ids = tok.apply_chat_template(
        [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=True
    )
    if hasattr(ids, "keys"):  # transformers 5 returns a BatchEncoding
        ids = ids["input_ids"]
    return [int(i) for i in ids]


def transformers_greedy(model_dir: Path, ids: list[int], n: int) -> tuple[list[int], list[Any]]:
    """Greedy tokens and each step's logits (numpy rows)."""
    import torch
    from transformers import AutoModelForCausalLM

    # float32 is the exact reference for small models; a 20B model stays in its saved dtype.
    weights = sum(p.stat().st_size for p in model_dir.glob("*.safetensors"))
    dtype = torch.float32 if weights < 4e9 else "auto"
    model = AutoModelForCausalLM.from_pretrained(
        str(model_dir), dtype=dtype, attn_implementation="eager"
    ).eval()
    out, rows = [], []
    cur = torch.tensor([ids])
    with torch.no_grad():
        past = None
        for _ in range(n):
            res = model(input_ids=cur, past_key_values=past, use_cache=True)
            past = res.past_key_values
            row = res.logits[0, -1].float()
            nxt = int(row.argmax())
            out.append(nxt)
            rows.append(row.numpy())
            cur = torch.tensor([[nxt]])
    return out, rows


def llama_cpp_greedy(
    gguf_path: Path, ids: list[int], n: int, follow: list[int] | None = None
) -> tuple[list[int], list[Any], float]:
    """Greedy tokens from llama-cpp-python, each step's logits, and the seconds the load took.
    With `follow`, each step is fed follow's token instead of its own pick."""
    import time

    from llama_cpp import Llama

    start = time.monotonic()
    # logits_all: llama-cpp-python keeps a row of `scores` per evaluated token only then.
    llm = Llama(
        model_path=str(gguf_path),
        n_ctx=max(512, len(ids) + n + 8),
        logits_all=True,
        verbose=False,
    )
    load_s = time.monotonic() - start
    llm.reset()
    llm.eval(ids)
    out, rows = [], []
    for step in range(n):
        logits = llm.scores[llm.n_tokens - 1].copy()
        nxt = int(logits.argmax())
        out.append(nxt)
        rows.append(logits)
        llm.eval([follow[step] if follow else nxt])
    llm.close()
    return out, rows, load_s


@dataclass
class GreedyComparison:
    prompt_tokens: int
    transformers: list[int]
    llama_cpp: list[int]
    agreed_prefix: int
    required: int
    load_seconds: float
    near_ties: int = 0  # steps where the two picks were a near tie (see the module docstring)
    max_logit_diff: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.agreed_prefix >= self.required

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def compare_greedy(
    model_dir: Path, gguf_path: Path, n_tokens: int = 8, required: int | None = None
) -> GreedyComparison:
    """Greedy decode the same harmony prompt in both runtimes; count the agreeing prefix."""
    import numpy as np

    ids = prompt_ids(model_dir)
    ref, ref_rows = transformers_greedy(model_dir, ids, n_tokens)
    got, got_rows, load_s = llama_cpp_greedy(gguf_path, ids, n_tokens, follow=ref)
    agreed = ties = 0
    worst = 0.0
    for a, b, tf, ll in zip(ref, got, ref_rows, got_rows, strict=True):
        n = min(len(tf), len(ll))  # llama.cpp's rows may be the tokenizer's size, not padded
        drift = float(np.max(np.abs(tf[:n] - ll[:n])))
        worst = max(worst, drift)
        if a != b:
            if not (drift <= NEAR_TIE_DRIFT and b < n and tf[a] - tf[b] <= 2 * drift):
                break
            ties += 1
        agreed += 1
    return GreedyComparison(
        prompt_tokens=len(ids),
        transformers=ref,
        llama_cpp=got,
        agreed_prefix=agreed,
        required=n_tokens if required is None else required,
        load_seconds=round(load_s, 3),
        near_ties=ties,
        max_logit_diff=round(worst, 6),
    )


def llama_cpp_available() -> bool:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return False
    return True


def require_ok(cmp: GreedyComparison, gguf_path: Path) -> None:
    if not cmp.ok:
        raise WikikitError(
            f"{gguf_path.name}: llama.cpp's greedy tokens {cmp.llama_cpp} disagree with "
            f"transformers' {cmp.transformers} after {cmp.agreed_prefix} tokens "
            f"(need {cmp.required})"
        )
