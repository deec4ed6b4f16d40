"""GGUF conversion of the tiny gpt-oss: size and time per output type, and greedy agreement
with transformers (when llama-cpp-python is installed). Run by hand:

    .venv/bin/python bench/bench_package.py [OUT_DIR]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(k, "1")

from wikikit.package.gguf_convert import convert, find_converter  # noqa: E402
from wikikit.package.gguf_verify import compare_greedy, inspect_gguf, llama_cpp_available  # noqa: E402
from wikikit.train.tinymodel import make_tiny_model  # noqa: E402


def main() -> None:
    out = (
        Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="bench-package-"))
    )
    start = time.monotonic()
    model = make_tiny_model(out / "tiny")
    print(f"tiny gpt-oss: {time.monotonic() - start:.1f}s to build; {model}")
    converter = find_converter(None)
    greedy = llama_cpp_available()
    for outtype in ("f32", "f16", "bf16", "q8_0"):
        gguf = out / f"model-{outtype}.gguf"
        seconds = convert(model, gguf, outtype, converter, out / f"convert-{outtype}.log")
        info = inspect_gguf(gguf)
        line = (
            f"{outtype:5s} {gguf.stat().st_size / 1e6:8.1f} MB  convert {seconds:5.1f}s  "
            f"tensors {info['tensor_count']}  types {','.join(info['tensor_types'])}"
        )
        if greedy:
            cmp = compare_greedy(model, gguf, n_tokens=16)
            line += f"  greedy agree {cmp.agreed_prefix}/16  load {cmp.load_seconds:.2f}s"
        print(line, flush=True)


if __name__ == "__main__":
    main()
