#!/usr/bin/env bash
# Reproduces the bundled model assets/orchard-kjv/model.gguf from nothing but Debian packages:
#   1. the King James Bible as train/valid/test.jsonl       (scripts/make-kjv-data.sh)
#   2. a byte-level BPE tokenizer trained on train.jsonl    (tools/train_tokenizer.py)
#   3. a Llama of the shape we want carrying that tokenizer (orchard testmodel: its weights are
#      placeholders, --from-scratch replaces them)
#   4. training from scratch with orchard itself            (orchard finetune --config train.yaml)
# Usage: scripts/train-bundled-model.sh [WORK_DIR]   (default build/bundled-model; needs a built
# orchard in $BUILD_DIR, default build). The result is WORK_DIR/run/model.gguf and its log
# WORK_DIR/train.log; copy them over assets/orchard-kjv/ to update the bundled model.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
WORK=${1:-build/bundled-model}
ORCHARD=$BUILD_DIR/orchard
ASSETS=assets/orchard-kjv
mkdir -p "$WORK"

bash scripts/make-kjv-data.sh "$WORK/data"
/usr/bin/python3 tools/train_tokenizer.py --data "$WORK/data" --vocab-size 4096 --out "$WORK/tokenizer"
# The committed tokenizer must be what this recipe produces (the script is deterministic).
cmp "$WORK/tokenizer/tokenizer.json" "$ASSETS/tokenizer/tokenizer.json"
"$ORCHARD" testmodel --arch llama --preset tiny --dtype f32 --vocab "$WORK/tokenizer/tokenizer.json" -o "$WORK/base.gguf"
nice -n 10 "$ORCHARD" finetune --config "$ASSETS/train.yaml" --model "$WORK/base.gguf" --data "$WORK/data" \
  --adapter-path "$WORK/run" --test | tee "$WORK/train.log"
/usr/bin/python3 "$ASSETS/plot_loss.py" "$WORK/train.log" "$WORK/loss.png"
