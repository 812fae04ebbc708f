#include "models/kv_cache.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "core/error.h"
#include "models/model.h"
#include "quant/quant.h"

namespace orchard {

namespace {

constexpr DType kKvTypes[] = {DType::F32, DType::F16, DType::Q8_0};

// Bytes of one position's K (or V) row, after checking the type can hold it.
size_t checked_row_bytes(const ModelConfig& config, DType type) {
  if (std::find(std::begin(kKvTypes), std::end(kKvTypes), type) == std::end(kKvTypes))
    throw Error("KV cache: unsupported type " + std::string(dtype_name(type)) + " (choose f32, f16 or q8_0)");
  const int64_t block = dtype_info(type).block_size;
  if (config.head_dim % block != 0)
    throw Error("KV cache: a " + std::string(dtype_name(type)) + " cache needs head_dim divisible by " +
                std::to_string(block) + ", the model has " + std::to_string(config.head_dim));
  return config.n_head_kv * row_bytes(type, config.head_dim);
}

}  // namespace

DType kv_type_from_name(const std::string& name) {
  for (DType t : kKvTypes)
    if (dtype_name(t) == name) return t;
  throw Error("unknown KV cache type '" + name + "' (choose f32, f16 or q8_0)");
}

size_t kv_cache_bytes(const ModelConfig& config, int64_t n_ctx, DType type) {
  return static_cast<size_t>(config.n_layer) * 2 * n_ctx * checked_row_bytes(config, type);
}

KvCache::KvCache(const ModelConfig& config, int64_t n_ctx, int n_seq, DType type)
    : n_layer_(config.n_layer),
      n_kv_heads_(config.n_head_kv),
      head_dim_(config.head_dim),
      n_ctx_(n_ctx),
      n_seq_(n_seq),
      type_(type),
      row_bytes_(checked_row_bytes(config, type)),
      head_bytes_(orchard::row_bytes(type, config.head_dim)) {
  if (n_ctx <= 0) throw Error("KV cache: context size must be positive, got " + std::to_string(n_ctx));
  if (n_seq <= 0) throw Error("KV cache: sequence count must be positive, got " + std::to_string(n_seq));
  data_.assign(static_cast<size_t>(n_seq_) * kv_cache_bytes(config, n_ctx, type), 0);
  length_.assign(n_seq_, 0);
}

// Layout: [layer][sequence][K, V][kv_head][position][head_dim], so one sequence's K (or V) for
// one layer is a single contiguous [n_kv_heads, n_ctx, head_dim] block.
size_t KvCache::k_offset(int64_t layer, int seq) const { return ((layer * n_seq_ + seq) * 2) * n_ctx_ * row_bytes_; }
const void* KvCache::k(int64_t layer, int seq) const { return data_.data() + k_offset(layer, seq); }
const void* KvCache::v(int64_t layer, int seq) const { return data_.data() + k_offset(layer, seq) + n_ctx_ * row_bytes_; }

void KvCache::store(int64_t layer, int seq, int64_t pos, const float* k, const float* v) {
  uint8_t* k_row = data_.data() + k_offset(layer, seq) + pos * head_bytes_;
  uint8_t* v_row = k_row + n_ctx_ * row_bytes_;
  for (int64_t h = 0; h < n_kv_heads_; ++h) {
    const size_t at = h * head_stride();
    if (type_ == DType::F32) {
      std::memcpy(k_row + at, k + h * head_dim_, head_bytes_);
      std::memcpy(v_row + at, v + h * head_dim_, head_bytes_);
    } else {
      quantize_row(type_, k + h * head_dim_, k_row + at, head_dim_);
      quantize_row(type_, v + h * head_dim_, v_row + at, head_dim_);
    }
  }
}

}  // namespace orchard
