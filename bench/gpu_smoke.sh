#!/usr/bin/env bash
# A short real training run on a GPU machine, with the gpu profile (Axolotl's gpt-oss LoRA
# example): the label check, a few LoRA steps, merge, q8_0 GGUF with verification. It prints
# tokens/s, peak memory, the first losses, and what merge and GGUF produced.
#
#   bench/gpu_smoke.sh [--model ID_OR_DIR] [--steps N] [--seq-len N] [--out DIR] [--offline]
#                      [--print-config]
#
# --model         base model: a Hub id or a folder (default: openai/gpt-oss-20b when its weights
#                 are in the local Hub cache, else a larger random gpt-oss built on the spot,
#                 ~0.9B parameters, the real tokenizer)
# --steps         optimizer steps (default 10)
# --seq-len       train.sequence_len (default 4096, as Axolotl's example)
# --out           working folder (default: a new folder under /tmp)
# --offline       no Hub: eager attention and no kernels (kernels-community/* come from the Hub)
# --print-config  write the recipe, print the Axolotl config it produces (validated by Axolotl)
#                 and stop: no GPU needed
#
# Needs: the project's environment (make setup) with Axolotl's GPU build (CUDA torch,
# `pip install "axolotl[flash-attn,deepspeed]==0.19.0"`), a CUDA GPU, and for the GGUF the
# cached llama-cpp-python sdist (make setup puts it in ~/.cache/wikikit). CI never runs this.
set -euo pipefail

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "gpu_smoke: $*" >&2; echo "usage: bench/gpu_smoke.sh [--model X] [--steps N] [--seq-len N] [--out DIR] [--offline] [--print-config]" >&2; exit 2; }

MODEL="" STEPS=10 SEQ_LEN=4096 OUT="" OFFLINE=0 PRINT_ONLY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --model) [ $# -ge 2 ] || die "--model needs a value"; MODEL="$2"; shift 2 ;;
    --steps) [ $# -ge 2 ] || die "--steps needs a value"; STEPS="$2"; shift 2 ;;
    --seq-len) [ $# -ge 2 ] || die "--seq-len needs a value"; SEQ_LEN="$2"; shift 2 ;;
    --out) [ $# -ge 2 ] || die "--out needs a value"; OUT="$2"; shift 2 ;;
    --offline) OFFLINE=1; shift ;;
    --print-config) PRINT_ONLY=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
done
[[ "$STEPS" =~ ^[1-9][0-9]*$ ]] || die "--steps must be a positive integer (got '$STEPS')"
[[ "$SEQ_LEN" =~ ^[1-9][0-9]*$ ]] && [ "$SEQ_LEN" -ge 128 ] || die "--seq-len must be an integer of at least 128 (got '$SEQ_LEN')"

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python3)"
WIKIKIT="$(dirname "$PY")/wikikit"
[ -x "$WIKIKIT" ] || WIKIKIT="$(command -v wikikit || true)"
[ -n "$WIKIKIT" ] || die "wikikit is not installed next to $PY (run make setup)"
OUT="${OUT:-$(mktemp -d /tmp/gpu-smoke.XXXXXX)}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" TOKENIZERS_PARALLELISM=false WANDB_MODE=disabled AXOLOTL_DO_NOT_TRACK=1
if [ "$OFFLINE" = 1 ]; then export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1; fi

CHOSEN="$("$PY" "$ROOT/bench/gpu_smoke_setup.py" model ${MODEL:+--model "$MODEL"} --out "$OUT")"
case "$CHOSEN" in
  /*|./*|../*) [ -d "$CHOSEN" ] && CHOSEN="$(cd "$CHOSEN" && pwd)"
    export WIKIKIT_ALLOWED_ROOTS="$(dirname "$CHOSEN")${WIKIKIT_ALLOWED_ROOTS:+:$WIKIKIT_ALLOWED_ROOTS}" ;;
esac
OFFLINE_FLAG=(); [ "$OFFLINE" = 1 ] && OFFLINE_FLAG=(--offline)
RECIPE="$("$PY" "$ROOT/bench/gpu_smoke_setup.py" write "$OUT" --model "$CHOSEN" --steps "$STEPS" --seq-len "$SEQ_LEN" "${OFFLINE_FLAG[@]}")"
echo "gpu_smoke: model $CHOSEN, $STEPS steps of $SEQ_LEN tokens, recipe $RECIPE" >&2

if [ "$PRINT_ONLY" = 1 ]; then
  exec "$WIKIKIT" train "$RECIPE" --print-config --run-dir "$OUT/run"
fi

command -v nvidia-smi >/dev/null || die "no nvidia-smi: this needs a CUDA GPU (use --print-config without one)"
"$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' || die "torch sees no CUDA GPU"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader >&2
if [ "$CHOSEN" = "$OUT/random-gpt-oss" ] && [ ! -f "$CHOSEN/config.json" ]; then
  echo "gpu_smoke: openai/gpt-oss-20b is not in the Hub cache: building a random gpt-oss" >&2
  "$PY" "$ROOT/bench/gpu_smoke_setup.py" build "$CHOSEN"
fi

MEMLOG="$OUT/nvidia-smi.log"
nvidia-smi --query-gpu=memory.used --format=csv,noheader -lms 500 > "$MEMLOG" &
SAMPLER=$!
trap 'kill "$SAMPLER" 2>/dev/null || true' EXIT
START=$(date +%s)
set +e
"$WIKIKIT" run "$RECIPE" --run-dir "$OUT/run"
RC=$?
set -e
kill "$SAMPLER" 2>/dev/null || true
echo
echo "== gpu smoke: figures (exit $RC, $(( $(date +%s) - START ))s in all; everything in $OUT/run) =="
"$PY" "$ROOT/bench/gpu_smoke_setup.py" figures "$OUT/run" --gpu-mem-log "$MEMLOG"
exit "$RC"
