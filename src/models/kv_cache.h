#pragma once
// Per-sequence key/value cache: for each layer and sequence slot, f32 K and V of shape
// [n_ctx, n_kv_heads, head_dim]. Slots are handed out to sequences (the server keeps several
// alive at once); a slot's length is how many positions hold valid entries.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace orchard {

struct ModelConfig;

class KvCache {
 public:
  KvCache(const ModelConfig& config, int64_t n_ctx, int n_seq = 1);
  int64_t n_layer() const { return n_layer_; }
  int64_t n_ctx() const { return n_ctx_; }
  int n_seq() const { return n_seq_; }
  int64_t row_floats() const { return n_kv_heads_ * head_dim_; }  // floats per position
  float* k(int64_t layer, int seq);
  float* v(int64_t layer, int seq);
  int64_t length(int seq) const { return length_.at(seq); }
  void set_length(int seq, int64_t n) { length_.at(seq) = n; }
  void clear(int seq) { length_.at(seq) = 0; }
  size_t bytes() const { return data_.size() * sizeof(float); }

 private:
  int64_t n_layer_, n_kv_heads_, head_dim_, n_ctx_;
  int n_seq_;
  std::vector<float> data_;
  std::vector<int64_t> length_;
};

}  // namespace orchard
