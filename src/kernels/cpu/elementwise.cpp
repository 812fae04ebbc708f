// Row-wise and element-wise ops: small, bandwidth-bound loops the compiler vectorizes.
#include <cmath>

#include "core/threadpool.h"
#include "kernels/cpu/ops.h"

namespace orchard::cpu {

void rms_norm(ThreadPool& pool, const float* x, const float* weight, float* y, int64_t rows, int64_t dim, float eps) {
  pool.parallel_for(rows, [&](int64_t begin, int64_t end, int) {
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = x + r * dim;
      float* yr = y + r * dim;
      // Accumulate in double: a row of a few thousand squares loses digits in float.
      double sum = 0.0;
      for (int64_t i = 0; i < dim; ++i) sum += static_cast<double>(xr[i]) * xr[i];
      const float inv = static_cast<float>(1.0 / std::sqrt(sum / static_cast<double>(dim) + eps));
      for (int64_t i = 0; i < dim; ++i) yr[i] = xr[i] * inv * weight[i];
    }
  });
}

void add(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

void add_bias(float* y, const float* bias, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) add(y + r * cols, bias, cols);
}

}  // namespace orchard::cpu
