#pragma once
// Turns a register-tile kernel templated on its shape, Kernel<R, T>::run(tile) for R rows
// and T tokens known at compile time, into one MatmulTileFn that picks the instantiation for
// the tile's actual size (edge tiles are smaller). Plain C++: shared by the ISA files.
// Each instantiation is a weak symbol named after Kernel, so every ISA file must declare its
// kernels in a namespace of its own (e.g. orchard::cpu::avx2): an anonymous namespace alone
// mangles the same in every file, and the linker would keep one ISA's copy for all.
#include <array>
#include <utility>

#include "kernels/cpu/kernels.h"

namespace orchard::cpu {

template <template <int, int> class Kernel>
void dispatch_tile(const MatmulTile& tile) {
  static constexpr auto table = []<int... I>(std::integer_sequence<int, I...>) {
    return std::array<MatmulTileFn, sizeof...(I)>{&Kernel<I / kTileTokens + 1, I % kTileTokens + 1>::run...};
  }(std::make_integer_sequence<int, kTileRows * kTileTokens>{});
  table[(tile.rows - 1) * kTileTokens + (tile.tokens - 1)](tile);
}

}  // namespace orchard::cpu
