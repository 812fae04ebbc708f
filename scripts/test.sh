#!/usr/bin/env bash
# One command for the whole test suite: installs dependencies, builds, runs every GoogleTest
# under ctest, then the ARM NEON kernels cross-built and run under qemu-aarch64 (a few minutes,
# incremental in build-aarch64/), then each libFuzzer target for a bounded time under ASan/UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"
bash scripts/test-aarch64.sh
bash scripts/fuzz.sh "${ORCHARD_FUZZ_SECONDS:-20}"
