#!/usr/bin/env bash
# Cross-builds the core/quant/kernels layers and their tests for aarch64 with Debian's
# g++-aarch64-linux-gnu and runs them under qemu-aarch64 (-cpu max: dotprod and i8mm exist),
# once per ISA path: the best one, and forced generic and neon.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${ORCHARD_AARCH64_BUILD:-$root/build-aarch64}"
sysroot=/usr/aarch64-linux-gnu

for tool in aarch64-linux-gnu-g++ qemu-aarch64; do
  if ! command -v "$tool" >/dev/null; then
    echo "test-aarch64: SKIPPED ($tool not installed; scripts/install-deps.sh installs it)"
    exit 0
  fi
done

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE="$root/cmake/aarch64-linux-gnu.cmake" -DORCHARD_KERNELS_ONLY=ON >/dev/null
tests=(test_kernels_matmul test_kernels_ops test_kernels_attention test_quant_reference test_quant_mlx)
cmake --build "$build" -j2 --target "${tests[@]}"

export ORCHARD_SOURCE_DIR="$root"
status=0
for isa in "" generic neon; do
  for t in "${tests[@]}"; do
    # The ISA choice only matters to the kernels; the quant tests run once.
    [[ -n "$isa" && "$t" == test_quant_* ]] && continue
    echo "== $t (ORCHARD_ISA=${isa:-best})"
    if ! ORCHARD_ISA="$isa" qemu-aarch64 -L "$sysroot" -cpu max "$build/tests/$t" --gtest_brief=1; then
      echo "test-aarch64: FAILED $t (ORCHARD_ISA=${isa:-best})"
      status=1
    fi
  done
done
exit $status
