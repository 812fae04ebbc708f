// MLX-quantized Hugging Face folders (as mlx_lm.convert -q writes them) run in orchard: a tiny
// llama and qwen3 (tied embeddings, so the quantized embedding is also the output projection)
// are written quantized, dequantized independently by tools/reference/mlx_ref.py, and the
// PyTorch reference (tools/reference/llama_ref.py) on those float weights must give orchard's
// logits. Where the ISA has no MLX tile the matmul decodes the weights to f32 and the logits
// must match to float rounding (1e-4); with a tile, activations are quantized to q8_0 first
// (as for every integer kernel), which on these random tiny models costs up to ~2e-2.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "core/backend.h"
#include "io/model_source.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/kernels.h"
#include "models/kv_cache.h"
#include "models/model.h"
#include "models/testmodel.h"
#include "support/paths.h"

namespace orchard {
namespace {

namespace fs = std::filesystem;

// max |orchard - reference| / max |reference| over a position's logits.
double tolerance(DType type) {
  return cpu::kernels_for(cpu::selected_isa()).tile(type) ? 4e-2 : 1e-4;
}

std::vector<int32_t> prompt(int n, int64_t n_vocab) {
  std::vector<int32_t> ids;
  uint32_t x = 4242u;
  for (int i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    ids.push_back(static_cast<int32_t>((x >> 8) % n_vocab));
  }
  return ids;
}

struct Case {
  std::string architecture;
  DType type;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.architecture << "_" << dtype_name(c.type); }

class ModelsMlx : public ::testing::TestWithParam<Case> {};

TEST_P(ModelsMlx, QuantizedFolderMatchesPyTorchOnTheDequantizedWeights) {
  ORCHARD_REQUIRE_SHARED();
  const std::string python = test::reference_python("torch, numpy");
  if (python.empty()) GTEST_SKIP() << "python3 with torch and numpy not found";
  const Case& c = GetParam();
  const TestModelSpec spec = test_model_preset("tiny", c.architecture);
  const TestVocab vocab = vocab_from_gguf((test::shared_dir() / "data/tokenizer-tests/ggml-vocab-llama-spm.gguf").string());
  const fs::path dir = test::temp_dir("models_mlx_" + c.architecture + "_" + std::string(dtype_name(c.type)));
  write_test_hf(spec, vocab, c.type, 5, (dir / "mlx").string());

  const std::string tools = (test::source_dir() / "tools/reference").string();
  const std::string dequantize = python + " " + tools + "/mlx_ref.py dequantize-folder " + (dir / "mlx").string() + " " +
                                 (dir / "f32").string();
  ASSERT_EQ(test::run_command(dequantize).status, 0) << dequantize;
  const int64_t n_vocab = vocab.size();
  const std::vector<int32_t> tokens = prompt(12, n_vocab);
  std::string ids;
  for (int32_t t : tokens) ids += (ids.empty() ? "" : ",") + std::to_string(t);
  const fs::path out = dir / "reference_logits.bin";
  const std::string reference = python + " " + tools + "/llama_ref.py " + (dir / "f32").string() + " --tokens " + ids +
                                " --out " + out.string();
  ASSERT_EQ(test::run_command(reference).status, 0) << reference;
  std::vector<float> want(tokens.size() * n_vocab);
  std::ifstream(out, std::ios::binary).read(reinterpret_cast<char*>(want.data()), want.size() * sizeof(float));

  auto source = std::make_shared<const ModelSource>(open_model((dir / "mlx").string()));
  EXPECT_EQ(source->tensors.at("token_embd.weight").dtype(), c.type);
  EXPECT_EQ(source->tensors.at("blk.0.attn_q.weight").dtype(), c.type);
  auto model = load_model(source, make_cpu_backend(2));
  KvCache cache(model->config(), 64, 1, DType::F32);  // f32: the 1e-4 bound (decoded weights) is not about cache rounding
  Batch batch;
  for (size_t i = 0; i < tokens.size(); ++i) batch.add(tokens[i], static_cast<int32_t>(i), 0, true);
  std::vector<float> got;
  model->forward(batch, cache, got);
  ASSERT_EQ(got.size(), want.size());
  for (size_t p = 0; p < tokens.size(); ++p) {
    double diff = 0, scale = 0;
    for (int64_t v = 0; v < n_vocab; ++v) {
      diff = std::max(diff, std::abs(double(got[p * n_vocab + v]) - want[p * n_vocab + v]));
      scale = std::max(scale, std::abs(double(want[p * n_vocab + v])));
    }
    EXPECT_LE(diff / scale, tolerance(c.type)) << "position " << p;
  }
}

INSTANTIATE_TEST_SUITE_P(Tiny, ModelsMlx,
                         ::testing::Values(Case{"llama", DType::MLX_Q4_G64}, Case{"llama", DType::MLX_Q8_G32},
                                           Case{"qwen3", DType::MLX_Q4_G128}, Case{"qwen3", DType::MLX_Q8_G64}),
                         [](const auto& info) {
                           return info.param.architecture + "_" + std::string(dtype_name(info.param.type));
                         });

}  // namespace
}  // namespace orchard
