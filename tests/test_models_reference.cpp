// orchard's forward pass against an independent PyTorch implementation
// (tools/reference/llama_ref.py) on tiny random models. Each model is written from one seed
// both as an HF folder (what the reference reads) and as a GGUF file (Q/K permuted, llama3
// rope as rope_freqs.weight), and both layouts must match the reference at every position:
// in one batch, token by token through the KV cache, and with two sequences interleaved.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>

#include "core/backend.h"
#include "io/model_source.h"
#include "models/kv_cache.h"
#include "models/model.h"
#include "models/testmodel.h"
#include "support/compare.h"
#include "support/paths.h"

namespace orchard {
namespace {

namespace fs = std::filesystem;
using Logits = std::vector<std::vector<float>>;  // one row per position

constexpr double kTolerance = 1e-4;  // max |orchard - reference| / max |reference| per position

std::vector<int32_t> prompt(int n, int64_t n_vocab, uint32_t salt) {
  std::vector<int32_t> ids;
  uint32_t x = 12345u + salt;
  for (int i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    ids.push_back(static_cast<int32_t>((x >> 8) % n_vocab));
  }
  return ids;
}

std::string join(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += (s.empty() ? "" : ",") + std::to_string(id);
  return s;
}

// Reference logits of each sequence, each on its own from position 0.
std::vector<Logits> reference_logits(const std::string& python, const fs::path& hf_dir,
                                     const std::vector<std::vector<int32_t>>& seqs, int64_t n_vocab) {
  const fs::path out = hf_dir / "reference_logits.bin";
  std::string cmd = python + " " + (test::source_dir() / "tools/reference/llama_ref.py").string() + " " + hf_dir.string();
  for (const auto& s : seqs) cmd += " --tokens " + join(s);
  cmd += " --out " + out.string();
  EXPECT_EQ(test::run_command(cmd).status, 0) << cmd;
  std::ifstream in(out, std::ios::binary);
  std::vector<Logits> result;
  for (const auto& s : seqs) {
    Logits rows(s.size(), std::vector<float>(n_vocab));
    for (auto& row : rows) in.read(reinterpret_cast<char*>(row.data()), n_vocab * sizeof(float));
    result.push_back(std::move(rows));
  }
  EXPECT_TRUE(in.good()) << "short reference output " << out;
  return result;
}

void expect_close(const std::vector<float>& flat, size_t row, const std::vector<float>& want, const std::string& what) {
  const std::vector<float> got(flat.begin() + row * want.size(), flat.begin() + (row + 1) * want.size());
  EXPECT_LE(test::relative_error(got, want), kTolerance) << what;
}

struct Case {
  std::string name;
  std::string architecture;
  std::function<void(ModelConfig&)> adjust;  // on top of the "tiny" preset
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }  // test names, not bytes


class ModelsReference : public ::testing::TestWithParam<Case> {};

TEST_P(ModelsReference, MatchesPyTorchInEveryLayoutAndBatching) {
  ORCHARD_REQUIRE_SHARED();
  const std::string python = test::reference_python("torch, numpy");
  if (python.empty()) GTEST_SKIP() << "python3 with torch and numpy not found (Debian: python3-torch)";
  const Case& c = GetParam();

  TestModelSpec spec = test_model_preset("tiny", c.architecture);
  c.adjust(spec.config);
  const TestVocab vocab = vocab_from_gguf((test::shared_dir() / "data/tokenizer-tests/ggml-vocab-llama-spm.gguf").string());
  const fs::path dir = test::temp_dir("models_reference_" + c.name);
  write_test_hf(spec, vocab, DType::F32, 7, (dir / "hf").string());
  write_test_gguf(spec, vocab, DType::F32, 7, (dir / "model.gguf").string());

  const int64_t n_vocab = vocab.size();
  const std::vector<int32_t> a = prompt(16, n_vocab, 1), b = prompt(9, n_vocab, 2);
  const std::vector<Logits> ref = reference_logits(python, dir / "hf", {a, b}, n_vocab);
  ASSERT_EQ(ref.size(), 2u);

  std::shared_ptr<Backend> backend = make_cpu_backend(2);
  for (const fs::path path : {dir / "hf", dir / "model.gguf"}) {
    SCOPED_TRACE(path.string());
    auto source = std::make_shared<const ModelSource>(open_model(path.string()));
    auto model = load_model(source, backend);
    ASSERT_EQ(model->config().n_vocab, n_vocab);
    std::vector<float> logits;

    {  // the whole prompt in one batch
      KvCache cache(model->config(), 64, 1, DType::F32);  // f32: the 1e-4 comparison with PyTorch is not about cache rounding
      Batch batch;
      for (size_t i = 0; i < a.size(); ++i) batch.add(a[i], static_cast<int32_t>(i), 0, true);
      model->forward(batch, cache, logits);
      for (size_t i = 0; i < a.size(); ++i) expect_close(logits, i, ref[0][i], "batched, position " + std::to_string(i));
    }
    {  // one token per call, reading earlier positions from the cache
      KvCache cache(model->config(), 64, 1, DType::F32);  // f32: the 1e-4 comparison with PyTorch is not about cache rounding
      for (size_t i = 0; i < a.size(); ++i) {
        Batch batch;
        batch.add(a[i], static_cast<int32_t>(i), 0, true);
        model->forward(batch, cache, logits);
        expect_close(logits, 0, ref[0][i], "token by token, position " + std::to_string(i));
      }
    }
    {  // two sequences interleaved in two chunks; only some tokens want logits
      KvCache cache(model->config(), 64, 2, DType::F32);
      struct Item { int seq; size_t pos; };
      std::vector<Item> order;
      for (size_t i = 0; i < a.size(); ++i) {
        order.push_back({0, i});
        if (i < b.size()) order.push_back({1, i});
      }
      const size_t split = order.size() / 2;
      for (auto [begin, end] : {std::pair{size_t{0}, split}, std::pair{split, order.size()}}) {
        Batch batch;
        for (size_t j = begin; j < end; ++j) {
          const auto& seq = order[j].seq == 0 ? a : b;
          batch.add(seq[order[j].pos], static_cast<int32_t>(order[j].pos), order[j].seq, j % 3 != 1);
        }
        model->forward(batch, cache, logits);
        size_t row = 0;
        for (size_t j = begin; j < end; ++j) {
          if (j % 3 == 1) continue;
          expect_close(logits, row++, ref[order[j].seq][order[j].pos],
                       "interleaved, sequence " + std::to_string(order[j].seq) + " position " + std::to_string(order[j].pos));
        }
        EXPECT_EQ(logits.size(), row * n_vocab);
      }
      EXPECT_EQ(cache.length(0), static_cast<int64_t>(a.size()));
      EXPECT_EQ(cache.length(1), static_cast<int64_t>(b.size()));
    }
  }
}

void llama3_rope(ModelConfig& c) {
  // A short original context so that, at these positions, every branch of the llama3 rule
  // (kept, blended and fully scaled frequencies) changes the logits.
  c.rope_scaling = RopeScaling::Llama3;
  c.rope_factor = 8.0f, c.rope_low_freq_factor = 1.0f, c.rope_high_freq_factor = 4.0f, c.rope_original_context = 32;
}

INSTANTIATE_TEST_SUITE_P(
    Families, ModelsReference,
    ::testing::Values(Case{"llama_gqa_untied", "llama", [](ModelConfig&) {}},
                      Case{"llama3_rope_mqa_tied", "llama",
                           [](ModelConfig& c) {
                             llama3_rope(c);
                             c.n_head_kv = 1, c.tied_embeddings = true;
                           }},
                      Case{"llama_linear_rope_mqa", "llama",
                           [](ModelConfig& c) {
                             c.rope_scaling = RopeScaling::Linear, c.rope_factor = 4.0f;
                             c.n_head_kv = 1;
                           }},
                      Case{"llama_qkv_bias", "llama", [](ModelConfig& c) { c.qkv_bias = true; }},
                      Case{"qwen2_gqa_untied", "qwen2", [](ModelConfig&) {}},
                      Case{"qwen2_mqa_tied", "qwen2", [](ModelConfig& c) { c.n_head_kv = 1, c.tied_embeddings = true; }},
                      Case{"qwen3_gqa_tied", "qwen3", [](ModelConfig&) {}},
                      Case{"qwen3_mqa_untied", "qwen3", [](ModelConfig& c) { c.n_head_kv = 1, c.tied_embeddings = false; }}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace orchard
