// The KV cache's element types: sizes and errors, and a tiny model's logits with an f16 or
// q8_0 cache close to those with an f32 cache, over a prompt longer than one attention key
// block and decode steps after it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/backend.h"
#include "core/error.h"
#include "io/model_source.h"
#include "models/kv_cache.h"
#include "models/model.h"
#include "models/testmodel.h"
#include "support/paths.h"

namespace orchard {
namespace {

using ::testing::HasSubstr;

TEST(ModelsKvCache, BytesFollowTheType) {
  const ModelConfig c{.n_layer = 2, .n_head = 4, .n_head_kv = 2, .head_dim = 64};
  const size_t positions = 2 * 2 * 10;  // layers x (K, V) x n_ctx
  EXPECT_EQ(KvCache(c, 10, 1, DType::F32).bytes(), positions * 2 * 64 * 4);
  EXPECT_EQ(KvCache(c, 10, 1, DType::F16).bytes(), positions * 2 * 64 * 2);
  EXPECT_EQ(KvCache(c, 10, 1, DType::Q8_0).bytes(), positions * 2 * 2 * 34);  // 2 blocks of 34 bytes per head
  EXPECT_EQ(KvCache(c, 10, 3, DType::Q8_0).bytes(), 3 * kv_cache_bytes(c, 10, DType::Q8_0));
  EXPECT_EQ(KvCache(c, 10).type(), DType::F16);  // llama.cpp's default
}

TEST(ModelsKvCache, TypeNamesAndErrors) {
  EXPECT_EQ(kv_type_from_name("f32"), DType::F32);
  EXPECT_EQ(kv_type_from_name("f16"), DType::F16);
  EXPECT_EQ(kv_type_from_name("q8_0"), DType::Q8_0);
  try {
    kv_type_from_name("q4_0");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("'q4_0' (choose f32, f16 or q8_0)"));
  }
  const ModelConfig odd{.n_layer = 1, .n_head = 1, .n_head_kv = 1, .head_dim = 40};
  try {
    KvCache(odd, 8, 1, DType::Q8_0);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("head_dim divisible by 32, the model has 40"));
  }
  EXPECT_THROW(KvCache(odd, 8, 1, DType::Q4_0), Error);
}

// max |got - want| / max |want|
double relative_error(const float* got, const float* want, int64_t n) {
  double diff = 0, scale = 0;
  for (int64_t i = 0; i < n; ++i) {
    diff = std::max(diff, std::abs(double{got[i]} - want[i]));
    scale = std::max(scale, std::abs(double{want[i]}));
  }
  return diff / scale;
}

// Logits of every position: a 100-token prompt in one batch, then 40 tokens one at a time.
std::vector<float> run(Model& model, DType kv_type) {
  KvCache cache(model.config(), 256, 1, kv_type);
  const int64_t n_vocab = model.config().n_vocab;
  std::vector<float> all, logits;
  Batch batch;
  uint32_t x = 99u;
  auto next = [&] { return static_cast<int32_t>(((x = x * 1664525u + 1013904223u) >> 8) % n_vocab); };
  for (int32_t p = 0; p < 100; ++p) batch.add(next(), p, 0, true);
  model.forward(batch, cache, logits);
  all = logits;
  for (int32_t p = 100; p < 140; ++p) {
    batch.clear();
    batch.add(next(), p, 0, true);
    model.forward(batch, cache, logits);
    all.insert(all.end(), logits.begin(), logits.end());
  }
  return all;
}

TEST(ModelsKvCache, LogitsCloseToAnF32Cache) {
  ORCHARD_REQUIRE_SHARED();
  const TestVocab vocab = vocab_from_gguf((test::shared_dir() / "data/tokenizer-tests/ggml-vocab-llama-spm.gguf").string());
  std::shared_ptr<Backend> backend = make_cpu_backend(2);
  for (const char* arch : {"llama", "qwen3"}) {  // head_dim 32 and 64
    SCOPED_TRACE(arch);
    const auto dir = test::temp_dir(std::string("models_kv_cache_") + arch);
    write_test_hf(test_model_preset("tiny", arch), vocab, DType::F32, 11, dir.string());
    auto model = load_model(std::make_shared<const ModelSource>(open_model(dir.string())), backend);
    const int64_t n_vocab = model->config().n_vocab;
    const std::vector<float> f32 = run(*model, DType::F32);
    for (auto [type, tolerance] : {std::pair{DType::F16, 2e-3}, std::pair{DType::Q8_0, 4e-2}}) {
      const std::vector<float> got = run(*model, type);
      ASSERT_EQ(got.size(), f32.size());
      double worst = 0;
      for (size_t p = 0; p * n_vocab < f32.size(); ++p)
        worst = std::max(worst, relative_error(got.data() + p * n_vocab, f32.data() + p * n_vocab, n_vocab));
      EXPECT_LE(worst, tolerance) << dtype_name(type) << " cache";
      EXPECT_GT(worst, 0.0) << dtype_name(type) << " cache: no rounding at all, is the type used?";
    }
  }
}

}  // namespace
}  // namespace orchard
