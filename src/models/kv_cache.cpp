#include "models/kv_cache.h"

#include <string>

#include "core/error.h"
#include "models/model.h"

namespace orchard {

KvCache::KvCache(const ModelConfig& config, int64_t n_ctx, int n_seq)
    : n_layer_(config.n_layer), n_kv_heads_(config.n_head_kv), head_dim_(config.head_dim), n_ctx_(n_ctx), n_seq_(n_seq) {
  if (n_ctx <= 0) throw Error("KV cache: context size must be positive, got " + std::to_string(n_ctx));
  if (n_seq <= 0) throw Error("KV cache: sequence count must be positive, got " + std::to_string(n_seq));
  data_.assign(static_cast<size_t>(n_layer_) * n_seq_ * 2 * n_ctx_ * row_floats(), 0.0f);
  length_.assign(n_seq_, 0);
}

// Layout: [layer][sequence][K, V][position][kv_head][head_dim], so one sequence's K (or V) for
// one layer is a single contiguous [n_ctx, n_kv_heads, head_dim] block.
float* KvCache::k(int64_t layer, int seq) {
  return data_.data() + ((layer * n_seq_ + seq) * 2) * n_ctx_ * row_floats();
}
float* KvCache::v(int64_t layer, int seq) { return k(layer, seq) + n_ctx_ * row_floats(); }

}  // namespace orchard
