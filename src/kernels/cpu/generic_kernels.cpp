// Plain C++ inner loops: the fallback for any CPU and the baseline the ISA versions are tested
// against. Every weight type's tile is its reference dot product (QuantTraits::vec_dot) applied
// to each (row, token) pair; the compiler's auto-vectorizer does what it can.
#include "kernels/cpu/kernels.h"
#include "kernels/cpu/vector_math.h"

namespace orchard::cpu {
namespace {

void tile_from_vec_dot(const MatmulTile& t) {
  const VecDotFn vec_dot = quant_traits(t.w_type)->vec_dot;
  for (int j = 0; j < t.tokens; ++j) {
    const void* x = static_cast<const uint8_t*>(t.x) + j * t.x_stride;
    for (int r = 0; r < t.rows; ++r) t.y[j * t.y_stride + r] = vec_dot(t.w + r * t.w_stride, x, t.k);
  }
}

float dot(const float* a, const float* b, int64_t n) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

void axpy(float a, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

}  // namespace

const IsaKernels& generic_kernels() {
  static const IsaKernels table = [] {
    IsaKernels k{.isa = Isa::Generic, .dot = dot, .axpy = axpy, .silu_mul = silu_mul_loop, .exp_sum = exp_sum_loop};
    for (const DTypeInfo& info : all_dtypes()) {
      const QuantTraits* traits = quant_traits(info.type);
      if (traits && traits->vec_dot) k.set_tile(info.type, tile_from_vec_dot);
    }
    return k;
  }();
  return table;
}

}  // namespace orchard::cpu
