"""A stand-in for the `vllm` executable: `serve MODEL --host H --port P ...` answers the OpenAI API.

vLLM cannot be installed here (no GPU, no wheel for this torch); this script takes the command
line wikikit builds, records it (FAKE_VLLM_LOG), and serves tests/openai_stub.py on that host and
port under the served model name until it is terminated, so the served-model path is tested
end to end: argument list, readiness on /v1/models, OpenAI requests, shutdown.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from openai_stub import StubServer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(prog="vllm")
    sub = parser.add_subparsers(dest="cmd", required=True)
    serve = sub.add_parser("serve")
    serve.add_argument("model")
    serve.add_argument("--host", required=True)
    serve.add_argument("--port", type=int, required=True)
    serve.add_argument("--served-model-name", required=True)
    serve.add_argument("--dtype", choices=["auto", "float16", "bfloat16", "float32"], required=True)
    serve.add_argument("--max-model-len", type=int, required=True)
    serve.add_argument("--tensor-parallel-size", type=int, required=True)
    serve.add_argument("--gpu-memory-utilization", type=float, required=True)
    serve.add_argument("--seed", type=int, required=True)
    args = parser.parse_args()
    if os.environ.get("FAKE_VLLM_LOG"):
        Path(os.environ["FAKE_VLLM_LOG"]).write_text(
            json.dumps({"argv": sys.argv[1:], **vars(args)})
        )
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with StubServer(port=args.port, model_ids=(args.served_model_name,)):
        done.wait()


if __name__ == "__main__":
    main()
