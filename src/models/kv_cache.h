#pragma once
// Per-sequence key/value cache: for each layer and sequence slot, K and V of shape
// [n_kv_heads, n_ctx, head_dim] (head-major: attention streams each head's positions
// contiguously, which the hardware prefetcher follows) in one element type chosen at creation: f32, f16 (the
// default, as llama.cpp's), or q8_0 (blocks of 32 along head_dim). Rows are converted once,
// when written; attention reads them in that type. Slots are handed out to sequences (the
// server keeps several alive at once); a slot's length is how many positions hold valid entries.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace orchard {

struct ModelConfig;

inline constexpr DType kDefaultKvType = DType::F16;

// "f32", "f16" or "q8_0"; anything else throws an Error listing the choices.
DType kv_type_from_name(const std::string& name);
// Bytes of K and V for `n_ctx` positions of one sequence (throws for a type or head_dim the cache cannot hold).
size_t kv_cache_bytes(const ModelConfig& config, int64_t n_ctx, DType type);

class KvCache {
 public:
  KvCache(const ModelConfig& config, int64_t n_ctx, int n_seq = 1, DType type = kDefaultKvType);
  int64_t n_layer() const { return n_layer_; }
  int64_t n_ctx() const { return n_ctx_; }
  int n_seq() const { return n_seq_; }
  DType type() const { return type_; }
  int64_t row_elements() const { return n_kv_heads_ * head_dim_; }  // per position, all KV heads
  size_t row_bytes() const { return row_bytes_; }  // per position, all KV heads
  size_t position_stride() const { return head_bytes_; }     // bytes between a head's positions
  size_t head_stride() const { return n_ctx_ * head_bytes_; }  // bytes between heads
  const void* k(int64_t layer, int seq) const;
  const void* v(int64_t layer, int seq) const;
  // Writes one position's K and V rows (row_elements() floats each), converted to type().
  void store(int64_t layer, int seq, int64_t pos, const float* k, const float* v);
  int64_t length(int seq) const { return length_.at(seq); }
  void set_length(int seq, int64_t n) { length_.at(seq) = n; }
  void clear(int seq) { length_.at(seq) = 0; }
  size_t bytes() const { return data_.size(); }

 private:
  size_t k_offset(int64_t layer, int seq) const;  // bytes to a (layer, sequence)'s K

  int64_t n_layer_, n_kv_heads_, head_dim_, n_ctx_;
  int n_seq_;
  DType type_;
  size_t row_bytes_, head_bytes_;
  std::vector<uint8_t> data_;
  std::vector<int64_t> length_;
};

}  // namespace orchard
