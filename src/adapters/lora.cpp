#include "adapters/lora.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "core/error.h"
#include "models/config.h"
#include "quant/quant.h"

namespace orchard {

namespace {

// The block matrices an adapter can sit on, by their GGUF name part.
constexpr const char* kLinearLayers[] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};

std::vector<std::string> resolve_targets(const std::vector<std::string>& targets) {
  if (targets.empty()) return {"attn_q", "attn_v"};
  if (targets.size() == 1 && targets[0] == "all") return {std::begin(kLinearLayers), std::end(kLinearLayers)};
  for (const std::string& t : targets)
    if (std::find(std::begin(kLinearLayers), std::end(kLinearLayers), t) == std::end(kLinearLayers)) {
      std::string choices;
      for (const char* name : kLinearLayers) choices += std::string(choices.empty() ? "" : ", ") + name;
      throw Error("LoRA: unknown target '" + t + "' (choose from " + choices + ", or all)");
    }
  return targets;
}

int64_t block_count(const ModelSource& model) {
  int64_t n = 0;
  while (model.find(layer_tensor(n, "attn_norm.weight"))) ++n;
  return n;
}

// Row r of W as f32 (any stored type).
void weight_row(const Tensor& w, int64_t r, float* out) { dequantize_row(w.dtype(), w.row(r), out, w.cols()); }

}  // namespace

AdapterSet AdapterSet::create(const ModelSource& model, const LoraConfig& config, uint64_t seed) {
  if (config.rank <= 0) throw Error("LoRA: rank must be positive, got " + std::to_string(config.rank));
  if (config.dropout < 0.0f || config.dropout >= 1.0f)
    throw Error("LoRA: dropout must be in [0, 1), got " + std::to_string(config.dropout));
  const int64_t n_layer = block_count(model);
  if (n_layer == 0) throw Error(model.path + ": no transformer blocks (blk.N.attn_norm.weight) to adapt");
  const int64_t first = config.num_layers < 0 ? 0 : std::max<int64_t>(0, n_layer - config.num_layers);

  AdapterSet set;
  set.config_ = config;
  std::mt19937_64 rng(seed);
  for (int64_t l = first; l < n_layer; ++l) {
    for (const std::string& target : resolve_targets(config.targets)) {
      LoraAdapter adapter;
      adapter.weight_name = layer_tensor(l, (target + ".weight").c_str());
      const Tensor* w = model.find(adapter.weight_name);
      if (!w) throw Error(model.path + ": LoRA target " + adapter.weight_name + " is not in the model");
      if (w->ndim() != 2) throw Error(model.path + ": LoRA target " + adapter.weight_name + " is not a matrix");
      const int64_t out = w->dim(0), in = w->dim(1);
      adapter.a = Tensor::zeros(DType::F32, {config.rank, in});
      adapter.b = Tensor::zeros(DType::F32, {out, config.rank});
      // MLX LM's init: A uniform in +-1/sqrt(in), B zero, so the adapted model starts as the base.
      const float bound = 1.0f / std::sqrt(static_cast<float>(in));
      std::uniform_real_distribution<float> uniform(-bound, bound);
      for (int64_t i = 0; i < adapter.a.numel(); ++i) adapter.a.f32()[i] = uniform(rng);
      if (config.dora) {
        adapter.magnitude = Tensor::zeros(DType::F32, {out});
        std::vector<float> row(in);
        for (int64_t r = 0; r < out; ++r) {
          weight_row(*w, r, row.data());
          double sum = 0;
          for (float v : row) sum += static_cast<double>(v) * v;
          adapter.magnitude.f32()[r] = static_cast<float>(std::sqrt(sum));
        }
      }
      adapter.scale = config.scale;
      adapter.dropout = config.dropout;
      set.adapters_.push_back(std::move(adapter));
    }
  }
  set.bind(model);
  return set;
}

const LoraAdapter* AdapterSet::find(const Tensor* weight) const {
  const auto it = by_weight_.find(weight);
  return it == by_weight_.end() ? nullptr : &adapters_[it->second];
}

void AdapterSet::bind(const ModelSource& model) {
  by_weight_.clear();
  for (size_t i = 0; i < adapters_.size(); ++i) {
    const LoraAdapter& a = adapters_[i];
    const Tensor* w = model.find(a.weight_name);
    const std::string where = model.path + ": adapter for " + a.weight_name;
    if (!w) throw Error(where + ": the model has no such weight (was the adapter trained on another model?)");
    if (w->ndim() != 2 || a.a.ndim() != 2 || a.b.ndim() != 2 || a.a.dim(1) != w->dim(1) || a.b.dim(0) != w->dim(0) ||
        a.b.dim(1) != a.a.dim(0) || (!a.magnitude.empty() && a.magnitude.numel() != w->dim(0)))
      throw Error(where + ": A " + shape_str(a.a.shape()) + " and B " + shape_str(a.b.shape()) +
                  " do not fit the weight " + shape_str(w->shape()));
    by_weight_[w] = i;
  }
}

int64_t AdapterSet::parameter_count() const {
  int64_t n = 0;
  for (const LoraAdapter& a : adapters_) n += a.a.numel() + a.b.numel() + (a.magnitude.empty() ? 0 : a.magnitude.numel());
  return n;
}

void dora_row_factor(const Tensor& w, const LoraAdapter& adapter, float* factor) {
  const int64_t out = w.dim(0), in = w.dim(1), rank = adapter.rank();
  const float* a = adapter.a.f32();
  const float* b = adapter.b.f32();
  std::vector<float> row(in);
  for (int64_t r = 0; r < out; ++r) {
    weight_row(w, r, row.data());
    for (int64_t k = 0; k < rank; ++k) {
      const float s = adapter.scale * b[r * rank + k];
      const float* a_k = a + k * in;
      for (int64_t i = 0; i < in; ++i) row[i] += s * a_k[i];
    }
    double sum = 0;
    for (float v : row) sum += static_cast<double>(v) * v;
    factor[r] = adapter.magnitude.f32()[r] / static_cast<float>(std::sqrt(sum));
  }
}

void lora_forward(Backend& backend, const LoraAdapter& adapter, const float* x, float* y, int64_t n,
                  const float* factor, float* lora_x) {
  const int64_t out = adapter.b.dim(0), rank = adapter.rank();
  // Scratch per thread (a backend is driven from one thread); grown to the largest batch.
  thread_local std::vector<float> ax_scratch;
  if (!lora_x) {
    ax_scratch.resize(n * rank);
    lora_x = ax_scratch.data();
  }
  // x A^T is a full-width product (in = the model's width): the backend's matmul. The rank is
  // small and need not fit the kernels' 32-element blocks, so (x A^T) B^T is a plain loop: it
  // costs rank / in of the base matmul.
  backend.matmul(adapter.a, x, lora_x, n);
  const float* b = adapter.b.f32();
  const float s = adapter.scale;
  for (int64_t t = 0; t < n; ++t) {
    float* y_t = y + t * out;
    const float* ax = lora_x + t * rank;
    for (int64_t r = 0; r < out; ++r) {
      const float* b_r = b + r * rank;
      float path = 0.0f;
      for (int64_t k = 0; k < rank; ++k) path += b_r[k] * ax[k];
      y_t[r] = factor ? factor[r] * (y_t[r] + s * path) : y_t[r] + s * path;
    }
  }
}

namespace {

class AdaptedBackend final : public Backend {
 public:
  AdaptedBackend(std::shared_ptr<Backend> base, std::shared_ptr<const AdapterSet> adapters, const ModelSource& model)
      : base_(std::move(base)), adapters_(std::move(adapters)) {
    for (const LoraAdapter& a : adapters_->adapters()) {
      if (a.magnitude.empty()) continue;
      const Tensor& w = model.require(a.weight_name);
      std::vector<float>& f = factors_[&a];
      f.resize(w.dim(0));
      dora_row_factor(w, a, f.data());
    }
  }

  std::string name() const override { return base_->name() + "+lora"; }
  int n_threads() const override { return base_->n_threads(); }

  void matmul(const Tensor& w, const float* x, float* y, int64_t n) override {
    base_->matmul(w, x, y, n);
    if (const LoraAdapter* a = adapters_->find(&w)) {
      const auto f = factors_.find(a);
      lora_forward(*base_, *a, x, y, n, f == factors_.end() ? nullptr : f->second.data());
    }
  }
  void get_rows(const Tensor& table, const int32_t* ids, int64_t n, float* out) override {
    base_->get_rows(table, ids, n, out);
  }
  void rms_norm(const float* x, const float* weight, float* y, int64_t rows, int64_t dim, float eps) override {
    base_->rms_norm(x, weight, y, rows, dim, eps);
  }
  void rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, const int32_t* positions,
            const RopeTable& table) override {
    base_->rope(x, n_tokens, n_heads, head_dim, positions, table);
  }
  void attention(const float* q, const float* k, const float* v, const AttentionBatch& batch, int64_t n_heads,
                 int64_t n_kv_heads, int64_t head_dim, float scale, float* out) override {
    base_->attention(q, k, v, batch, n_heads, n_kv_heads, head_dim, scale, out);
  }
  void silu_mul(float* gate, const float* up, int64_t n) override { base_->silu_mul(gate, up, n); }
  void add(float* y, const float* x, int64_t n) override { base_->add(y, x, n); }
  void add_bias(float* y, const Tensor& bias, int64_t rows, int64_t cols) override {
    base_->add_bias(y, bias, rows, cols);
  }
  void begin_block() override { base_->begin_block(); }

 private:
  std::shared_ptr<Backend> base_;
  std::shared_ptr<const AdapterSet> adapters_;
  std::map<const LoraAdapter*, std::vector<float>> factors_;  // DoRA row factors, fixed at load
};

}  // namespace

std::unique_ptr<Backend> make_adapted_backend(std::shared_ptr<Backend> base, std::shared_ptr<const AdapterSet> adapters,
                                              const ModelSource& model) {
  return std::make_unique<AdaptedBackend>(std::move(base), std::move(adapters), model);
}

}  // namespace orchard
