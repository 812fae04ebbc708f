#pragma once
// The generation loop. A Sequence is one prompt being answered in its own KV-cache slot; a
// Generator runs forward passes over any number of Sequences at once: in each step, decoding
// sequences feed their last sampled token and prefilling ones feed their next prompt chunk,
// all in one Batch (so a server can decode many requests together while admitting new ones).
// Only the last prompt token of a sequence asks for logits. Text is streamed through the
// sequence's callback as complete UTF-8, with stop strings held back and never emitted.
#include <atomic>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "generate/sampler.h"
#include "generate/stop.h"
#include "tokenizer/tokenizer.h"

namespace orchard {

class Model;
class KvCache;

struct GenerationOptions {
  SamplingParams sampling;
  int max_tokens = -1;  // -1: until an end-of-generation token or the context is full
  std::vector<std::string> stop;
  bool ignore_eos = false;                    // keep going through end-of-generation tokens
  const std::atomic<bool>* cancel = nullptr;  // checked before every step (signal-safe)
};

enum class FinishReason { Running, EndOfGeneration, StopString, MaxTokens, ContextFull, Cancelled };
const char* finish_reason_name(FinishReason reason);  // "eos", "stop", "length", "context", "cancelled"

struct SequenceStats {
  int64_t reused_tokens = 0;   // prompt tokens whose K/V were already in the slot
  int64_t prompt_tokens = 0;   // prompt tokens evaluated
  double prompt_seconds = 0;   // wall time of the steps that evaluated them
  int64_t decode_steps = 0;    // forward passes that fed a generated token
  double decode_seconds = 0;
  double prompt_tokens_per_second() const { return prompt_seconds > 0 ? prompt_tokens / prompt_seconds : 0; }
  double decode_tokens_per_second() const { return decode_seconds > 0 ? decode_steps / decode_seconds : 0; }
};

using TextCallback = std::function<void(std::string_view text)>;
using ProgressCallback = std::function<void(int64_t done, int64_t total)>;

class Sequence {
 public:
  // `reused` leading prompt tokens are already in cache slot `slot` (the caller knows what it
  // fed there before); at least the last prompt token is always evaluated again for logits.
  // eog_ids: end-of-generation ids (see end_of_generation_ids()).
  Sequence(int slot, std::vector<TokenId> prompt, const GenerationOptions& options, const Tokenizer& tokenizer,
           std::vector<TokenId> eog_ids, int64_t reused = 0);

  void on_text(TextCallback callback) { on_text_ = std::move(callback); }
  void on_prefill_progress(ProgressCallback callback) { on_prefill_ = std::move(callback); }

  int slot() const { return slot_; }
  bool finished() const { return finish_ != FinishReason::Running; }
  FinishReason finish_reason() const { return finish_; }
  const std::vector<TokenId>& generated() const { return generated_; }  // incl. a final EOG id
  const std::string& text() const { return text_; }                     // everything emitted
  // Tokens whose K/V are now in the slot (prompt + generated, minus the last sampled one),
  // for a later Sequence in the same slot to reuse as `reused`.
  std::span<const TokenId> cached_tokens() const { return {tokens_.data(), static_cast<size_t>(n_fed_)}; }
  const SequenceStats& stats() const { return stats_; }
  uint64_t seed() const { return sampler_.seed(); }

 private:
  friend class Generator;
  bool prefilling() const { return n_fed_ < n_prompt_; }
  void take_token(TokenId id);
  void emit(const std::string& text);
  void finish(FinishReason reason);

  int slot_;
  std::vector<TokenId> tokens_;  // prompt followed by generated tokens
  int64_t n_prompt_;
  int64_t n_fed_;                // tokens_ [0, n_fed_) are in the cache
  GenerationOptions options_;
  const Tokenizer& tokenizer_;
  std::vector<TokenId> eog_ids_;
  Sampler sampler_;
  StopStrings stop_;
  StreamingDetokenizer detokenizer_;
  std::vector<TokenId> generated_;
  std::string text_;
  FinishReason finish_ = FinishReason::Running;
  SequenceStats stats_;
  TextCallback on_text_;
  ProgressCallback on_prefill_;
};

class Generator {
 public:
  // max_batch_tokens bounds the tokens of one forward pass (prompt chunks are cut to fit;
  // every decoding sequence still gets its one token).
  Generator(Model& model, KvCache& cache, int max_batch_tokens = 512);

  // One forward pass over the unfinished sequences (each in a distinct slot), then sampling
  // for each that produced logits. Returns false if there was nothing left to run.
  bool step(std::span<Sequence* const> sequences);
  // Steps until every sequence has finished.
  void run(std::span<Sequence* const> sequences);
  void run(Sequence& sequence);

  Model& model() { return model_; }
  KvCache& cache() { return cache_; }

 private:
  Model& model_;
  KvCache& cache_;
  int max_batch_tokens_;
  std::vector<float> logits_;  // reused across steps
};

}  // namespace orchard
