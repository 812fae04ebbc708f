// The test-model generator: presets, vocab pairing, determinism, and the promise that one seed
// gives the same logical weights in the GGUF and the Hugging Face layout.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "io/gguf.h"
#include "io/model_source.h"
#include "models/testmodel.h"
#include "quant/quant.h"
#include "support/paths.h"

namespace orchard {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

TestVocab spm_vocab() {
  return vocab_from_gguf((test::shared_dir() / "data/tokenizer-tests/ggml-vocab-llama-spm.gguf").string());
}

std::string file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<float> values(const Tensor& t) {
  std::vector<float> out(t.numel());
  dequantize_row(t.dtype(), t.data(), out.data(), t.numel());
  return out;
}

TEST(ModelsTestModel, PresetsHaveTheRealModelsShapes) {
  const ModelConfig tl = test_model_preset("tinyllama-1.1b").config;
  EXPECT_EQ(tl.architecture, "llama");
  EXPECT_EQ(tl.n_layer, 22);
  EXPECT_EQ(tl.n_head_kv, 4);
  EXPECT_EQ(tl.n_ff, 5632);
  const ModelConfig l32 = test_model_preset("llama-3.2-1b").config;
  EXPECT_EQ(l32.rope_scaling, RopeScaling::Llama3);
  EXPECT_FLOAT_EQ(l32.rope_factor, 32.0f);
  EXPECT_TRUE(l32.tied_embeddings);
  const ModelConfig q3 = test_model_preset("qwen3-0.6b").config;
  EXPECT_EQ(q3.head_dim, 128);
  EXPECT_TRUE(q3.qk_norm);
  EXPECT_EQ(q3.n_vocab, 151936);
  EXPECT_TRUE(test_model_preset("tiny", "qwen2").config.qkv_bias);

  EXPECT_THROW(test_model_preset("gpt-5"), Error);
  EXPECT_THROW(test_model_preset("tiny", "gemma"), Error);
  try {
    test_model_preset("qwen3-0.6b", "llama");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("qwen3"));
  }
}

TEST(ModelsTestModel, VocabSizeAndPadding) {
  ORCHARD_REQUIRE_SHARED();
  const TestVocab vocab = spm_vocab();
  ASSERT_EQ(vocab.size(), 32000);
  EXPECT_EQ(resolve_test_config(test_model_preset("tiny"), vocab).n_vocab, 32000);  // the vocab's own size
  EXPECT_EQ(resolve_test_config(test_model_preset("tinyllama-1.1b"), vocab).n_vocab, 32000);
  try {  // more tokens than embedding rows cannot be represented
    TestModelSpec small = test_model_preset("tiny");
    small.config.n_vocab = 1000;
    resolve_test_config(small, vocab);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("32000 tokens"));
  }

  const Metadata padded = test_tokenizer_metadata(vocab, 32010);
  const auto* tokens = padded.get_strings("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens->size(), 32010u);
  EXPECT_EQ((*tokens)[32005], "[PAD32005]");
  EXPECT_EQ(padded.get_ints("tokenizer.ggml.token_type")->size(), 32010u);
  EXPECT_EQ(padded.get_floats("tokenizer.ggml.scores")->size(), 32010u);
}

TEST(ModelsTestModel, SameSeedSameFileOtherSeedOtherWeights) {
  ORCHARD_REQUIRE_SHARED();
  const fs::path dir = test::temp_dir("models_testmodel_seed");
  const TestModelSpec spec = test_model_preset("tiny");
  write_test_gguf(spec, spm_vocab(), DType::Q8_0, 3, (dir / "a.gguf").string());
  write_test_gguf(spec, spm_vocab(), DType::Q8_0, 3, (dir / "b.gguf").string());
  write_test_gguf(spec, spm_vocab(), DType::Q8_0, 4, (dir / "c.gguf").string());
  EXPECT_EQ(file_bytes(dir / "a.gguf"), file_bytes(dir / "b.gguf"));
  EXPECT_NE(file_bytes(dir / "a.gguf"), file_bytes(dir / "c.gguf"));

  auto file = GgufFile::open((dir / "a.gguf").string());
  EXPECT_EQ(file->tensor("blk.0.attn_q.weight").dtype(), DType::Q8_0);
  EXPECT_EQ(file->tensor("blk.0.attn_norm.weight").dtype(), DType::F32);
  EXPECT_EQ(file->metadata().get_string("general.name"), "tiny");
  EXPECT_EQ(file->metadata().get_int("general.file_type"), 7);  // llama.cpp's MOSTLY_Q8_0
}

TEST(ModelsTestModel, GgufAndHfLayoutsHoldTheSameWeights) {
  ORCHARD_REQUIRE_SHARED();
  const fs::path dir = test::temp_dir("models_testmodel_layouts");
  TestModelSpec spec = test_model_preset("tiny");
  spec.config.rope_scaling = RopeScaling::Llama3, spec.config.rope_factor = 8.0f;
  write_test_gguf(spec, spm_vocab(), DType::F32, 5, (dir / "model.gguf").string());
  write_test_hf(spec, spm_vocab(), DType::F32, 5, (dir / "hf").string());
  const ModelSource gguf = open_model((dir / "model.gguf").string());
  const ModelSource hf = open_model((dir / "hf").string());

  for (const auto& [name, tensor] : hf.tensors) {
    SCOPED_TRACE(name);
    ASSERT_NE(gguf.find(name), nullptr);
    ASSERT_EQ(gguf.find(name)->shape(), tensor.shape());
    const std::vector<float> h = values(tensor), g = values(*gguf.find(name));
    if (!name.ends_with("attn_q.weight") && !name.ends_with("attn_k.weight")) {
      EXPECT_EQ(h, g);
      continue;
    }
    // convert_hf_to_gguf's permutation: GGUF row h*d + 2i + j is HF row h*d + j*d/2 + i.
    const int64_t d = spec.config.head_dim, cols = tensor.cols();
    for (int64_t row = 0; row < tensor.rows(); ++row) {
      const int64_t head = row / d, i = (row % d) / 2, j = row % 2;
      const int64_t hf_row = head * d + j * d / 2 + i;
      ASSERT_TRUE(std::equal(g.begin() + row * cols, g.begin() + (row + 1) * cols, h.begin() + hf_row * cols)) << row;
    }
  }
  EXPECT_NE(gguf.find("rope_freqs.weight"), nullptr);  // llama3 scaling travels as a tensor in GGUF
  EXPECT_EQ(hf.metadata.get_string("llama.rope.scaling.type"), "llama3");
}

TEST(ModelsTestModel, HfFolderRejectsQuantizedTypes) {
  ORCHARD_REQUIRE_SHARED();
  const fs::path dir = test::temp_dir("models_testmodel_hf_q8");
  try {
    write_test_hf(test_model_preset("tiny"), spm_vocab(), DType::Q8_0, 1, (dir / "hf").string());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("gguf"));
  }
  EXPECT_FALSE(fs::exists(dir / "hf" / "model.safetensors"));
}

}  // namespace
}  // namespace orchard
