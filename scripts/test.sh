#!/usr/bin/env bash
# One command for the whole test suite: installs dependencies, builds, runs every GoogleTest
# under ctest, then runs each libFuzzer target for a bounded time under ASan/UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"
bash scripts/fuzz.sh "${ORCHARD_FUZZ_SECONDS:-20}"
