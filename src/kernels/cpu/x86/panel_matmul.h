#pragma once
// The prompt-batch panel matmul over the affine-u8 view of the int8-dot weight formats
// (panel_matmul_impl.h), per ISA; the kernel tables use it for n >= batch_min_tokens.
#include <cstddef>
#include <cstdint>

#include "core/tensor.h"

namespace orchard {
class ThreadPool;
}

// BatchMatmulFn: x holds n rows (x_stride bytes apart) in w's vec_dot_type (q8_0, q8_1 or
// q8_K). Returns false for formats the ISA's version does not take (f32/f16/bf16 everywhere;
// 8-bit quants on AVX2), which then run on the tile kernels.
namespace orchard::cpu::avx512_panel {
bool batch_matmul(ThreadPool& pool, const Tensor& w, const void* x, size_t x_stride, float* y, int64_t n);
}
namespace orchard::cpu::avx2_panel {
bool batch_matmul(ThreadPool& pool, const Tensor& w, const void* x, size_t x_stride, float* y, int64_t n);
}
