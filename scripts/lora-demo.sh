#!/usr/bin/env bash
# LoRA on the bundled model teaches it a behaviour it does not have: answering a question in
# the chat format (<|user|> ... <|assistant|> ...) with one short sentence, then stopping.
# The base model only ever saw running Bible text, so asked "Who begat Enos?" it continues
# with more verses; after ~2 minutes of LoRA it answers "Seth begat Enos." and ends its turn.
#
# Data: every "X begat Y" of the King James text (scripts/make-kjv-data.sh) as a
# {"messages": [user "Who begat Y?", assistant "X begat Y."]} line; every 8th pair is held out
# for validation, and the demo asks held-out questions too (names it never saw answered).
# Usage: scripts/lora-demo.sh [WORK_DIR]   (default build/lora-demo; orchard in $BUILD_DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
WORK=${1:-build/lora-demo}
ORCHARD=$BUILD_DIR/orchard
MODEL=assets/orchard-kjv/model.gguf
mkdir -p "$WORK"

bash scripts/make-kjv-data.sh "$WORK/kjv" > /dev/null
/usr/bin/python3 - "$WORK/kjv" "$WORK/qa" <<'EOF'
import json, os, re, sys
kjv, out = sys.argv[1], sys.argv[2]
pairs = []
for split in ("train", "valid", "test"):
    for line in open(os.path.join(kjv, split + ".jsonl")):
        for father, son in re.findall(r"\b([A-Z][a-z]+) begat ([A-Z][a-z]+)", json.loads(line)["text"]):
            if (father, son) not in pairs:
                pairs.append((father, son))
os.makedirs(out, exist_ok=True)
def record(father, son):
    return json.dumps({"messages": [{"role": "user", "content": f"Who begat {son}?"},
                                    {"role": "assistant", "content": f"{father} begat {son}."}]})
with open(os.path.join(out, "train.jsonl"), "w") as train, open(os.path.join(out, "valid.jsonl"), "w") as valid:
    for i, p in enumerate(pairs):
        print(record(*p), file=valid if i % 8 == 0 else train)
print(f"{out}: {len(pairs)} question/answer pairs")
EOF

ask() {  # ask MODEL_ARGS...: the same questions, greedy, one seen in training and two held out
  for q in "Who begat Enos?" "Who begat Salah?" "Who begat Jesse?"; do
    printf '  Q: %s\n  A: ' "$q"
    "$ORCHARD" generate --model "$MODEL" "$@" --prompt "$q" -n 24 --temp 0 2>/dev/null | tr '\n' ' '
    echo
  done
}
echo "== base model"
ask
nice -n 10 "$ORCHARD" finetune --model "$MODEL" --data "$WORK/qa" --fine-tune-type lora --num-layers -1 \
  --lora-keys all --rank 8 --batch-size 8 --iters 200 --learning-rate 1e-3 --mask-prompt \
  --steps-per-report 25 --steps-per-eval 50 --val-batches -1 --adapter-path "$WORK/adapters" | grep -E "Val loss|Train loss"
echo "== with the LoRA adapters"
ask --adapter-path "$WORK/adapters"
