#!/usr/bin/env bash
# Cross-builds the core/quant/kernels layers and their tests for aarch64 with Debian's
# g++-aarch64-linux-gnu and runs them under qemu-aarch64 -cpu max (dotprod and i8mm exist, so
# the kernels tests cover the generic, neon and neon-i8mm paths), then checks which path the
# run-time detection picks on CPU models with and without those extensions.
# Part of scripts/test.sh; build-aarch64/ keeps reruns incremental. From scratch it takes about
# 4 CPU minutes (12 wall-clock minutes on 2 cores at load average 12; 2 when up to date).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${ORCHARD_AARCH64_BUILD:-$root/build-aarch64}"
sysroot=/usr/aarch64-linux-gnu

# Without the cross tools the ARM kernels go untested: say so loudly, but do not fail a
# machine that cannot have them (scripts/install-deps.sh installs all three on Debian 12).
skip() {
  echo "test-aarch64: SKIPPED, the ARM NEON kernels were NOT tested: $1 (Debian package $2; scripts/install-deps.sh installs it)"
  exit 0
}
command -v aarch64-linux-gnu-g++ >/dev/null || skip "aarch64-linux-gnu-g++ not found" g++-aarch64-linux-gnu
[ -d "$sysroot/lib" ] || skip "no aarch64 C library in $sysroot" g++-aarch64-linux-gnu
command -v qemu-aarch64 >/dev/null || skip "qemu-aarch64 not found" qemu-user
[ -f /usr/src/googletest/CMakeLists.txt ] || skip "no GoogleTest sources in /usr/src/googletest" libgtest-dev

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE="$root/cmake/aarch64-linux-gnu.cmake" -DORCHARD_KERNELS_ONLY=ON >/dev/null
# Every test of those layers (x86-only ones build and run nearly empty).
tests=()
for src in "$root"/tests/test_{core,quant,kernels}_*.cpp; do tests+=("$(basename "$src" .cpp)"); done
cmake --build "$build" -j2 --target "${tests[@]}" ||
  { echo "test-aarch64: FAILED to cross-build for aarch64 (compiler errors above)"; exit 1; }

export ORCHARD_SOURCE_DIR="$root"
failed=()
run() {  # run CPU_MODEL TEST [ARGS...]
  local cpu=$1 t=$2
  shift 2
  echo "== $t (qemu-aarch64 -cpu $cpu)"
  qemu-aarch64 -L "$sysroot" -cpu "$cpu" "$build/tests/$t" --gtest_brief=1 "$@" || failed+=("$t (-cpu $cpu)")
}
# -cpu max has dotprod and i8mm: the kernels tests loop over every supported ISA themselves.
for t in "${tests[@]}"; do run max "$t"; done
# Run-time detection (hwcaps) on models with and without the extensions.
for model in max:neon-i8mm cortex-a76:neon cortex-a72:generic; do
  ORCHARD_EXPECT_BEST_ISA=${model#*:} run "${model%%:*}" test_kernels_neon_quants --gtest_filter='*Detects*'
done
if [ ${#failed[@]} -gt 0 ]; then
  printf 'test-aarch64: FAILED under qemu-aarch64: %s\n' "${failed[@]}"
  exit 1
fi
echo "test-aarch64: all passed under qemu-aarch64 (${SECONDS}s)"
