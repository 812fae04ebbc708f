#include "generate/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "core/error.h"

namespace orchard {

namespace {

void check_params(const SamplingParams& p, int32_t n_vocab) {
  auto fail = [](const std::string& what) { throw Error("sampling: " + what); };
  if (!std::isfinite(p.temperature)) fail("temperature must be a finite number");
  if (!(p.top_p >= 0.0f && p.top_p <= 1.0f)) fail("top-p must be in [0, 1], got " + std::to_string(p.top_p));
  if (!(p.min_p >= 0.0f && p.min_p <= 1.0f)) fail("min-p must be in [0, 1], got " + std::to_string(p.min_p));
  if (!(p.repeat_penalty > 0.0f) || !std::isfinite(p.repeat_penalty))
    fail("repeat penalty must be a positive number, got " + std::to_string(p.repeat_penalty));
  if (p.repeat_last_n < -1) fail("repeat-last-n must be -1 (all), 0 (off) or positive");
  if (!std::isfinite(p.presence_penalty) || !std::isfinite(p.frequency_penalty))
    fail("presence and frequency penalties must be finite numbers");
  for (const auto& [id, bias] : p.logit_bias) {
    if (id < 0 || id >= n_vocab)
      fail("logit bias token id " + std::to_string(id) + " is outside the vocabulary (0.." +
           std::to_string(n_vocab - 1) + ")");
    if (std::isnan(bias) || bias == std::numeric_limits<float>::infinity())
      fail("logit bias for token " + std::to_string(id) + " must be a number or -inf");
  }
}

uint64_t fresh_seed() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ device();
}

constexpr float kBanned = -std::numeric_limits<float>::infinity();

}  // namespace

Sampler::Sampler(SamplingParams params, int32_t n_vocab)
    : params_(std::move(params)), n_vocab_(n_vocab), seed_(params_.seed ? *params_.seed : fresh_seed()), rng_(seed_) {
  if (n_vocab <= 0) throw Error("sampling: the vocabulary is empty");
  check_params(params_, n_vocab);
}

void Sampler::accept(TokenId id) {
  if (params_.repeat_last_n == 0) return;
  history_.push_back(id);
  // Keep at most twice the window so trimming is amortised rather than per token.
  const auto window = static_cast<size_t>(params_.repeat_last_n);
  if (params_.repeat_last_n > 0 && history_.size() > 2 * window)
    history_.erase(history_.begin(), history_.end() - static_cast<std::ptrdiff_t>(window));
}

void Sampler::apply_bias_and_penalties() {
  for (const auto& [id, bias] : params_.logit_bias) scratch_[id] += bias;

  const bool penalised = params_.repeat_penalty != 1.0f || params_.presence_penalty != 0.0f ||
                         params_.frequency_penalty != 0.0f;
  if (!penalised || history_.empty()) return;
  size_t window = history_.size();
  if (params_.repeat_last_n > 0) window = std::min(window, static_cast<size_t>(params_.repeat_last_n));
  std::vector<TokenId> recent(history_.end() - static_cast<std::ptrdiff_t>(window), history_.end());
  std::sort(recent.begin(), recent.end());
  for (size_t i = 0; i < recent.size();) {
    size_t j = i;
    while (j < recent.size() && recent[j] == recent[i]) ++j;
    const TokenId id = recent[i];
    const auto count = static_cast<float>(j - i);
    i = j;
    if (id < 0 || id >= n_vocab_) continue;  // prompt ids the model cannot emit
    float& logit = scratch_[id];
    logit = logit > 0.0f ? logit / params_.repeat_penalty : logit * params_.repeat_penalty;
    logit -= count * params_.frequency_penalty + params_.presence_penalty;
  }
}

void Sampler::filter_candidates() {
  const auto better = [](const Candidate& a, const Candidate& b) { return a.logit > b.logit; };
  candidates_.clear();
  float best = kBanned;
  const bool top_k = params_.top_k > 0 && params_.top_k < n_vocab_;
  for (TokenId id = 0; id < n_vocab_; ++id) {
    const float logit = scratch_[id];
    if (logit == kBanned || std::isnan(logit)) continue;
    best = std::max(best, logit);
    if (!top_k) {
      candidates_.push_back({id, logit});
    } else if (candidates_.size() < static_cast<size_t>(params_.top_k)) {
      candidates_.push_back({id, logit});
      std::push_heap(candidates_.begin(), candidates_.end(), better);
    } else if (logit > candidates_.front().logit) {
      // A min-heap of the k best so far: one pass, and replacements become rare quickly.
      std::pop_heap(candidates_.begin(), candidates_.end(), better);
      candidates_.back() = {id, logit};
      std::push_heap(candidates_.begin(), candidates_.end(), better);
    }
  }
  if (candidates_.empty()) throw Error("sampling: every token of the vocabulary is banned");

  if (params_.top_p < 1.0f) {
    // Smallest best-first prefix whose probability (over the top-k set) reaches top_p. Sort
    // only as much of the list as needed: mass is usually concentrated in a few tokens.
    double total = 0.0;
    for (const auto& c : candidates_) total += std::exp(static_cast<double>(c.logit - best));
    for (size_t sorted = std::min<size_t>(candidates_.size(), 64);; sorted = std::min(2 * sorted, candidates_.size())) {
      std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<std::ptrdiff_t>(sorted),
                        candidates_.end(), better);
      double mass = 0.0;
      size_t keep = 0;
      for (size_t i = 0; i < sorted && keep == 0; ++i) {
        mass += std::exp(static_cast<double>(candidates_[i].logit - best)) / total;
        if (mass >= params_.top_p) keep = i + 1;
      }
      if (keep != 0) {
        candidates_.resize(keep);
        break;
      }
      if (sorted == candidates_.size()) break;  // rounding: the whole set is needed
    }
  }

  if (params_.min_p > 0.0f) {
    // p >= min_p * p_best  <=>  logit >= best + log(min_p); the best token always stays.
    const float cutoff = best + std::log(params_.min_p);
    std::erase_if(candidates_, [cutoff](const Candidate& c) { return c.logit < cutoff; });
  }
}

TokenId Sampler::draw() {
  float best = kBanned;
  for (const auto& c : candidates_) best = std::max(best, c.logit);
  const double inv_temp = 1.0 / params_.temperature;
  double total = 0.0;
  std::vector<double> cumulative(candidates_.size());
  for (size_t i = 0; i < candidates_.size(); ++i) {
    total += std::exp((candidates_[i].logit - best) * inv_temp);
    cumulative[i] = total;
  }
  const double u = std::uniform_real_distribution<double>(0.0, total)(rng_);
  const auto it = std::upper_bound(cumulative.begin(), cumulative.end(), u);
  return candidates_[std::min<size_t>(it - cumulative.begin(), candidates_.size() - 1)].id;
}

TokenId Sampler::sample(std::span<const float> logits) {
  if (logits.size() != static_cast<size_t>(n_vocab_))
    throw Error("sampling: got " + std::to_string(logits.size()) + " logits for a vocabulary of " +
                std::to_string(n_vocab_));
  scratch_.assign(logits.begin(), logits.end());
  apply_bias_and_penalties();

  if (params_.temperature <= 0.0f) {
    // Greedy: the first best id, as llama.cpp's greedy sampler; NaN never wins.
    TokenId best = -1;
    for (TokenId id = 0; id < n_vocab_; ++id)
      if (scratch_[id] != kBanned && !std::isnan(scratch_[id]) && (best < 0 || scratch_[id] > scratch_[best]))
        best = id;
    if (best < 0) throw Error("sampling: every token of the vocabulary is banned");
    return best;
  }
  filter_candidates();
  return draw();
}

}  // namespace orchard
