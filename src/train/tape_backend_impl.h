#pragma once
// TapeBackend's state, shared by its forward (tape_backend.cpp), its backward
// (tape_backend_backward.cpp) and checkpoint replay (tape_backend_replay.cpp).
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "core/threadpool.h"
#include "kernels/cpu/kernels.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/ops.h"
#include "train/tape_backend.h"
#include "train/tape_backend_grads.h"
#include "train/tape_backend_ops.h"

namespace orchard::train {

// How an op runs: Plain is inference (no tape, the cache-reading attention, no dropout);
// Forward is recording whose copies a checkpoint block keeps for itself; Save keeps each op's
// backward inputs.
enum class RunMode { Plain, Forward, Save };

// Which copy holds the current version of a range: ops that read the same unchanged buffer
// (the q/k/v matmuls reading h_) share one copy; a write forgets the copies it overlaps.
class SaveCache {
 public:
  Saved find(const Range& r) const;
  void insert(const Range& r, Saved s) { entries_[r.p] = {r.n, std::move(s)}; }
  void forget(const Range& written);
  void clear() { entries_.clear(); }

 private:
  std::map<const float*, std::pair<int64_t, Saved>> entries_;
};

// A checkpoint block: its ops are [first_op, next block's first_op); inputs are the ranges it
// read before writing them, as they were then (in the order read).
struct TapeBlock {
  size_t first_op = 0;
  std::vector<std::pair<Range, Saved>> inputs{};
  std::vector<Range> written{};
};

struct TapeBackend::Impl {
  Impl(TapeBackend& self, int n_threads);

  // Forward
  void record(TapeOp op);
  void run(TapeOp& op, RunMode mode);
  void run_matmul(TapeOp& op, RunMode mode);
  void run_attention(TapeOp& op, RunMode mode);
  // What an op's backward needs of its inputs (Matmul: x only for dW or an adapter).
  bool keeps_inputs(const TapeOp& op) const;
  void keep_inputs(TapeOp& op);
  Saved keep(const Range& r);                   // the current version's copy (shared)
  Saved copy(const float* data, int64_t n);     // a new copy, counted in tape_bytes
  Saved adopt(std::vector<float> data);
  float* at(const float* p) const;              // where p lives now (replay's scratch, or p)
  std::shared_ptr<const DoraScale> dora_scale(const LoraAdapter& adapter, const Tensor& w);
  float* trainable(const void* data, int64_t numel) const;  // its gradient, or null

  // Backward (tape_backend_backward.cpp)
  void backward(const float* logits, const float* dlogits);
  void backward_op(const TapeOp& op);
  void backward_matmul(const TapeOp& op);
  void backward_attention(const TapeOp& op);
  // Checkpointing (tape_backend_replay.cpp): rebuilds block b's saved copies.
  void replay(size_t b);

  void count(int64_t bytes);

  TapeBackend& self;  // the Backend lora_forward calls back into (its matmuls run plain, nested)
  const cpu::IsaKernels& kernels;
  ThreadPool pool;
  cpu::MatmulScratch matmul_scratch;
  cpu::AttentionScratch attention_scratch;

  bool recording = false, checkpoint = false;
  int nested = 0;  // > 0 while an adapter's own matmuls run
  uint64_t dropout_seed = 0, forward_count = 0;

  struct Trainable {
    float* grad;
    int64_t numel;
  };
  std::map<const void*, Trainable> trainables;  // by data pointer: rms_norm and add_bias see floats
  const AdapterSet* adapters = nullptr;
  struct AdapterGrads {
    std::vector<float>* a = nullptr;
    std::vector<float>* b = nullptr;
    std::vector<float>* m = nullptr;
  };
  std::vector<AdapterGrads> adapter_grads;
  std::map<const LoraAdapter*, std::shared_ptr<const DoraScale>> dora_cache;

  int64_t bytes = 0, peak = 0;  // before the tape: saved copies' deleters count down here
  std::vector<TapeOp> ops;
  std::vector<TapeBlock> blocks;
  SaveCache cache;
  ActivationGrads grads;

  // Replay's private copies of the buffers a block touches (model addresses -> scratch).
  struct Mirror {
    Range original;
    std::vector<float> data;
  };
  std::vector<Mirror> mirrors;
};

// The dropout multiplier of element i of an adapter input: 0 or 1 / (1 - p), from a counter-based
// hash so a replayed op draws the same mask.
float dropout_multiplier(uint64_t key, int64_t i, float p);

}  // namespace orchard::train
