// Plain C++ inner loops: the fallback for any CPU and the baseline the ISA versions are tested
// against. Every weight type's tile is its reference dot product (QuantTraits::vec_dot) applied
// to each (row, token) pair; the compiler's auto-vectorizer does what it can.
#include <vector>

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

// Attention rows through the cache type's reference codecs: the query is already in the
// type's vec_dot_type, so K.Q is the type's plain vec_dot; V rows are decoded, then added.
template <DType T>
void kv_scores(const KvBlock& b, const void* q, size_t q_stride, float scale) {
  const VecDotFn vec_dot = quant_traits(T)->vec_dot;
  for (int64_t j = 0; j < b.n_keys; ++j)
    for (int64_t g = 0; g < b.group; ++g)
      b.scores[g * b.score_stride + j] =
          scale * vec_dot(b.rows + j * b.row_stride, static_cast<const uint8_t*>(q) + g * q_stride, b.head_dim);
}

template <DType T>
void kv_accumulate(const KvBlock& b, float* out) {
  thread_local std::vector<float> row;
  row.resize(static_cast<size_t>(b.head_dim));
  for (int64_t j = 0; j < b.n_keys; ++j) {
    dequantize_row(T, b.rows + j * b.row_stride, row.data(), b.head_dim);
    for (int64_t g = 0; g < b.group; ++g) axpy(b.scores[g * b.score_stride + j], row.data(), out + g * b.head_dim, b.head_dim);
  }
}

template <DType T>
constexpr KvKernels kReferenceKv{.scores = kv_scores<T>, .accumulate = kv_accumulate<T>};

}  // namespace

void add_reference_kv_kernels(IsaKernels& k) {
  k.set_kv_kernels(DType::F32, kReferenceKv<DType::F32>);
  k.set_kv_kernels(DType::F16, kReferenceKv<DType::F16>);
  k.set_kv_kernels(DType::Q8_0, kReferenceKv<DType::Q8_0>);
}

const IsaKernels& generic_kernels() {
  static const IsaKernels table = [] {
    IsaKernels k{.isa = Isa::Generic, .dot = dot, .axpy = axpy, .silu_mul = silu_mul_loop, .exp_sum = exp_sum_loop};
    for (const DTypeInfo& info : all_dtypes()) {
      const QuantTraits* traits = quant_traits(info.type);
      if (traits && traits->vec_dot) k.set_tile(info.type, tile_from_vec_dot);
    }
    add_reference_kv_kernels(k);
    return k;
  }();
  return table;
}

}  // namespace orchard::cpu
