#pragma once
// Picks the next token from a row of logits. The chain follows llama.cpp's default order so
// that flags mean what llama.cpp users expect:
//   logit bias -> repetition/presence/frequency penalties -> top-k -> top-p -> min-p
//   -> temperature -> draw from the remaining candidates.
// top-p and min-p therefore see the distribution at temperature 1, and temperature only
// reshapes what survives the filters. temperature <= 0 means greedy (argmax after bias and
// penalties). The filters never sort the whole vocabulary: top-k keeps a k-element heap in one pass, top-p
// grows a partial sort until it has enough probability mass, min-p is a threshold.
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace orchard {

struct SamplingParams {
  float temperature = 0.8f;
  int top_k = 40;          // <= 0: off
  float top_p = 0.95f;     // >= 1: off
  float min_p = 0.05f;     // <= 0: off; keep tokens with p >= min_p * p(best)
  // Over the last repeat_last_n accepted tokens (-1: all of them, 0: penalties off):
  float repeat_penalty = 1.0f;     // llama.cpp: positive logits divided, negative multiplied
  int repeat_last_n = 64;
  float presence_penalty = 0.0f;   // OpenAI: minus this once for any token that occurred
  float frequency_penalty = 0.0f;  // OpenAI: minus this times the token's count
  std::map<TokenId, float> logit_bias;  // added to the logit; -infinity bans the token
  std::optional<uint64_t> seed;         // unset: a fresh random seed
};

class Sampler {
 public:
  // Throws orchard::Error for out-of-range parameters or logit-bias ids outside the vocab.
  Sampler(SamplingParams params, int32_t n_vocab);

  // logits.size() must equal n_vocab. Does not record the token; call accept() for that.
  TokenId sample(std::span<const float> logits);
  // Records a token (prompt or generated) in the penalty window.
  void accept(TokenId id);
  void reset_history() { history_.clear(); }

  const SamplingParams& params() const { return params_; }
  uint64_t seed() const { return seed_; }

 private:
  struct Candidate {
    TokenId id;
    float logit;
  };
  void apply_bias_and_penalties();
  // The candidates that survive top-k, top-p and min-p, best first where order matters.
  void filter_candidates();
  TokenId draw();

  SamplingParams params_;
  int32_t n_vocab_;
  uint64_t seed_;
  std::mt19937_64 rng_;
  std::vector<TokenId> history_;
  std::vector<float> scratch_;          // logits after bias and penalties
  std::vector<Candidate> candidates_;
};

}  // namespace orchard
