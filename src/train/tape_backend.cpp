// The recording forward: every Backend call becomes a TapeOp, runs the CPU kernels (the same
// cpu:: functions CpuBackend calls), and keeps what its backward needs.
#include "train/tape_backend.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "core/error.h"
#include "kernels/cpu/backward.h"
#include "kernels/cpu/isa.h"
#include "quant/quant.h"
#include "train/tape_backend_impl.h"

namespace orchard::train {

// ---- copies --------------------------------------------------------------------------------

Saved SaveCache::find(const Range& r) const {
  const auto it = entries_.find(r.p);
  return it != entries_.end() && it->second.first == r.n ? it->second.second : nullptr;
}

void SaveCache::forget(const Range& written) {
  for (auto it = entries_.begin(); it != entries_.end();)
    it = Range{it->first, it->second.first}.overlaps(written) ? entries_.erase(it) : std::next(it);
}

void TapeBackend::Impl::count(int64_t delta) {
  bytes += delta;
  peak = std::max(peak, bytes);
}

Saved TapeBackend::Impl::adopt(std::vector<float> data) {
  const int64_t n = static_cast<int64_t>(data.size() * sizeof(float));
  count(n);
  return Saved(new std::vector<float>(std::move(data)), [this, n](const std::vector<float>* v) {
    count(-n);
    delete v;
  });
}

Saved TapeBackend::Impl::copy(const float* data, int64_t n) { return adopt(std::vector<float>(data, data + n)); }

Saved TapeBackend::Impl::keep(const Range& r) {
  if (Saved s = cache.find(r)) return s;
  Saved s = copy(at(r.p), r.n);
  cache.insert(r, s);
  return s;
}

float* TapeBackend::Impl::at(const float* p) const {
  const auto a = reinterpret_cast<uintptr_t>(p);
  for (const Mirror& m : mirrors) {
    const auto b = reinterpret_cast<uintptr_t>(m.original.p);
    if (a >= b && a < b + m.original.n * sizeof(float))
      return const_cast<float*>(m.data.data()) + (a - b) / sizeof(float);
  }
  return const_cast<float*>(p);
}

float* TapeBackend::Impl::trainable(const void* data, int64_t numel) const {
  const auto it = trainables.find(data);
  if (it == trainables.end()) return nullptr;
  if (it->second.numel != numel)
    throw Error("tape: a trainable weight of " + std::to_string(it->second.numel) + " elements is used as " +
                std::to_string(numel));
  return it->second.grad;
}

float dropout_multiplier(uint64_t key, int64_t i, float p) {
  uint64_t z = key + static_cast<uint64_t>(i) * 0x9e3779b97f4a7c15ull;  // splitmix64 of (key, i)
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  const double u = static_cast<double>(z >> 11) * 0x1.0p-53;
  return u < p ? 0.0f : 1.0f / (1.0f - p);
}

// DoRA's row norms change only when A, B or m do (an optimizer step, which comes between two
// clear() calls, or between set_recording() calls around an evaluation), so they are computed
// once per forward. The norm is a constant for
// the gradient (mlx_lm, PEFT): dora_row_factor with m = 1 gives it, and m * that is the factor.
std::shared_ptr<const DoraScale> TapeBackend::Impl::dora_scale(const LoraAdapter& adapter, const Tensor& w) {
  if (auto it = dora_cache.find(&adapter); it != dora_cache.end()) return it->second;
  const int64_t out = w.dim(0);
  LoraAdapter unit = adapter;
  unit.magnitude = Tensor::zeros(DType::F32, {out});
  std::fill_n(unit.magnitude.f32(), out, 1.0f);
  auto scale = std::make_shared<DoraScale>();
  scale->inv_norm.resize(out);
  dora_row_factor(w, unit, scale->inv_norm.data());
  scale->factor.resize(out);
  for (int64_t r = 0; r < out; ++r) scale->factor[r] = adapter.magnitude.f32()[r] * scale->inv_norm[r];
  dora_cache.emplace(&adapter, scale);
  return scale;
}

// ---- running and recording ops -------------------------------------------------------------

TapeBackend::Impl::Impl(TapeBackend& owner, int n_threads)
    : self(owner), kernels(cpu::kernels_for(cpu::selected_isa())), pool(n_threads) {}

void TapeBackend::Impl::record(TapeOp op) {
  if (!recording) return run(op, RunMode::Plain);
  if (!checkpoint) {
    run(op, RunMode::Save);
    ops.push_back(std::move(op));
    return;
  }
  // Checkpointed: the block keeps what it reads before writing (its inputs); the op keeps nothing.
  if (blocks.empty()) blocks.push_back({.first_op = ops.size()});
  TapeBlock& block = blocks.back();
  for (const Range& r : op.reads)
    if (std::none_of(block.written.begin(), block.written.end(), [&](const Range& w) { return w.covers(r); }))
      block.inputs.emplace_back(r, keep(r));
  run(op, RunMode::Forward);
  block.written.push_back(op.write);
  ops.push_back(std::move(op));
}

void TapeBackend::Impl::run(TapeOp& op, RunMode mode) {
  const bool save = mode == RunMode::Save;
  float* y = at(op.write.p);
  switch (op.kind) {
    case OpKind::Matmul:
      run_matmul(op, mode);
      break;
    case OpKind::GetRows: {
      const Tensor& table = *op.tensor;
      for (int64_t i = 0; i < op.rows; ++i) dequantize_row(table.dtype(), table.row(op.ids[i]), y + i * op.cols, op.cols);
      break;
    }
    case OpKind::RmsNorm:
      if (save) keep_inputs(op);
      cpu::rms_norm(pool, at(op.reads[0].p), op.norm_weight, y, op.rows, op.cols, op.eps);
      break;
    case OpKind::Rope:
      cpu::rope(pool, y, op.rows, op.heads, op.head_dim, op.ids.data(), op.rope);
      break;
    case OpKind::Attention:
      run_attention(op, mode);
      break;
    case OpKind::SiluMul: {
      if (save) keep_inputs(op);
      const float* up = at(op.reads[1].p);
      // As CpuBackend: a pool dispatch pays off only for prefill-sized batches.
      constexpr int64_t kParallelFrom = 1 << 15;
      if (op.write.n < kParallelFrom) {
        kernels.silu_mul(y, up, op.write.n);
      } else {
        pool.parallel_for(op.write.n,
                          [&](int64_t b, int64_t e, int) { kernels.silu_mul(y + b, up + b, e - b); });
      }
      break;
    }
    case OpKind::Add:
      cpu::add(y, at(op.reads[1].p), op.write.n);
      break;
    case OpKind::AddBias:
      cpu::add_bias(y, op.tensor->f32(), op.rows, op.cols);
      break;
  }
  cache.forget(op.write);
  if (op.kind == OpKind::Attention && save) cache.insert(op.write, op.saved[3]);  // wo's matmul reads it next
}

bool TapeBackend::Impl::keeps_inputs(const TapeOp& op) const {
  switch (op.kind) {
    case OpKind::Matmul:
      return op.adapter || trainable(op.tensor->data(), op.tensor->numel());
    case OpKind::RmsNorm:
    case OpKind::SiluMul:
    case OpKind::Attention:
      return true;
    default:
      return false;
  }
}

void TapeBackend::Impl::keep_inputs(TapeOp& op) {
  op.saved.clear();
  if (op.kind == OpKind::Matmul) op.saved.assign(3, nullptr);
  if (!keeps_inputs(op)) return;
  for (size_t i = 0; i < op.reads.size(); ++i) {
    if (op.saved.size() <= i) op.saved.emplace_back();
    op.saved[i] = keep(op.reads[i]);
  }
}

void TapeBackend::Impl::run_matmul(TapeOp& op, RunMode mode) {
  const Tensor& w = *op.tensor;
  const int64_t n = op.rows, in = w.dim(1), out = w.dim(0);
  const float* x = at(op.reads[0].p);
  float* y = at(op.write.p);
  const bool save = mode == RunMode::Save;
  if (save) keep_inputs(op);
  cpu::matmul(kernels, pool, matmul_scratch, w, x, y, n);
  if (!op.adapter) return;
  const LoraAdapter& a = *op.adapter;
  if (mode == RunMode::Plain) {
    ++nested;
    lora_forward(self, a, x, y, n, op.dora ? op.dora->factor.data() : nullptr);
    --nested;
    return;
  }
  std::vector<float> dropped;
  if (a.dropout > 0.0f) {
    dropped.assign(x, x + n * in);
    for (int64_t i = 0; i < n * in; ++i) dropped[i] *= dropout_multiplier(op.dropout_key, i, a.dropout);
    x = dropped.data();
  }
  std::vector<float> lora_x(static_cast<size_t>(n * a.rank()));
  ++nested;
  // DoRA: the unscaled output z = x W^T + path is what dm needs, so the row factor is applied
  // here after keeping z (lora_forward with the factor computes the same y).
  lora_forward(self, a, x, y, n, nullptr, lora_x.data());
  --nested;
  if (save) {
    op.saved[1] = adopt(std::move(lora_x));
    if (op.dora) op.saved[2] = copy(y, n * out);
  }
  if (op.dora)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t r = 0; r < out; ++r) y[i * out + r] *= op.dora->factor[r];
}

void TapeBackend::Impl::run_attention(TapeOp& op, RunMode mode) {
  const float *q = at(op.reads[0].p), *k = at(op.reads[1].p), *v = at(op.reads[2].p);
  float* out = at(op.write.p);
  if (mode == RunMode::Plain) {
    cpu::attention(kernels, pool, attention_scratch, q, *op.batch, op.heads, op.kv_heads, op.head_dim, op.scale, out);
    return;
  }
  const int64_t q_row = op.heads * op.head_dim, kv_row = op.kv_heads * op.head_dim;
  std::vector<float> lse(static_cast<size_t>(op.write.n / op.head_dim));
  for (const auto& [first, length] : op.sequences)
    cpu::attention_forward(kernels, pool, q + first * q_row, k + first * kv_row, v + first * kv_row, length, op.heads,
                           op.kv_heads, op.head_dim, op.scale, out + first * q_row, lse.data() + first * op.heads);
  if (mode == RunMode::Save) {
    keep_inputs(op);
    op.saved.push_back(copy(out, op.write.n));
    op.saved.push_back(adopt(std::move(lse)));
  }
}

// ---- TapeBackend ---------------------------------------------------------------------------

TapeBackend::TapeBackend(int n_threads) : impl_(std::make_unique<Impl>(*this, n_threads)) {}
TapeBackend::~TapeBackend() {
  impl_->ops.clear();
  impl_->blocks.clear();
  impl_->cache.clear();
}

void TapeBackend::add_trainable(const Tensor* weight, float* grad) {
  if (!weight || weight->dtype() != DType::F32)
    throw Error("tape: trainable weights must be f32 (got " +
                std::string(weight ? dtype_name(weight->dtype()) : "none") + "); train a quantized model with LoRA");
  impl_->trainables[weight->data()] = {grad, weight->numel()};
}

void TapeBackend::set_adapters(const AdapterSet* adapters, std::vector<std::vector<float>*> grads) {
  Impl& s = *impl_;
  s.adapters = adapters;
  s.adapter_grads.clear();
  s.dora_cache.clear();
  if (!adapters) return;
  const auto& list = adapters->adapters();
  if (list.empty()) return;
  // grads lists each adapter's dA, dB (and dm) in adapter order: 2 or 3 per adapter.
  const size_t per = grads.size() / list.size();
  if ((per != 2 && per != 3) || grads.size() != per * list.size())
    throw Error("tape: set_adapters needs dA, dB (and dm) for each of " + std::to_string(list.size()) +
                " adapters, got " + std::to_string(grads.size()) + " gradient buffers");
  auto fit = [](std::vector<float>* g, const Tensor& t, const std::string& what) {
    if (!g) throw Error("tape: no gradient buffer for " + what);
    if (g->empty()) g->assign(t.numel(), 0.0f);
    if (static_cast<int64_t>(g->size()) != t.numel())
      throw Error("tape: gradient of " + what + " has " + std::to_string(g->size()) + " floats, not " +
                  std::to_string(t.numel()));
    return g;
  };
  for (size_t i = 0; i < list.size(); ++i) {
    const LoraAdapter& a = list[i];
    Impl::AdapterGrads g;
    g.a = fit(grads[per * i], a.a, a.weight_name + ".lora_a");
    g.b = fit(grads[per * i + 1], a.b, a.weight_name + ".lora_b");
    if (!a.magnitude.empty()) {
      if (per != 3) throw Error("tape: DoRA adapter " + a.weight_name + " needs a gradient buffer for m");
      g.m = fit(grads[per * i + 2], a.magnitude, a.weight_name + ".dora_m");
    }
    s.adapter_grads.push_back(g);
  }
}

void TapeBackend::set_grad_checkpoint(bool on) { impl_->checkpoint = on; }
// Masks depend only on the seed and the forwards since it was set, so a resumed run that sets
// the same seed per step draws the same masks.
void TapeBackend::set_dropout_seed(uint64_t seed) {
  impl_->dropout_seed = seed;
  impl_->forward_count = 0;
}
void TapeBackend::set_recording(bool on) {
  impl_->recording = on;
  impl_->dora_cache.clear();
}

void TapeBackend::clear() {
  Impl& s = *impl_;
  s.ops.clear();
  s.blocks.clear();
  s.cache.clear();
  s.grads.reset();
  s.dora_cache.clear();
  ++s.forward_count;
}

void TapeBackend::backward(const float* logits, const float* dlogits) { impl_->backward(logits, dlogits); }
size_t TapeBackend::tape_bytes() const { return static_cast<size_t>(impl_->bytes); }
size_t TapeBackend::peak_tape_bytes() const { return static_cast<size_t>(impl_->peak); }

std::string TapeBackend::name() const { return "tape-cpu-" + std::string(cpu::isa_name(impl_->kernels.isa)); }
int TapeBackend::n_threads() const { return impl_->pool.size(); }

void TapeBackend::matmul(const Tensor& w, const float* x, float* y, int64_t n) {
  Impl& s = *impl_;
  if (s.nested) return cpu::matmul(s.kernels, s.pool, s.matmul_scratch, w, x, y, n);  // inside lora_forward
  if (w.ndim() != 2) throw Error("matmul: weight must be 2-D, got " + shape_str(w.shape()));
  TapeOp op{.kind = OpKind::Matmul, .reads = {{x, n * w.dim(1)}}, .write = {y, n * w.dim(0)}, .tensor = &w, .rows = n};
  if (s.adapters) {
    if ((op.adapter = s.adapters->find(&w))) {
      op.adapter_index = static_cast<size_t>(op.adapter - s.adapters->adapters().data());
      if (!op.adapter->magnitude.empty()) op.dora = s.dora_scale(*op.adapter, w);
      op.dropout_key = s.dropout_seed * 0x2545f4914f6cdd1dull + (s.forward_count << 24) + s.ops.size();
    }
  }
  s.record(std::move(op));
}

void TapeBackend::get_rows(const Tensor& table, const int32_t* ids, int64_t n, float* out) {
  if (table.ndim() != 2) throw Error("get_rows: table must be 2-D, got " + shape_str(table.shape()));
  const int64_t rows = table.rows(), dim = table.cols();
  for (int64_t i = 0; i < n; ++i)
    if (ids[i] < 0 || ids[i] >= rows)
      throw Error("get_rows: id " + std::to_string(ids[i]) + " is outside the table's " + std::to_string(rows) +
                  " rows");
  impl_->record({.kind = OpKind::GetRows, .write = {out, n * dim}, .tensor = &table, .rows = n, .cols = dim,
                 .ids = std::vector<int32_t>(ids, ids + n)});
}

void TapeBackend::rms_norm(const float* x, const float* weight, float* y, int64_t rows, int64_t dim, float eps) {
  impl_->record({.kind = OpKind::RmsNorm, .reads = {{x, rows * dim}}, .write = {y, rows * dim}, .norm_weight = weight,
                 .rows = rows, .cols = dim, .eps = eps});
}

void TapeBackend::rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, const int32_t* positions,
                       const RopeTable& table) {
  TapeOp op{.kind = OpKind::Rope, .reads = {{x, n_tokens * n_heads * head_dim}}, .write = {x, n_tokens * n_heads * head_dim},
            .rows = n_tokens, .heads = n_heads, .head_dim = head_dim, .ids = std::vector<int32_t>(positions, positions + n_tokens),
            .rope = table};
  if (impl_->recording && table.inv_freq && table.rot_dim > 0) {  // the model's table may not outlive the tape
    auto inv_freq = std::make_shared<const std::vector<float>>(table.inv_freq, table.inv_freq + table.rot_dim / 2);
    op.rope.inv_freq = inv_freq->data();
    op.inv_freq = std::move(inv_freq);
  }
  impl_->record(std::move(op));
}

void TapeBackend::attention(const float* q, const float* k, const float* v, const AttentionBatch& batch,
                            int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale, float* out) {
  const int64_t n = batch.n_tokens;
  TapeOp op{.kind = OpKind::Attention,
            .reads = {{q, n * n_heads * head_dim}, {k, n * n_kv_heads * head_dim}, {v, n * n_kv_heads * head_dim}},
            .write = {out, n * n_heads * head_dim},
            .scale = scale,
            .heads = n_heads,
            .kv_heads = n_kv_heads,
            .head_dim = head_dim,
            .batch = &batch};
  if (impl_->recording) {
    if (!k || !v) throw Error("training attention needs the batch's own keys and values");
    // Whole sequences only: each one's tokens consecutive at positions 0..T-1 (one cache per sequence).
    for (int64_t i = 0; i < n; ++i) {
      const int32_t pos = batch.positions[i];
      const bool starts = pos == 0;
      const bool follows = i > 0 && pos == batch.positions[i - 1] + 1 &&
                           (!batch.k_cache || batch.k_cache[i] == batch.k_cache[i - 1]);
      if (!starts && !follows)
        throw Error("training attention: batch token " + std::to_string(i) + " at position " + std::to_string(pos) +
                    " does not continue its sequence; each sequence's tokens must be consecutive in the batch at "
                    "positions 0..T-1");
      if (starts) op.sequences.emplace_back(i, 0);
      ++op.sequences.back().second;
    }
    op.batch = nullptr;
  }
  impl_->record(std::move(op));
}

void TapeBackend::silu_mul(float* gate, const float* up, int64_t n) {
  impl_->record({.kind = OpKind::SiluMul, .reads = {{gate, n}, {up, n}}, .write = {gate, n}});
}

void TapeBackend::add(float* y, const float* x, int64_t n) {
  impl_->record({.kind = OpKind::Add, .reads = {{y, n}, {x, n}}, .write = {y, n}});
}

void TapeBackend::add_bias(float* y, const Tensor& bias, int64_t rows, int64_t cols) {
  if (bias.numel() != cols)
    throw Error("add_bias: bias of shape " + shape_str(bias.shape()) + " for rows of " + std::to_string(cols));
  impl_->record({.kind = OpKind::AddBias, .reads = {{y, rows * cols}}, .write = {y, rows * cols}, .tensor = &bias,
                 .rows = rows, .cols = cols});
}

void TapeBackend::begin_block() {
  Impl& s = *impl_;
  if (s.recording && s.checkpoint) s.blocks.push_back({.first_op = s.ops.size()});
}

}  // namespace orchard::train
