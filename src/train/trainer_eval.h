#pragma once
// One forward-and-loss mechanism for training, validation, `finetune --test` and
// `orchard perplexity`: a TrainBatch (B sequences of T tokens, positions 0..T-1) goes through
// Model::forward with every row wanting logits, then softmax cross-entropy against its
// targets (kernels/cpu/backward.h). The loss of a dataset is the mean over all its target
// tokens; perplexity is exp of that.
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/threadpool.h"
#include "models/kv_cache.h"
#include "models/model.h"
#include "train/dataset.h"

namespace orchard::train {

struct EvalResult {
  double loss = 0;      // mean cross-entropy (nats) per target token
  int64_t tokens = 0;   // target tokens scored
  int64_t batches = 0;
  double perplexity() const { return std::exp(loss); }
};

class BatchRunner {
 public:
  explicit BatchRunner(int threads);  // threads for the loss kernel; 0 = default_thread_count()
  // Forward of `batch` and its mean loss over target tokens; dlogits() then holds the gradient
  // of that mean with respect to logits() (the buffer the model wrote, which the tape knows).
  double forward_loss(Model& model, const TrainBatch& batch);
  const float* logits() const { return logits_.data(); }
  std::vector<float>& dlogits() { return dlogits_; }

 private:
  ThreadPool pool_;
  std::unique_ptr<KvCache> cache_;  // f32, n_seq = B, n_ctx = T; remade when the shape changes
  Batch batch_;
  std::vector<float> logits_, dlogits_;
};

// Loss over the first `num_batches` batches of `data` (-1 or more than there are: all of it),
// batched by length as training is (the order fixed by `seed`). The caller turns recording off.
EvalResult evaluate(Model& model, BatchRunner& runner, const Dataset& data, int64_t batch_size,
                    int64_t max_seq_length, int64_t num_batches, uint64_t seed = 0);

// `orchard perplexity`'s data: a .jsonl file in any of the fine-tuning formats (one example per
// record, truncated to `context` tokens), or plain text tokenized as a whole and cut into
// windows of `context` tokens (the last one shorter), each scored on its tokens after the first.
Dataset perplexity_dataset(const std::string& path, const TextFormat& format, int64_t context);

}  // namespace orchard::train
