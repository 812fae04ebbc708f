#pragma once
// Reverse-mode autodiff by recording: a Backend that runs the CPU kernels and tapes every op
// the model code calls (models/transformer.cpp is unchanged: the same forward that serves
// inference is what gets differentiated). backward() then walks the tape in reverse, calling
// the gradient kernels of kernels/cpu/backward.h.
//
// Ops address activations by pointer, and the model reuses its buffers (x_, h_, q_, ...) from
// layer to layer and writes some in place (rope, silu_mul, the residual add, q/k norm). The
// tape therefore keeps, per op, copies of exactly the inputs its backward needs (one copy per
// buffer version, shared by the ops that read it), and the gradient of a buffer is kept per
// address range: an op that overwrites its output consumes and clears that gradient before
// passing gradients to its inputs; an op that accumulates (y += x) passes it through.
//
// With gradient checkpointing (begin_block() marks each layer), a block keeps only the
// buffers it reads before writing them; its backward first replays the block's ops to rebuild
// the rest.
//
// Training sequences are whole: each batch sequence's tokens are consecutive in the Batch,
// at positions 0..T-1 (the trainer builds batches so); attention differentiates over the
// batch's own K/V activations, never a cache filled by an earlier call.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "adapters/lora.h"
#include "core/backend.h"

namespace orchard::train {

// A tensor with a gradient: the model's f32 weights in full fine-tuning (value is the
// Tensor the model reads), an adapter's A, B or m in LoRA/DoRA.
struct Parameter {
  std::string name;          // GGUF weight name, or "<weight>.lora_a" / ".lora_b" / ".dora_m"
  Tensor* value = nullptr;   // f32, updated in place by the optimizer
  std::vector<float> grad;   // numel floats, accumulated by backward()
};

class TapeBackend final : public Backend {
 public:
  explicit TapeBackend(int n_threads);
  ~TapeBackend() override;

  // Training setup. Weights given here must be f32; their gradients go to `grad` (numel floats).
  void add_trainable(const Tensor* weight, float* grad);
  // LoRA/DoRA: matmuls of adapted weights add the low-rank path (adapters/lora.h); gradients
  // of A, B (and m) go to grads[i] = {dA, dB, dm} of adapters->adapters()[i].
  void set_adapters(const AdapterSet* adapters, std::vector<std::vector<float>*> grads);
  void set_grad_checkpoint(bool on);
  void set_dropout_seed(uint64_t seed);
  // Recording on: forward ops are taped and adapter dropout is applied. Off: plain forward
  // (evaluation, perplexity), no tape, no dropout.
  void set_recording(bool on);

  // Forgets the tape (call before each training forward).
  void clear();
  // Backpropagates from the gradient `dlogits` of the loss with respect to `logits` (the
  // buffer the model's forward wrote its logits into), accumulating parameter gradients.
  void backward(const float* logits, const float* dlogits);
  // Bytes held by the tape's saved activations now, and the most since construction.
  size_t tape_bytes() const;
  size_t peak_tape_bytes() const;

  // Backend
  std::string name() const override;
  int n_threads() const override;
  void matmul(const Tensor& w, const float* x, float* y, int64_t n) override;
  void get_rows(const Tensor& table, const int32_t* ids, int64_t n, float* out) override;
  void rms_norm(const float* x, const float* weight, float* y, int64_t rows, int64_t dim, float eps) override;
  void rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, const int32_t* positions,
            const RopeTable& table) override;
  void attention(const float* q, const float* k, const float* v, const AttentionBatch& batch, int64_t n_heads,
                 int64_t n_kv_heads, int64_t head_dim, float scale, float* out) override;
  void silu_mul(float* gate, const float* up, int64_t n) override;
  void add(float* y, const float* x, int64_t n) override;
  void add_bias(float* y, const Tensor& bias, int64_t rows, int64_t cols) override;
  void begin_block() override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace orchard::train
