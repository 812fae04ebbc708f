#pragma once
// The AMX-INT8 prompt-batch matmul (matmul_amx.cpp), used by the amx kernel table.
#include <cstddef>
#include <cstdint>

#include "core/tensor.h"

namespace orchard {
class ThreadPool;
}

namespace orchard::cpu::amx {

// BatchMatmulFn for q8_0 / q4_0 weights against q8_0 activations; declines other types.
bool batch_matmul(ThreadPool& pool, const Tensor& w, const void* x, size_t x_stride, float* y, int64_t n);

}  // namespace orchard::cpu::amx
