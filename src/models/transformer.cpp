#include "models/transformer.h"

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "models/config.h"
#include "models/kv_cache.h"
#include "models/rope.h"
#include "quant/quant.h"

namespace orchard {

Transformer::Transformer(std::shared_ptr<const ModelSource> source, ModelConfig config, std::shared_ptr<Backend> backend)
    : Model(std::move(source), std::move(config), std::move(backend)) {
  validate_tensors(*source_, config_);
  const ModelConfig& c = config_;
  token_embd_ = weight("token_embd.weight");
  output_norm_ = weight("output_norm.weight");
  output_ = c.tied_embeddings ? token_embd_ : weight("output.weight");
  for (int64_t l = 0; l < c.n_layer; ++l) {
    auto w = [&](const char* name) { return weight(layer_tensor(l, name)); };
    Layer layer{.attn_norm = w("attn_norm.weight"), .wq = w("attn_q.weight"), .wk = w("attn_k.weight"),
                .wv = w("attn_v.weight"), .wo = w("attn_output.weight"), .ffn_norm = w("ffn_norm.weight"),
                .w_gate = w("ffn_gate.weight"), .w_up = w("ffn_up.weight"), .w_down = w("ffn_down.weight")};
    if (c.qkv_bias) {
      layer.bq = w("attn_q.bias");
      layer.bk = w("attn_k.bias");
      layer.bv = w("attn_v.bias");
    }
    if (c.qk_norm) {
      layer.q_norm = w("attn_q_norm.weight");
      layer.k_norm = w("attn_k_norm.weight");
    }
    layers_.push_back(layer);
  }

  if (source_->find(kRopeFreqsTensor)) {
    const Tensor* factors = weight(kRopeFreqsTensor);
    const std::vector<float> divisors(factors->f32(), factors->f32() + factors->numel());
    inv_freq_ = rope_inv_freq(c, &divisors);
  } else {
    inv_freq_ = rope_inv_freq(c);
  }
  rope_ = RopeTable{.style = c.rope_style, .rot_dim = c.head_dim, .inv_freq = inv_freq_.data()};
}

// Matrices are used as stored (any dtype the backend multiplies); 1-D weights feed f32-only
// kernel arguments, so HF f16/bf16 norms and biases get an f32 copy once, here.
const Tensor* Transformer::weight(const std::string& name) {
  const Tensor& t = source_->require(name);
  if (t.ndim() != 1 || t.dtype() == DType::F32) return &t;
  auto copy = std::make_unique<Tensor>(Tensor::zeros(DType::F32, t.shape()));
  dequantize_row(t.dtype(), t.data(), copy->f32(), t.numel());
  converted_.push_back(std::move(copy));
  return converted_.back().get();
}

void Transformer::check_batch(const Batch& batch, const KvCache& cache) const {
  const size_t n = batch.tokens.size();
  if (batch.pos.size() != n || batch.seq.size() != n || batch.want_logits.size() != n)
    throw Error("batch: tokens, pos, seq and want_logits must have the same length");
  if (cache.n_layer() != config_.n_layer || cache.row_elements() != config_.n_head_kv * config_.head_dim)
    throw Error("KV cache was made for a different model shape");
  for (size_t i = 0; i < n; ++i) {
    const std::string where = "batch token " + std::to_string(i) + ": ";
    if (batch.tokens[i] < 0 || batch.tokens[i] >= config_.n_vocab)
      throw Error(where + "id " + std::to_string(batch.tokens[i]) + " is outside the vocabulary of " +
                  std::to_string(config_.n_vocab) + " tokens");
    if (batch.seq[i] < 0 || batch.seq[i] >= cache.n_seq())
      throw Error(where + "sequence " + std::to_string(batch.seq[i]) + " is not a KV cache slot (cache has " +
                  std::to_string(cache.n_seq()) + ")");
    if (batch.pos[i] < 0 || batch.pos[i] >= cache.n_ctx())
      throw Error(where + "position " + std::to_string(batch.pos[i]) + " is outside the context of " +
                  std::to_string(cache.n_ctx()) + " tokens");
  }
  // Positions of a sequence must follow on from what the cache (and earlier batch tokens)
  // hold: attention reads every position before a token, so a gap would read stale rows.
  for (int s = 0; s < cache.n_seq(); ++s) {
    int64_t length = cache.length(s);
    for (size_t i = 0; i < n; ++i) {
      if (batch.seq[i] != s) continue;
      if (batch.pos[i] > length)
        throw Error("batch token " + std::to_string(i) + ": position " + std::to_string(batch.pos[i]) +
                    " skips ahead of sequence " + std::to_string(s) + ", which holds " + std::to_string(length) +
                    " positions");
      length = batch.pos[i] + 1;
    }
  }
}

void Transformer::forward(const Batch& batch, KvCache& cache, std::vector<float>& logits) {
  check_batch(batch, cache);
  if (batch.size() == 0) {
    logits.clear();
    return;
  }
  const int64_t n = static_cast<int64_t>(batch.size());
  const ModelConfig& c = config_;
  x_.resize(n * c.n_embd);
  h_.resize(n * c.n_embd);
  q_.resize(n * c.n_head * c.head_dim);
  attn_.resize(n * c.n_head * c.head_dim);
  k_.resize(n * c.n_head_kv * c.head_dim);
  v_.resize(n * c.n_head_kv * c.head_dim);
  gate_.resize(n * c.n_ff);
  up_.resize(n * c.n_ff);
  k_rows_.resize(n);
  v_rows_.resize(n);

  backend_->get_rows(*token_embd_, batch.tokens.data(), n, x_.data());
  for (int64_t l = 0; l < c.n_layer; ++l) {
    backend_->begin_block();
    attention_block(layers_[l], l, batch, cache);
    mlp_block(layers_[l], n);
  }
  // A token rewrites its sequence from its position on: later cached rows are now stale.
  for (int64_t i = 0; i < n; ++i) cache.set_length(batch.seq[i], batch.pos[i] + 1);
  lm_head(batch, logits);
}

void Transformer::attention_block(const Layer& w, int64_t layer, const Batch& batch, KvCache& cache) {
  const ModelConfig& c = config_;
  const int64_t n = static_cast<int64_t>(batch.size());
  const int64_t q_dim = c.n_head * c.head_dim, kv_dim = c.n_head_kv * c.head_dim;
  Backend& be = *backend_;

  be.rms_norm(x_.data(), w.attn_norm->f32(), h_.data(), n, c.n_embd, c.rms_eps);
  be.matmul(*w.wq, h_.data(), q_.data(), n);
  be.matmul(*w.wk, h_.data(), k_.data(), n);
  be.matmul(*w.wv, h_.data(), v_.data(), n);
  if (w.bq) {
    be.add_bias(q_.data(), *w.bq, n, q_dim);
    be.add_bias(k_.data(), *w.bk, n, kv_dim);
    be.add_bias(v_.data(), *w.bv, n, kv_dim);
  }
  if (w.q_norm) {
    be.rms_norm(q_.data(), w.q_norm->f32(), q_.data(), n * c.n_head, c.head_dim, c.rms_eps);
    be.rms_norm(k_.data(), w.k_norm->f32(), k_.data(), n * c.n_head_kv, c.head_dim, c.rms_eps);
  }
  be.rope(q_.data(), n, c.n_head, c.head_dim, batch.pos.data(), rope_);
  be.rope(k_.data(), n, c.n_head_kv, c.head_dim, batch.pos.data(), rope_);

  for (int64_t i = 0; i < n; ++i) {
    cache.store(layer, batch.seq[i], batch.pos[i], k_.data() + i * kv_dim, v_.data() + i * kv_dim);
    k_rows_[i] = cache.k(layer, batch.seq[i]);
    v_rows_[i] = cache.v(layer, batch.seq[i]);
  }
  const AttentionBatch ab{.n_tokens = n,
                          .positions = batch.pos.data(),
                          .k_cache = k_rows_.data(),
                          .v_cache = v_rows_.data(),
                          .kv_type = cache.type(),
                          .position_stride = cache.position_stride(),
                          .head_stride = cache.head_stride()};
  be.attention(q_.data(), k_.data(), v_.data(), ab, c.n_head, c.n_head_kv, c.head_dim, 1.0f / std::sqrt(static_cast<float>(c.head_dim)),
               attn_.data());
  be.matmul(*w.wo, attn_.data(), h_.data(), n);
  be.add(x_.data(), h_.data(), n * c.n_embd);
}

void Transformer::mlp_block(const Layer& w, int64_t n) {
  const ModelConfig& c = config_;
  Backend& be = *backend_;
  be.rms_norm(x_.data(), w.ffn_norm->f32(), h_.data(), n, c.n_embd, c.rms_eps);
  be.matmul(*w.w_gate, h_.data(), gate_.data(), n);
  be.matmul(*w.w_up, h_.data(), up_.data(), n);
  be.silu_mul(gate_.data(), up_.data(), n * c.n_ff);
  be.matmul(*w.w_down, gate_.data(), h_.data(), n);
  be.add(x_.data(), h_.data(), n * c.n_embd);
}

// Only the rows that want logits go through the final norm and the (large) LM head. When every
// row does (a scored prompt, training), the norm reads the residual stream itself, so a
// recording backend sees the whole path from the embeddings to the logits.
void Transformer::lm_head(const Batch& batch, std::vector<float>& logits) {
  const int64_t dim = config_.n_embd;
  int64_t m = 0;
  for (size_t i = 0; i < batch.size(); ++i) m += batch.want_logits[i] ? 1 : 0;
  const float* rows = x_.data();
  if (m < static_cast<int64_t>(batch.size())) {
    m = 0;
    for (size_t i = 0; i < batch.size(); ++i)
      if (batch.want_logits[i]) std::memcpy(h_.data() + (m++) * dim, x_.data() + i * dim, dim * sizeof(float));
    rows = h_.data();
  }
  backend_->rms_norm(rows, output_norm_->f32(), h_.data(), m, dim, config_.rms_eps);
  logits.resize(m * config_.n_vocab);
  if (m > 0) backend_->matmul(*output_, h_.data(), logits.data(), m);
}

}  // namespace orchard
