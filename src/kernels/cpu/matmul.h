#pragma once
// y[n, out] = x[n, in] * w^T for a weight of any readable dtype, split across a thread pool.
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "kernels/cpu/kernels.h"

namespace orchard {
class ThreadPool;
}

namespace orchard::cpu {

// Buffers reused across calls (one per backend; matmul is not re-entrant on one scratch).
struct MatmulScratch {
  std::vector<uint8_t> activations;           // x converted to the kernel's activation format
  std::vector<std::vector<float>> dequantized;  // per thread: weight rows decoded to f32
};

// Throws orchard::Error if w is not a 2-D tensor of a readable dtype whose rows are whole blocks.
void matmul(const IsaKernels& kernels, ThreadPool& pool, MatmulScratch& scratch, const Tensor& w, const float* x,
            float* y, int64_t n);

}  // namespace orchard::cpu
