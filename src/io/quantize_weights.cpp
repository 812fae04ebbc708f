#include "io/quantize_weights.h"

#include <vector>

#include "core/error.h"
#include "core/threadpool.h"
#include "quant/quant.h"

namespace orchard {
namespace {

bool is_float(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16; }

// Decodes each row to f32 and re-encodes it as `target`, rows split across the pool.
Tensor convert_rows(const Tensor& src, DType target, ThreadPool& pool) {
  Tensor out = Tensor::zeros(target, src.shape());
  const int64_t cols = src.cols();
  pool.parallel_for(src.rows(), [&](int64_t begin, int64_t end, int) {
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = begin; r < end; ++r) {
      dequantize_row(src.dtype(), src.row(r), row.data(), cols);
      quantize_row(target, row.data(), out.as<uint8_t>() + r * out.row_bytes(), cols);
    }
  });
  return out;
}

}  // namespace

void quantize_weights(std::map<std::string, Tensor>& tensors, DType target) {
  const QuantTraits* traits = quant_traits(target);
  if (!is_quantized(target) || !traits || !traits->from_float)
    throw Error("cannot quantize weights to " + std::string(dtype_name(target)) + " (a block type orchard encodes, e.g. q8_0, q4_k, q4_0)");
  const int64_t block = dtype_info(target).block_size;
  ThreadPool pool;
  for (auto& [name, t] : tensors) {
    if (!is_float(t.dtype())) continue;
    if (t.ndim() == 2 && t.cols() % block == 0) t = convert_rows(t, target, pool);
    else if (t.ndim() == 1 && t.dtype() != DType::F32) t = convert_rows(t, DType::F32, pool);
  }
}

}  // namespace orchard
