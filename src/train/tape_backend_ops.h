#pragma once
// The tape's record of one Backend call: what it read and wrote (by the model's addresses,
// which also key the activation gradients), its parameters, and the copies its backward needs.
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "adapters/lora.h"
#include "core/backend.h"
#include "core/tensor.h"

namespace orchard::train {

// An activation range: n floats at p.
struct Range {
  const float* p = nullptr;
  int64_t n = 0;
  const float* end() const { return p + n; }
  bool overlaps(const Range& o) const { return p < o.end() && o.p < end(); }
  bool covers(const Range& o) const { return p <= o.p && o.end() <= end(); }
};

// A copy of an activation as some op read it; shared by every op that read the same version.
using Saved = std::shared_ptr<const std::vector<float>>;

// DoRA's per-row scales of one adapted weight, fixed for one forward (see tape_backend.cpp).
struct DoraScale {
  std::vector<float> inv_norm;  // 1 / ||W + scale B A||_row, a constant for the gradient
  std::vector<float> factor;    // m * inv_norm, what the forward multiplies by
};

enum class OpKind { Matmul, GetRows, RmsNorm, Rope, Attention, SiluMul, Add, AddBias };

struct TapeOp {
  OpKind kind;
  // reads: Matmul {x}; RmsNorm {x}; Rope {x}; Attention {q, k, v}; SiluMul {gate, up};
  // Add {y, x}; AddBias {y}; GetRows {}. write: the output (in place for Rope, SiluMul, Add,
  // AddBias, and RmsNorm when y == x).
  std::vector<Range> reads{};
  Range write{};

  const Tensor* tensor = nullptr;       // Matmul weight, GetRows table, AddBias bias
  const float* norm_weight = nullptr;   // RmsNorm
  int64_t rows = 0, cols = 0;           // Matmul n; RmsNorm rows, dim; AddBias rows, cols; GetRows n, dim
  float eps = 0.0f, scale = 0.0f;       // RmsNorm eps; Attention scale
  int64_t heads = 0, kv_heads = 0, head_dim = 0;  // Rope (heads), Attention
  std::vector<int32_t> ids{};            // GetRows ids, Rope positions
  std::vector<std::pair<int64_t, int64_t>> sequences{};  // Attention: first token, length
  RopeTable rope{};
  std::shared_ptr<const std::vector<float>> inv_freq{};  // rope.inv_freq points here
  const AttentionBatch* batch = nullptr;  // plain (non-recording) attention only: this call's caches

  const LoraAdapter* adapter = nullptr;  // Matmul of an adapted weight
  size_t adapter_index = 0;
  std::shared_ptr<const DoraScale> dora{};
  uint64_t dropout_key = 0;             // the adapter input's dropout mask, regenerated on replay

  // Matmul: {x (for dW, dA), x A^T, DoRA's unscaled output}; RmsNorm: {x};
  // Attention: {q, k, v, out, lse}; SiluMul: {gate, up}.
  std::vector<Saved> saved{};
};

}  // namespace orchard::train
