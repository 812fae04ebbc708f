#include "train/trainer_eval.h"

#include <algorithm>
#include <fstream>
#include <iterator>

#include "core/error.h"
#include "kernels/cpu/backward.h"

namespace orchard::train {

BatchRunner::BatchRunner(int threads) : pool_(threads) {}

double BatchRunner::forward_loss(Model& model, const TrainBatch& b) {
  const int64_t B = b.batch_size, T = b.seq_len;
  if (!cache_ || cache_->n_seq() != B || cache_->n_ctx() < T)
    cache_ = std::make_unique<KvCache>(model.config(), T, static_cast<int>(B), DType::F32);
  batch_.clear();
  for (int64_t s = 0; s < B; ++s) {
    cache_->clear(static_cast<int>(s));
    // Padding past a sequence's end has ignored targets and, attention being causal, no
    // influence on the real tokens; any valid id serves as its input.
    for (int64_t t = 0; t < T; ++t)
      batch_.add(std::max(b.inputs[s * T + t], 0), static_cast<int32_t>(t), static_cast<int32_t>(s), true);
  }
  model.forward(batch_, *cache_, logits_);
  dlogits_.resize(logits_.size());
  return cpu::cross_entropy(pool_, logits_.data(), b.targets.data(), B * T, model.config().n_vocab, dlogits_.data());
}

EvalResult evaluate(Model& model, BatchRunner& runner, const Dataset& data, int64_t batch_size, int64_t max_seq_length,
                    int64_t num_batches, uint64_t seed) {
  EvalResult result;
  if (data.examples.empty()) return result;
  BatchIterator batches(data, std::min<int64_t>(batch_size, static_cast<int64_t>(data.examples.size())), max_seq_length,
                        seed);
  int64_t n = batches.batches_per_epoch();
  if (num_batches >= 0) n = std::min(n, num_batches);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const TrainBatch batch = batches.next();
    const int64_t targets = batch.target_tokens();
    if (targets == 0) continue;
    sum += runner.forward_loss(model, batch) * static_cast<double>(targets);
    result.tokens += targets;
    ++result.batches;
  }
  if (result.tokens > 0) result.loss = sum / static_cast<double>(result.tokens);
  return result;
}

Dataset perplexity_dataset(const std::string& path, const TextFormat& format, int64_t context) {
  if (context < 2) throw Error("--context must be at least 2 tokens (got " + std::to_string(context) + ")");
  if (path.ends_with(".jsonl")) return load_jsonl(path, format, DatasetOptions{.mask_prompt = false, .max_seq_length = context});
  std::ifstream in(path, std::ios::binary);
  if (!in) throw file_error(path, "cannot read the data file");
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const std::vector<int32_t> tokens = format.tokenizer->encode(text, EncodeOptions{.add_special = true, .parse_special = false});
  if (tokens.size() < 2) throw file_error(path, "too little text to score (fewer than 2 tokens)");
  Dataset data;
  data.path = path;
  for (size_t begin = 0; begin + 1 < tokens.size(); begin += static_cast<size_t>(context)) {
    const size_t end = std::min(tokens.size(), begin + static_cast<size_t>(context));
    data.examples.push_back(Example{.tokens = {tokens.begin() + begin, tokens.begin() + end}, .prompt_length = 0});
  }
  return data;
}

}  // namespace orchard::train
