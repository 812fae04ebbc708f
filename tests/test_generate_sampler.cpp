// Sampler: each filter and penalty checked against hand-computed distributions. Statistical
// checks use fixed seeds and tolerances several standard deviations wide, so they are
// deterministic yet would fail if the feature were missing or wrong.
#include "generate/sampler.h"

#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"

using namespace orchard;

namespace {

// Logits whose softmax is exactly `probs`.
std::vector<float> logits_for(const std::vector<double>& probs) {
  std::vector<float> out;
  for (double p : probs) out.push_back(static_cast<float>(std::log(p)));
  return out;
}

// Only the named filters on: everything else neutral.
SamplingParams plain(float temperature = 1.0f) {
  SamplingParams p;
  p.temperature = temperature;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = 1234;
  return p;
}

std::map<TokenId, double> frequencies(Sampler& s, const std::vector<float>& logits, int draws) {
  std::map<TokenId, double> f;
  for (int i = 0; i < draws; ++i) f[s.sample(logits)] += 1.0 / draws;
  return f;
}

const std::vector<double> kFour = {0.5, 0.3, 0.15, 0.05};

}  // namespace

TEST(Sampler, GreedyTakesFirstArgmax) {
  Sampler s(plain(0.0f), 5);
  EXPECT_EQ(s.sample(std::vector<float>{0.1f, 3.0f, -2.0f, 3.0f, 1.0f}), 1);
}

TEST(Sampler, PlainSamplingFollowsSoftmax) {
  Sampler s(plain(), 4);
  auto f = frequencies(s, logits_for(kFour), 20000);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(f[i], kFour[i], 0.015) << "token " << i;
}

TEST(Sampler, TemperatureSharpens) {
  // At T = 0.5 probabilities become p^2 / sum p^2.
  Sampler s(plain(0.5f), 4);
  double z = 0;
  for (double p : kFour) z += p * p;
  auto f = frequencies(s, logits_for(kFour), 20000);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(f[i], kFour[i] * kFour[i] / z, 0.015) << "token " << i;
}

TEST(Sampler, TopKKeepsExactlyK) {
  std::vector<float> logits(200);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = 0.01f * static_cast<float>((i * 37) % 200);
  // The three best: i with (i*37)%200 in {199, 198, 197}.
  std::set<TokenId> best;
  for (TokenId i = 0; i < 200; ++i)
    if ((i * 37) % 200 >= 197) best.insert(i);
  auto p = plain();
  p.top_k = 3;
  Sampler s(p, 200);
  std::set<TokenId> seen;
  for (auto& [id, freq] : frequencies(s, logits, 3000)) {
    seen.insert(id);
    EXPECT_GT(freq, 0.25) << "token " << id;  // three nearly equal tokens: ~1/3 each
  }
  EXPECT_EQ(seen, best);
}

TEST(Sampler, TopPKeepsSmallestPrefixReachingMass) {
  auto p = plain();
  p.top_p = 0.75f;  // 0.5 + 0.3 reaches it: keep two, renormalised 0.625 / 0.375
  Sampler two(p, 4);
  auto f = frequencies(two, logits_for(kFour), 20000);
  EXPECT_EQ(f.size(), 2u);
  EXPECT_NEAR(f[0], 0.625, 0.015);
  EXPECT_NEAR(f[1], 0.375, 0.015);

  p.top_p = 0.85f;  // needs the third token too
  Sampler three(p, 4);
  f = frequencies(three, logits_for(kFour), 20000);
  EXPECT_EQ(f.size(), 3u);
  EXPECT_NEAR(f[2], 0.15 / 0.95, 0.015);
}

TEST(Sampler, TopPOnLargeVocabularyNeedsMoreThanFirstSortedBlock) {
  // Nearly flat distribution over 1000 tokens: top-p 0.5 must keep about 500 of them, more
  // than the first partial-sort block, and exactly the best ones.
  std::vector<float> logits(1000);
  for (int i = 0; i < 1000; ++i) logits[i] = -0.0001f * static_cast<float>(i);
  auto p = plain();
  p.top_p = 0.5f;
  Sampler s(p, 1000);
  TokenId worst = 0;
  std::set<TokenId> seen;
  for (int i = 0; i < 20000; ++i) {
    TokenId id = s.sample(logits);
    worst = std::max(worst, id);
    seen.insert(id);
  }
  EXPECT_GE(worst, 480);
  EXPECT_LE(worst, 510);
  EXPECT_GT(seen.size(), 450u);
}

TEST(Sampler, MinPDropsTokensBelowFractionOfBest) {
  auto p = plain();
  p.min_p = 0.2f;  // cutoff 0.1: the 0.05 token goes
  Sampler s(p, 4);
  auto f = frequencies(s, logits_for(kFour), 20000);
  EXPECT_EQ(f.size(), 3u);
  EXPECT_EQ(f.count(3), 0u);
  EXPECT_NEAR(f[0], 0.5 / 0.95, 0.015);
}

TEST(Sampler, FiltersCombineInLlamaCppOrder) {
  // top-k 3 then top-p 0.8 over the renormalised top-3 (0.526, 0.316, 0.158): keeps two.
  auto p = plain();
  p.top_k = 3;
  p.top_p = 0.8f;
  Sampler s(p, 4);
  auto f = frequencies(s, logits_for(kFour), 5000);
  EXPECT_EQ(f.size(), 2u);
}

TEST(Sampler, RepeatPenaltyDividesPositiveAndMultipliesNegative) {
  auto p = plain(0.0f);
  p.repeat_penalty = 2.0f;
  Sampler s(p, 3);
  s.accept(0);
  // 2.0 / 2 = 1.0 < 1.9
  EXPECT_EQ(s.sample(std::vector<float>{2.0f, -5.0f, 1.9f}), 2);
  Sampler neg(p, 2);
  neg.accept(0);
  // -1.0 * 2 = -2.0 < -1.5
  EXPECT_EQ(neg.sample(std::vector<float>{-1.0f, -1.5f}), 1);
}

TEST(Sampler, RepeatPenaltyOnlyOverLastN) {
  auto p = plain(0.0f);
  p.repeat_penalty = 2.0f;
  p.repeat_last_n = 3;
  Sampler s(p, 10);
  s.accept(0);
  for (TokenId t : {5, 6, 7}) s.accept(t);  // token 0 slides out of the window
  EXPECT_EQ(s.sample(std::vector<float>{2.0f, 1.9f, 0, 0, 0, 0, 0, 0, 0, 0}), 0);
  s.accept(0);
  EXPECT_EQ(s.sample(std::vector<float>{2.0f, 1.9f, 0, 0, 0, 0, 0, 0, 0, 0}), 1);
}

TEST(Sampler, FrequencyPenaltyScalesWithCount) {
  const std::vector<float> logits = {3.0f, 2.5f};
  auto p = plain(0.0f);
  p.frequency_penalty = 0.3f;
  Sampler strong(p, 2);
  strong.accept(0);
  EXPECT_EQ(strong.sample(logits), 0);  // 3 - 0.3 = 2.7
  strong.accept(0);
  EXPECT_EQ(strong.sample(logits), 1);  // 3 - 0.6 = 2.4
}

TEST(Sampler, PresencePenaltyCountsOnce) {
  const std::vector<float> logits = {3.0f, 2.5f};
  auto p = plain(0.0f);
  p.presence_penalty = 0.4f;
  Sampler s(p, 2);
  for (int i = 0; i < 5; ++i) s.accept(0);
  EXPECT_EQ(s.sample(logits), 0);  // 3 - 0.4 = 2.6, however often it occurred
  p.presence_penalty = 0.6f;
  Sampler more(p, 2);
  more.accept(0);
  EXPECT_EQ(more.sample(logits), 1);
}

TEST(Sampler, LogitBiasShiftsAndBans) {
  auto p = plain(0.0f);
  p.logit_bias = {{0, -std::numeric_limits<float>::infinity()}, {2, 1.5f}};
  Sampler greedy(p, 3);
  EXPECT_EQ(greedy.sample(std::vector<float>{5.0f, 1.0f, 0.0f}), 2);

  p.temperature = 1.0f;
  Sampler s(p, 3);
  auto f = frequencies(s, std::vector<float>{5.0f, 1.0f, 0.0f}, 5000);
  EXPECT_EQ(f.count(0), 0u);
  EXPECT_NEAR(f[2], std::exp(1.5) / (std::exp(1.5) + std::exp(1.0)), 0.03);
}

TEST(Sampler, AllBannedIsAnError) {
  auto p = plain();
  p.logit_bias = {{0, -INFINITY}, {1, -INFINITY}};
  Sampler s(p, 2);
  EXPECT_THROW(s.sample(std::vector<float>{1.0f, 2.0f}), Error);
}

TEST(Sampler, RejectsBadParameters) {
  auto p = plain();
  p.logit_bias = {{7, 1.0f}};
  EXPECT_THROW(Sampler(p, 5), Error);
  p = plain();
  p.top_p = 1.5f;
  EXPECT_THROW(Sampler(p, 5), Error);
  p = plain();
  p.repeat_penalty = 0.0f;
  EXPECT_THROW(Sampler(p, 5), Error);
  Sampler ok(plain(), 5);
  EXPECT_THROW(ok.sample(std::vector<float>(4)), Error);
}

TEST(Sampler, SameSeedSameTokensOnLargeVocabulary) {
  std::mt19937 gen(7);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::vector<float> logits(151936);
  for (float& l : logits) l = normal(gen);
  SamplingParams p;  // the defaults: top-k 40, top-p 0.95, min-p 0.05, temperature 0.8
  p.seed = 42;
  Sampler a(p, 151936), b(p, 151936);
  p.seed = 43;
  Sampler c(p, 151936);
  std::vector<TokenId> ra, rb, rc;
  for (int i = 0; i < 200; ++i) {
    ra.push_back(a.sample(logits));
    rb.push_back(b.sample(logits));
    rc.push_back(c.sample(logits));
  }
  EXPECT_EQ(ra, rb);
  EXPECT_NE(ra, rc);
  EXPECT_GT(std::set<TokenId>(ra.begin(), ra.end()).size(), 1u);  // it really samples
}
