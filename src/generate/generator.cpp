#include "generate/generator.h"

#include <algorithm>
#include <chrono>
#include <set>

#include "core/error.h"
#include "models/kv_cache.h"
#include "models/model.h"

namespace orchard {

const char* finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::Running: return "running";
    case FinishReason::EndOfGeneration: return "eos";
    case FinishReason::StopString: return "stop";
    case FinishReason::MaxTokens: return "length";
    case FinishReason::ContextFull: return "context";
    case FinishReason::Cancelled: return "cancelled";
  }
  return "unknown";
}

Sequence::Sequence(int slot, std::vector<TokenId> prompt, const GenerationOptions& options, const Tokenizer& tokenizer,
                   std::vector<TokenId> eog_ids, int64_t reused)
    : slot_(slot),
      tokens_(std::move(prompt)),
      n_prompt_(static_cast<int64_t>(tokens_.size())),
      n_fed_(std::max<int64_t>(0, std::min(reused, n_prompt_ - 1))),
      options_(options),
      tokenizer_(tokenizer),
      eog_ids_(std::move(eog_ids)),
      sampler_(options.sampling, tokenizer.n_vocab()),
      stop_(options.stop),
      detokenizer_(tokenizer) {
  if (tokens_.empty()) throw Error("generate: the prompt is empty (no tokens to start from)");
  for (TokenId id : tokens_)
    if (id < 0 || id >= tokenizer.n_vocab())
      throw Error("generate: prompt token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                  std::to_string(tokenizer.n_vocab() - 1) + ")");
  stats_.reused_tokens = n_fed_;
  for (TokenId id : tokens_) sampler_.accept(id);  // the prompt counts for repetition penalties
  if (options_.max_tokens == 0) finish(FinishReason::MaxTokens);
}

void Sequence::emit(const std::string& text) {
  if (text.empty()) return;
  text_ += text;
  if (on_text_) on_text_(text);
}

void Sequence::finish(FinishReason reason) {
  finish_ = reason;
  if (reason == FinishReason::StopString) return;  // the tail is the stop string: drop it
  emit(stop_.feed(detokenizer_.flush()));
  if (!stop_.stopped()) emit(stop_.flush());
}

void Sequence::take_token(TokenId id) {
  generated_.push_back(id);
  tokens_.push_back(id);
  sampler_.accept(id);
  if (!options_.ignore_eos && std::binary_search(eog_ids_.begin(), eog_ids_.end(), id)) {
    finish(FinishReason::EndOfGeneration);
    return;
  }
  emit(stop_.feed(detokenizer_.feed(id)));
  if (stop_.stopped()) finish(FinishReason::StopString);
  else if (options_.max_tokens > 0 && static_cast<int64_t>(generated_.size()) >= options_.max_tokens)
    finish(FinishReason::MaxTokens);
}

Generator::Generator(Model& model, KvCache& cache, int max_batch_tokens)
    : model_(model), cache_(cache), max_batch_tokens_(std::max(1, max_batch_tokens)) {}

bool Generator::step(std::span<Sequence* const> sequences) {
  const int64_t n_ctx = cache_.n_ctx();
  const int64_t n_vocab = model_.config().n_vocab;
  std::vector<Sequence*> active;
  std::set<int> slots;
  for (Sequence* s : sequences) {
    if (s->finished()) continue;
    if (s->options_.cancel && s->options_.cancel->load()) {
      s->finish(FinishReason::Cancelled);
      continue;
    }
    if (s->slot_ < 0 || s->slot_ >= cache_.n_seq())
      throw Error("generate: cache slot " + std::to_string(s->slot_) + " does not exist (the cache has " +
                  std::to_string(cache_.n_seq()) + ")");
    if (!slots.insert(s->slot_).second)
      throw Error("generate: two running sequences share cache slot " + std::to_string(s->slot_));
    if (s->n_prompt_ > n_ctx)
      throw Error("generate: the prompt has " + std::to_string(s->n_prompt_) + " tokens but the context holds " +
                  std::to_string(n_ctx) + " (raise --ctx-size)");
    if (!s->prefilling() && s->n_fed_ >= n_ctx) {
      s->finish(FinishReason::ContextFull);
      continue;
    }
    active.push_back(s);
  }
  if (active.empty()) return false;

  // Decoding sequences first (one token each), then prompt chunks in the remaining budget.
  Batch batch;
  std::vector<Sequence*> with_logits;  // batch order, which is the order of logits rows
  std::vector<std::pair<Sequence*, int64_t>> fed;
  int64_t budget = max_batch_tokens_;
  for (Sequence* s : active) {
    if (s->prefilling()) continue;
    batch.add(s->tokens_[s->n_fed_], static_cast<int32_t>(s->n_fed_), s->slot_, true);
    with_logits.push_back(s);
    fed.emplace_back(s, 1);
    --budget;
  }
  for (Sequence* s : active) {
    if (!s->prefilling() || budget <= 0) continue;
    const int64_t take = std::min(budget, s->n_prompt_ - s->n_fed_);
    for (int64_t i = s->n_fed_; i < s->n_fed_ + take; ++i) {
      if (s->tokens_[i] >= n_vocab)
        throw Error("generate: prompt token id " + std::to_string(s->tokens_[i]) + " is outside the model's " +
                    std::to_string(n_vocab) + "-entry embedding table");
      batch.add(s->tokens_[i], static_cast<int32_t>(i), s->slot_, i == s->n_prompt_ - 1);
    }
    if (s->n_fed_ + take == s->n_prompt_) with_logits.push_back(s);
    fed.emplace_back(s, take);
    budget -= take;
  }
  for (auto& [s, n] : fed) cache_.set_length(s->slot_, s->n_fed_);
  const auto start = std::chrono::steady_clock::now();
  model_.forward(batch, cache_, logits_);

  if (static_cast<int64_t>(logits_.size()) != static_cast<int64_t>(with_logits.size()) * n_vocab)
    throw Error("generate: the model returned " + std::to_string(logits_.size()) + " logits for " +
                std::to_string(with_logits.size()) + " rows of " + std::to_string(n_vocab));
  for (auto& [s, n] : fed) {
    s->n_fed_ += n;
    cache_.set_length(s->slot_, s->n_fed_);
  }
  for (size_t row = 0; row < with_logits.size(); ++row) {
    Sequence* s = with_logits[row];
    const std::span<const float> row_logits(logits_.data() + row * n_vocab, static_cast<size_t>(n_vocab));
    s->take_token(s->sampler_.sample(row_logits.first(std::min<size_t>(n_vocab, s->tokenizer_.n_vocab()))));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  for (auto& [s, n] : fed) {
    const bool was_decode = s->n_fed_ > s->n_prompt_;
    if (was_decode) {
      s->stats_.decode_steps += 1;
      s->stats_.decode_seconds += seconds;
    } else {
      s->stats_.prompt_tokens += n;
      s->stats_.prompt_seconds += seconds;
      if (s->on_prefill_) s->on_prefill_(s->n_fed_, s->n_prompt_);
    }
  }
  return true;
}

void Generator::run(std::span<Sequence* const> sequences) {
  while (step(sequences)) {
  }
}

void Generator::run(Sequence& sequence) {
  Sequence* one[] = {&sequence};
  run(one);
}

}  // namespace orchard
