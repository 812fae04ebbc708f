// Adapter files against an independent PyTorch reader and writer (tools/reference/adapter_ref.py):
// torch writes random MLX LM and PEFT adapters (LoRA and DoRA), orchard loads them on a tiny
// llama as an HF folder and as a GGUF file (Q/K rows permuted: the adapters' B and m rows must
// follow) and must reproduce torch's logits; orchard writes adapters, torch reads them by MLX LM's
// names and must reproduce orchard's logits. Plus the errors users can cause.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>

#include "adapters/adapter_file.h"
#include "adapters/lora.h"
#include "core/backend.h"
#include "core/error.h"
#include "io/safetensors.h"
#include "models/kv_cache.h"
#include "models/model.h"
#include "models/testmodel.h"
#include "support/compare.h"
#include "support/errors.h"
#include "support/paths.h"

namespace orchard {
namespace {

namespace fs = std::filesystem;

constexpr double kTolerance = 1e-3;  // max |orchard - torch| / max |torch| over the logits

const std::vector<int32_t> kTokens = {1, 17, 230, 5, 99, 42, 7, 300, 11};

std::string join(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += (s.empty() ? "" : ",") + std::to_string(id);
  return s;
}

class AdapterFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    if (test::shared_dir().empty()) GTEST_SKIP() << "shared data folder not found (set ORCHARD_SHARED_DIR)";
    python_ = test::reference_python("torch, numpy");
    dir_ = test::temp_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    const TestModelSpec spec = test_model_preset("tiny", "llama");
    const TestVocab vocab =
        vocab_from_gguf((test::shared_dir() / "data/tokenizer-tests/ggml-vocab-llama-spm.gguf").string());
    n_vocab_ = vocab.size();
    write_test_hf(spec, vocab, DType::F32, 7, (dir_ / "hf").string());
    write_test_gguf(spec, vocab, DType::F32, 7, (dir_ / "model.gguf").string());
  }

  // torch's logits of the HF model with the adapters of `adapter_dir` (written first with `write`).
  std::vector<float> torch_logits(const fs::path& adapter_dir, const std::string& write = "", bool dora = false) {
    const fs::path out = dir_ / "torch_logits.bin";
    std::string cmd = python_ + " " + (test::source_dir() / "tools/reference/adapter_ref.py").string() + " " +
                      (dir_ / "hf").string() + " " + adapter_dir.string() + " --tokens " + join(kTokens) + " --out " +
                      out.string();
    if (!write.empty()) cmd += " --write " + write + (dora ? " --dora" : "");
    EXPECT_EQ(test::run_command(cmd).status, 0) << cmd;
    std::vector<float> logits(kTokens.size() * n_vocab_);
    std::ifstream in(out, std::ios::binary);
    in.read(reinterpret_cast<char*>(logits.data()), logits.size() * sizeof(float));
    EXPECT_TRUE(in.good()) << "short reference output " << out;
    return logits;
  }

  static std::vector<float> orchard_logits(std::shared_ptr<const ModelSource> source,
                                           std::shared_ptr<const AdapterSet> adapters) {
    std::shared_ptr<Backend> backend = make_adapted_backend(make_cpu_backend(2), adapters, *source);
    auto model = load_model(source, backend);
    KvCache cache(model->config(), 64, 1, DType::F32);
    Batch batch;
    for (size_t i = 0; i < kTokens.size(); ++i) batch.add(kTokens[i], static_cast<int32_t>(i), 0, true);
    std::vector<float> logits;
    model->forward(batch, cache, logits);
    return logits;
  }

  std::shared_ptr<const ModelSource> base(const std::string& name) const {
    return std::make_shared<const ModelSource>(open_model((dir_ / name).string()));
  }

  std::string python_;
  fs::path dir_;
  int64_t n_vocab_ = 0;
};

TEST_F(AdapterFiles, TorchWrittenMlxAndPeftAdaptersMatchTorch) {
  if (python_.empty()) GTEST_SKIP() << "python3 with torch and numpy not found (Debian: python3-torch)";
  for (const std::string layout : {"mlx", "peft"}) {
    for (const bool dora : {false, true}) {
      const fs::path adapter_dir = dir_ / (layout + (dora ? "_dora" : "_lora"));
      const std::vector<float> want = torch_logits(adapter_dir, layout, dora);
      for (const std::string model : {"hf", "model.gguf"}) {
        SCOPED_TRACE(layout + (dora ? " dora on " : " lora on ") + model);
        const auto source = base(model);
        const auto adapters = load_adapters(*source, adapter_dir.string());
        EXPECT_EQ(adapters->adapters().size(), 15u);  // 5 modules x 3 layers
        EXPECT_EQ(adapters->config().dora, dora);
        EXPECT_LE(test::relative_error(orchard_logits(source, adapters), want), kTolerance);
      }
    }
  }
}

// Random nonzero B (and m away from the row norms) so every part of the file matters.
void randomize(AdapterSet& set, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.3f);
  for (LoraAdapter& a : set.adapters()) {
    for (int64_t i = 0; i < a.b.numel(); ++i) a.b.f32()[i] = normal(rng);
    if (a.magnitude.empty()) continue;  // LoRA (an empty Tensor's numel is a scalar's 1)
    for (int64_t i = 0; i < a.magnitude.numel(); ++i) a.magnitude.f32()[i] *= 1.0f + normal(rng);
  }
}

TEST_F(AdapterFiles, OrchardWrittenAdaptersReadByTorchByMlxNames) {
  if (python_.empty()) GTEST_SKIP() << "python3 with torch and numpy not found (Debian: python3-torch)";
  for (const bool dora : {false, true}) {
    for (const std::string model : {"model.gguf", "hf"}) {
      SCOPED_TRACE(std::string(dora ? "dora on " : "lora on ") + model);
      const auto source = base(model);
      LoraConfig config;
      config.rank = 4, config.scale = 3.0f, config.dora = dora;
      config.targets = {"attn_q", "attn_k", "attn_v", "ffn_up"};
      config.num_layers = 2;
      auto set = std::make_shared<AdapterSet>(AdapterSet::create(*source, config, 5));
      randomize(*set, 11);
      const fs::path adapter_dir = dir_ / ("orchard_" + model + (dora ? "_dora" : "_lora"));
      save_adapters(*set, *source, adapter_dir.string());

      const auto file = SafetensorsFile::open((adapter_dir / "adapters.safetensors").string());
      const Tensor& a = file->tensors().at("model.layers.2.self_attn.q_proj.lora_a");
      EXPECT_EQ(a.shape(), (Shape{128, 4}));
      EXPECT_EQ(file->tensors().at("model.layers.2.self_attn.k_proj.lora_b").shape(), (Shape{4, 64}));
      EXPECT_EQ(file->tensors().count("model.layers.0.self_attn.q_proj.lora_a"), 0u);  // num_layers 2
      EXPECT_EQ(file->tensors().count("model.layers.1.mlp.up_proj.m"), dora ? 1u : 0u);

      const std::vector<float> got = orchard_logits(source, set);
      EXPECT_LE(test::relative_error(got, torch_logits(adapter_dir)), kTolerance);
      // And orchard reads its own file back to the same model.
      EXPECT_LE(test::relative_error(orchard_logits(source, load_adapters(*source, adapter_dir.string())), got), 1e-5);
      // Resuming: the values come back into a fresh set of the same shape.
      AdapterSet fresh = AdapterSet::create(*source, config, 99);
      load_adapter_weights(fresh, *source, (adapter_dir / "adapters.safetensors").string());
      fresh.bind(*source);
      EXPECT_LE(test::relative_error(orchard_logits(source, std::make_shared<AdapterSet>(std::move(fresh))), got), 1e-6);
    }
  }
}

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

TEST_F(AdapterFiles, ErrorsNameTheFileAndProblem) {
  const auto source = base("model.gguf");
  const fs::path missing = dir_ / "nowhere";
  EXPECT_NE(test::error_of([&] { load_adapters(*source, missing.string()); }).find(missing.string()), std::string::npos);

  const fs::path no_config = dir_ / "no_config";
  fs::create_directories(no_config);
  EXPECT_NE(test::error_of([&] { load_adapters(*source, no_config.string()); }).find("adapter_config.json"),
            std::string::npos);

  const fs::path bad_json = dir_ / "bad_json";
  write_text(bad_json / "adapter_config.json", "{\"lora_parameters\": {\"rank\": 4,");
  EXPECT_NE(test::error_of([&] { load_adapters(*source, bad_json.string()); }).find("invalid JSON"), std::string::npos);

  const std::string mlx_config = R"({"fine_tune_type": "lora", "num_layers": 1,
      "lora_parameters": {"rank": 2, "scale": 1.0, "dropout": 0.0}})";
  auto adapter = [](Shape a, Shape b) {
    return std::map<std::string, Tensor>{{"lora_a", Tensor::zeros(DType::F32, a)}, {"lora_b", Tensor::zeros(DType::F32, b)}};
  };
  auto write_adapter = [&](const std::string& name, const std::string& module, Shape a, Shape b) {
    const fs::path d = dir_ / name;
    write_text(d / "adapter_config.json", mlx_config);
    std::map<std::string, Tensor> tensors;
    for (auto& [part, t] : adapter(a, b)) tensors.emplace(module + "." + part, t);
    write_safetensors((d / "adapters.safetensors").string(), tensors);
    return d;
  };
  const fs::path unknown = write_adapter("unknown", "model.layers.9.self_attn.q_proj", {128, 2}, {2, 128});
  const std::string e1 = test::error_of([&] { load_adapters(*source, unknown.string()); });
  EXPECT_NE(e1.find("adapters.safetensors"), std::string::npos) << e1;
  EXPECT_NE(e1.find("model.layers.9.self_attn.q_proj"), std::string::npos) << e1;

  const fs::path shape = write_adapter("shape", "model.layers.1.self_attn.v_proj", {128, 2}, {2, 128});
  const std::string e2 = test::error_of([&] { load_adapters(*source, shape.string()); });
  EXPECT_NE(e2.find("[2, 128]"), std::string::npos) << e2;  // v_proj has 64 outputs
  EXPECT_NE(e2.find("adapters.safetensors"), std::string::npos) << e2;
}

}  // namespace
}  // namespace orchard
