#!/usr/bin/env bash
# One command from a fresh Debian 12 machine: install dependencies, build, and run the main
# job — generate text with the bundled default model (assets/orchard-kjv: a small Llama that
# orchard trained from scratch on the King James Bible, docs/bundled-model.md) through the
# real loader, tokenizer, chat template and forward pass.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh

# --model defaults to the bundled model in every command.
./build/orchard info
./build/orchard generate --prompt "In the beginning" -n 48 --seed 1
