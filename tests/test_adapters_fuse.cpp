// Fusing adapters into the base (adapters/fuse.h): the fused model, loaded without adapters, must
// compute what the adapted model computes (LoRA and DoRA; f32 GGUF and HF bases; a Q4_0 base
// with --dequantize), quantized weights stay quantized without it, and bad inputs give errors.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "adapters/fuse.h"
#include "adapters/lora.h"
#include "core/backend.h"
#include "core/error.h"
#include "models/kv_cache.h"
#include "quant/quant.h"
#include "models/model.h"
#include "models/testmodel.h"
#include "support/compare.h"
#include "support/errors.h"
#include "support/paths.h"

namespace orchard {
namespace {

namespace fs = std::filesystem;

const std::vector<int32_t> kTokens = {1, 17, 230, 5, 99, 42, 7, 300, 11};

std::vector<float> logits(std::shared_ptr<const ModelSource> source, std::shared_ptr<const AdapterSet> adapters) {
  std::shared_ptr<Backend> backend = make_cpu_backend(2);
  if (adapters) backend = make_adapted_backend(backend, adapters, *source);
  auto model = load_model(source, backend);
  KvCache cache(model->config(), 64, 1, DType::F32);
  Batch batch;
  for (size_t i = 0; i < kTokens.size(); ++i) batch.add(kTokens[i], static_cast<int32_t>(i), 0, true);
  std::vector<float> out;
  model->forward(batch, cache, out);
  return out;
}

std::shared_ptr<AdapterSet> random_adapters(const ModelSource& source, bool dora) {
  LoraConfig config;
  config.rank = 4, config.scale = 2.0f, config.dora = dora;
  config.targets = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_down"};
  auto set = std::make_shared<AdapterSet>(AdapterSet::create(source, config, 3));
  std::mt19937_64 rng(8);
  std::normal_distribution<float> normal(0.0f, 0.3f);
  for (LoraAdapter& a : set->adapters()) {
    for (int64_t i = 0; i < a.b.numel(); ++i) a.b.f32()[i] = normal(rng);
    if (a.magnitude.empty()) continue;
    for (int64_t i = 0; i < a.magnitude.numel(); ++i) a.magnitude.f32()[i] *= 1.0f + normal(rng);
  }
  return set;
}

class Fuse : public ::testing::Test {
 protected:
  void SetUp() override {
    if (test::shared_dir().empty()) GTEST_SKIP() << "shared data folder not found (set ORCHARD_SHARED_DIR)";
    dir_ = test::temp_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    spec_ = test_model_preset("tiny", "llama");
    vocab_ = vocab_from_gguf((test::shared_dir() / "data/tokenizer-tests/ggml-vocab-llama-spm.gguf").string());
  }
  std::shared_ptr<const ModelSource> open(const fs::path& path, const LoadOptions& options = {}) {
    return std::make_shared<const ModelSource>(open_model(path.string(), options));
  }
  fs::path dir_;
  TestModelSpec spec_;
  TestVocab vocab_;
};

TEST_F(Fuse, FusedModelsComputeWhatTheAdaptedOnesDo) {
  write_test_gguf(spec_, vocab_, DType::F32, 7, (dir_ / "f32.gguf").string());
  write_test_hf(spec_, vocab_, DType::F32, 7, (dir_ / "hf").string());
  write_test_gguf(spec_, vocab_, DType::Q4_0, 7, (dir_ / "q4_0.gguf").string());
  // A Q4_0 model runs its matmuls on q8_0-rounded activations (2% off its own dequantized f32
  // copy on this tiny random model), so the Q4_0 base is compared on that f32 copy: adapted
  // there (the same adapters: same seeds, same W values) against Q4_0 fused with --dequantize.
  fuse_model(*open(dir_ / "q4_0.gguf"), AdapterSet(), (dir_ / "q4_0_as_f32.gguf").string(),
             FuseOptions{.dequantize = true});
  struct Case {
    std::string base, adapted_on, out;
    bool dequantize;
  };
  for (const Case& c : {Case{"f32.gguf", "f32.gguf", "fused.gguf", false}, Case{"hf", "hf", "fused_hf", false},
                        Case{"q4_0.gguf", "q4_0_as_f32.gguf", "fused_q4_0.gguf", true}}) {
    for (const bool dora : {false, true}) {
      SCOPED_TRACE(c.base + (dora ? " dora" : " lora"));
      const auto base = open(dir_ / c.base), adapted_on = open(dir_ / c.adapted_on);
      const std::vector<float> want = logits(adapted_on, random_adapters(*adapted_on, dora));
      ASSERT_GT(test::relative_error(logits(adapted_on, nullptr), want), 1e-2);  // the adapters matter
      const fs::path out = dir_ / ((dora ? "dora_" : "lora_") + c.out);
      fuse_model(*base, *random_adapters(*base, dora), out.string(), FuseOptions{.dequantize = c.dequantize});
      const auto fused = open(out);
      EXPECT_LE(test::relative_error(logits(fused, nullptr), want), 1e-3);
      if (c.dequantize) EXPECT_EQ(fused->require("blk.0.attn_q.weight").dtype(), DType::F32);
      if (c.base == "hf") {
        EXPECT_TRUE(fs::exists(out / "config.json"));
        EXPECT_TRUE(fs::exists(out / "generation_config.json"));
      }
    }
  }
}

TEST_F(Fuse, QuantizedWeightsStayInTheirType) {
  write_test_gguf(spec_, vocab_, DType::Q4_0, 7, (dir_ / "q4_0.gguf").string());
  const auto base = open(dir_ / "q4_0.gguf");
  const auto adapters = random_adapters(*base, false);
  fuse_model(*base, *adapters, (dir_ / "fused.gguf").string(), {});
  const auto fused = open(dir_ / "fused.gguf");
  EXPECT_EQ(fused->require("blk.0.attn_q.weight").dtype(), DType::Q4_0);
  EXPECT_EQ(fused->metadata.get_int("general.file_type"), base->metadata.get_int("general.file_type"));
  // Each fused row is W + scale B A rounded once to Q4_0: within half a step of the exact
  // (dequantized) fused row, one step (max |x| / 8) where ggml clamps the block's far end.
  const Tensor exact = fused_tensors(*base, *adapters, true).at("blk.1.attn_v.weight");
  const Tensor& q = fused->require("blk.1.attn_v.weight");
  std::vector<float> row(q.cols());
  for (int64_t r = 0; r < q.rows(); ++r) {
    dequantize_row(DType::Q4_0, q.row(r), row.data(), q.cols());
    for (int64_t c0 = 0; c0 < q.cols(); c0 += 32) {
      float max_abs = 0;
      for (int64_t c = c0; c < c0 + 32; ++c) max_abs = std::max(max_abs, std::abs(exact.f32()[r * q.cols() + c]));
      for (int64_t c = c0; c < c0 + 32; ++c)
        ASSERT_LE(std::abs(row[c] - exact.f32()[r * q.cols() + c]), max_abs / 8 * 1.01f + 1e-6f) << r << "," << c;
    }
  }
}

TEST_F(Fuse, HfToGgufAndQuantizedHfOutputs) {
  write_test_hf(spec_, vocab_, DType::F32, 7, (dir_ / "hf").string());
  const auto hf = open(dir_ / "hf");
  const auto adapters = random_adapters(*hf, false);
  // HF -> GGUF: Q/K rows into llama.cpp's order (the GGUF llama runs interleaved rope).
  fuse_model(*hf, *adapters, (dir_ / "x.gguf").string(), FuseOptions{.gguf = true});
  EXPECT_LE(test::relative_error(logits(open(dir_ / "x.gguf"), nullptr), logits(hf, adapters)), 1e-3);
  // A folder quantized on load cannot be written back as safetensors without --dequantize.
  const auto quantized = open(dir_ / "hf", LoadOptions{.quantize = DType::Q8_0});
  const auto q_adapters = random_adapters(*quantized, false);
  const std::string e = test::error_of([&] { fuse_model(*quantized, *q_adapters, (dir_ / "out").string(), {}); });
  EXPECT_NE(e.find("--dequantize"), std::string::npos) << e;
  fuse_model(*quantized, *q_adapters, (dir_ / "out").string(), FuseOptions{.dequantize = true});
  EXPECT_TRUE(fs::exists(dir_ / "out/model.safetensors"));
}

}  // namespace
}  // namespace orchard
