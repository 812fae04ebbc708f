// `orchard fuse` end to end: adapters (random nonzero B, LoRA and DoRA) merged into a tiny llama
// as a GGUF file (Q/K rows permuted), as a Hugging Face folder, and HF -> GGUF with --gguf; the
// fused model alone must reproduce the base with the adapters. A Q4_0 base with --dequantize and
// re-quantized without it; `generate --adapter-path` against the fused model; bad inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "adapters/adapter_file.h"
#include "adapters/lora.h"
#include "core/backend.h"
#include "models/kv_cache.h"
#include "models/model.h"
#include "models/testmodel.h"
#include "quant/quant.h"
#include "support/compare.h"
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

// stderr merged into the output (errors), or dropped (JSON on stdout).
test::CommandResult orchard_cli(const std::string& args, bool merge_stderr = true) {
  return test::run_command(test::orchard_bin().string() + " " + args + (merge_stderr ? " 2>&1" : " 2>/dev/null"));
}

class CliFuse : public ::testing::Test {
 protected:
  void SetUp() override {
    if (test::shared_dir().empty()) GTEST_SKIP() << "shared data folder not found (set ORCHARD_SHARED_DIR)";
    dir_ = test::temp_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    const TestModelSpec spec = test_model_preset("tiny", "llama");
    const TestVocab vocab =
        vocab_from_gguf((test::shared_dir() / "data/tokenizer-tests/ggml-vocab-llama-spm.gguf").string());
    write_test_hf(spec, vocab, DType::F32, 7, (dir_ / "hf").string());
    write_test_gguf(spec, vocab, DType::F32, 7, (dir_ / "model.gguf").string());
    write_test_gguf(spec, vocab, DType::Q4_0, 7, (dir_ / "q4_0.gguf").string());
  }

  std::shared_ptr<const ModelSource> open(const fs::path& path) const {
    return std::make_shared<const ModelSource>(open_model(path.string()));
  }

  // Adapters with random nonzero B (and m off the row norms) on every linear layer of `base`,
  // saved to `name`.
  std::shared_ptr<AdapterSet> write_adapters(const ModelSource& base, bool dora, const std::string& name) {
    LoraConfig config;
    config.rank = 4, config.scale = 2.0f, config.dora = dora, config.targets = {"all"};
    auto set = std::make_shared<AdapterSet>(AdapterSet::create(base, config, 3));
    std::mt19937_64 rng(17);
    std::normal_distribution<float> normal(0.0f, 0.3f);
    for (LoraAdapter& a : set->adapters()) {
      for (int64_t i = 0; i < a.b.numel(); ++i) a.b.f32()[i] = normal(rng);
      if (!a.magnitude.empty())
        for (int64_t i = 0; i < a.magnitude.numel(); ++i) a.magnitude.f32()[i] *= 1.0f + normal(rng);
    }
    save_adapters(*set, base, (dir_ / name).string());
    return set;
  }

  void fuse(const fs::path& model, const std::string& adapters, const fs::path& out, const std::string& flags = "") {
    const auto r = orchard_cli("fuse --model " + model.string() + " --adapter-path " + (dir_ / adapters).string() +
                               " --save-path " + out.string() + " " + flags);
    ASSERT_EQ(r.status, 0) << r.out;
  }

  fs::path dir_;
};

TEST_F(CliFuse, FusedModelReproducesTheAdaptedModel) {
  struct Case {
    std::string base, out, flags;
  };
  for (const Case& c : {Case{"model.gguf", "fused.gguf", ""}, Case{"hf", "fused_hf", ""},
                        Case{"hf", "fused_from_hf.gguf", "--gguf"}}) {
    for (const bool dora : {false, true}) {
      SCOPED_TRACE(c.base + " -> " + c.out + (dora ? " dora" : " lora"));
      const auto base = open(dir_ / c.base);
      const std::string adapters = "adapters_" + c.out + (dora ? "_dora" : "_lora");
      const auto set = write_adapters(*base, dora, adapters);
      const fs::path out = dir_ / (std::string(dora ? "dora_" : "lora_") + c.out);
      fuse(dir_ / c.base, adapters, out, c.flags);
      const auto fused = open(out);
      EXPECT_EQ(fused->format, c.out.ends_with(".gguf") ? ModelFormat::Gguf : ModelFormat::HuggingFace);
      const std::vector<float> want = logits(base, set);
      EXPECT_GT(test::relative_error(logits(base, nullptr), want), 1e-2);  // the adapters matter
      EXPECT_LE(test::relative_error(logits(fused, nullptr), want), 1e-3);
    }
  }
  EXPECT_TRUE(fs::exists(dir_ / "lora_fused_hf/config.json"));
}

TEST_F(CliFuse, QuantizedBaseDequantizedOrRequantized) {
  const auto base = open(dir_ / "q4_0.gguf");
  write_adapters(*base, false, "adapters");
  // The Q4_0 base itself in f32: fused with adapters whose B is zero (a fresh set).
  save_adapters(AdapterSet::create(*base, LoraConfig{}, 1), *base, (dir_ / "zero_adapters").string());
  fuse(dir_ / "q4_0.gguf", "zero_adapters", dir_ / "base_f32.gguf", "--dequantize");
  const auto base_f32 = open(dir_ / "base_f32.gguf");
  // The reference: that f32 base with the adapters (the Q4_0 model's own matmuls would round
  // the activations to q8_0, which the fused f32 model does not).
  const std::vector<float> want = logits(base_f32, load_adapters(*base_f32, (dir_ / "adapters").string()));

  fuse(dir_ / "q4_0.gguf", "adapters", dir_ / "dequantized.gguf", "--dequantize");
  const auto dequantized = open(dir_ / "dequantized.gguf");
  EXPECT_EQ(dequantized->require("blk.0.attn_q.weight").dtype(), DType::F32);
  EXPECT_EQ(dequantized->require("blk.0.ffn_down.weight").dtype(), DType::F32);
  EXPECT_LE(test::relative_error(logits(dequantized, nullptr), want), 1e-3);

  // Without --dequantize the merged rows are re-quantized to Q4_0: byte for byte the encoding
  // of the dequantized file's rows.
  fuse(dir_ / "q4_0.gguf", "adapters", dir_ / "requantized.gguf");
  const auto requantized = open(dir_ / "requantized.gguf");
  for (const char* name : {"blk.0.attn_q.weight", "blk.2.ffn_down.weight"}) {
    const Tensor& q = requantized->require(name);
    const Tensor& f = dequantized->require(name);
    ASSERT_EQ(q.dtype(), DType::Q4_0) << name;
    std::vector<uint8_t> encoded(q.row_bytes());
    for (int64_t r = 0; r < q.rows(); ++r) {
      quantize_row(DType::Q4_0, f.f32() + r * f.cols(), encoded.data(), f.cols());
      ASSERT_EQ(std::memcmp(encoded.data(), q.row(r), encoded.size()), 0) << name << " row " << r;
    }
  }
}

TEST_F(CliFuse, GenerateWithAdapterPathMatchesTheFusedModel) {
  const auto base = open(dir_ / "model.gguf");
  write_adapters(*base, true, "adapters");
  fuse(dir_ / "model.gguf", "adapters", dir_ / "fused.gguf");
  const std::string args = "generate --json -t 2 --temp 0 -n 12 --prompt-ids 1,17,230,5 ";
  const auto adapted = orchard_cli(args + "-m " + (dir_ / "model.gguf").string() + " --adapter-path " +
                                   (dir_ / "adapters").string(), false);
  const auto fused = orchard_cli(args + "-m " + (dir_ / "fused.gguf").string(), false);
  const auto plain = orchard_cli(args + "-m " + (dir_ / "model.gguf").string(), false);
  ASSERT_EQ(adapted.status, 0) << adapted.out;
  ASSERT_EQ(fused.status, 0) << fused.out;
  const auto ids = [](const std::string& out) { return nlohmann::json::parse(out).at("ids"); };
  EXPECT_EQ(ids(adapted.out), ids(fused.out));
  EXPECT_NE(ids(adapted.out), ids(plain.out));
}

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

TEST_F(CliFuse, BadInputsNameTheFile) {
  const std::string model = (dir_ / "model.gguf").string();
  auto fuse_error = [&](const fs::path& adapters) {
    const auto r = orchard_cli("fuse --model " + model + " --adapter-path " + adapters.string() + " --save-path " +
                               (dir_ / "out.gguf").string());
    EXPECT_NE(r.status, 0);
    return r.out;
  };
  EXPECT_NE(fuse_error(dir_ / "nowhere").find((dir_ / "nowhere").string()), std::string::npos);

  write_text(dir_ / "bad_json/adapter_config.json", "{\"lora_parameters\": {\"rank\": 4,");
  EXPECT_NE(fuse_error(dir_ / "bad_json").find("adapter_config.json"), std::string::npos);

  // Adapters of a wider model: the shapes do not fit this one.
  TestModelSpec wide = test_model_preset("tiny", "llama");
  wide.config.n_embd *= 2;
  wide.config.n_ff *= 2;
  const TestVocab vocab =
      vocab_from_gguf((test::shared_dir() / "data/tokenizer-tests/ggml-vocab-llama-spm.gguf").string());
  write_test_gguf(wide, vocab, DType::F32, 7, (dir_ / "wide.gguf").string());
  write_adapters(*open(dir_ / "wide.gguf"), false, "wide_adapters");
  const std::string shape = fuse_error(dir_ / "wide_adapters");
  EXPECT_NE(shape.find("do not fit"), std::string::npos) << shape;
  EXPECT_NE(shape.find("model.gguf"), std::string::npos) << shape;
  EXPECT_FALSE(fs::exists(dir_ / "out.gguf"));

  const auto help = orchard_cli("fuse --help");
  for (const char* flag : {"--model", "--adapter-path", "--save-path", "--dequantize", "--gguf"})
    EXPECT_NE(help.out.find(flag), std::string::npos) << flag;
}

}  // namespace
}  // namespace orchard
