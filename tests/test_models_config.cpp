// Hyperparameters from metadata and the checks that turn a malformed model into an error
// naming the file and the tensor or key, instead of a crash or silent garbage.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "models/config.h"
#include "models/kv_cache.h"
#include "models/model.h"

namespace orchard {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

// An in-memory model source: GGUF metadata for a small model with zero weights of the right shapes.
struct Fixture {
  ModelSource source;
  Fixture(const std::string& arch, bool qkv_bias = false, bool qk_norm = false) {
    source.path = "broken.gguf";
    source.architecture = arch;
    Metadata& md = source.metadata;
    const std::string a = arch + ".";
    md.set("general.architecture", MetaValue::string(arch));
    md.set(a + "embedding_length", MetaValue::u32(64));
    md.set(a + "block_count", MetaValue::u32(2));
    md.set(a + "feed_forward_length", MetaValue::u32(96));
    md.set(a + "attention.head_count", MetaValue::u32(4));
    md.set(a + "attention.head_count_kv", MetaValue::u32(2));
    md.set(a + "attention.layer_norm_rms_epsilon", MetaValue::f32(1e-6f));
    md.set(a + "rope.freq_base", MetaValue::f32(10000.0f));
    md.set(a + "context_length", MetaValue::u32(256));
    ModelConfig c;
    c.n_vocab = 50, c.n_embd = 64, c.n_layer = 2, c.n_ff = 96, c.n_head = 4, c.n_head_kv = 2, c.head_dim = 16;
    c.qkv_bias = qkv_bias, c.qk_norm = qk_norm;
    for (const TensorSpec& t : decoder_tensors(c)) source.tensors[t.name] = Tensor::zeros(DType::F32, t.shape);
  }
  std::unique_ptr<Model> load() {
    return load_model(std::make_shared<const ModelSource>(source), make_cpu_backend(1));
  }
};

std::string load_error(Fixture& f) {
  try {
    f.load();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ModelsConfig, ReadsHyperparametersAndDefaults) {
  Fixture f("llama");
  const ModelConfig c = read_config(f.source);
  EXPECT_EQ(c.n_vocab, 50);  // rows of token_embd.weight
  EXPECT_EQ(c.n_embd, 64);
  EXPECT_EQ(c.n_layer, 2);
  EXPECT_EQ(c.n_head_kv, 2);
  EXPECT_EQ(c.head_dim, 16);  // embedding_length / head_count without attention.key_length
  EXPECT_FLOAT_EQ(c.rms_eps, 1e-6f);
  EXPECT_EQ(c.rope_scaling, RopeScaling::None);
  EXPECT_FALSE(c.tied_embeddings);
  EXPECT_NO_THROW(f.load());
}

TEST(ModelsConfig, TiedEmbeddingsWhenOutputIsAbsent) {
  Fixture f("qwen3", false, true);
  f.source.tensors.erase("output.weight");
  EXPECT_TRUE(read_config(f.source).tied_embeddings);
  auto model = f.load();
  EXPECT_EQ(model->parameter_count(), 50 * 64 + 64 + 2 * (64 * 64 + 2 * 32 * 64 + 64 * 64 + 64 + 3 * 64 * 96 + 64 + 2 * 16));
}

TEST(ModelsConfig, WrongShapeNamesFileTensorAndShapes) {
  Fixture f("llama");
  f.source.tensors["blk.1.attn_k.weight"] = Tensor::zeros(DType::F32, {64, 64});
  EXPECT_THAT(load_error(f), AllOf(HasSubstr("broken.gguf"), HasSubstr("blk.1.attn_k.weight"), HasSubstr("[64, 64]"),
                                   HasSubstr("[32, 64]")));
}

TEST(ModelsConfig, MissingTensorNamesFileAndTensor) {
  Fixture f("llama");
  f.source.tensors.erase("blk.0.ffn_up.weight");
  EXPECT_THAT(load_error(f), AllOf(HasSubstr("broken.gguf"), HasSubstr("missing tensor 'blk.0.ffn_up.weight'")));
}

TEST(ModelsConfig, FamilyTensorsAreRequired) {
  Fixture qwen2("qwen2");  // made without biases
  EXPECT_THAT(load_error(qwen2), AllOf(HasSubstr("broken.gguf"), HasSubstr("blk.0.attn_q.bias")));
  Fixture qwen3("qwen3");  // made without q/k norms
  EXPECT_THAT(load_error(qwen3), AllOf(HasSubstr("broken.gguf"), HasSubstr("blk.0.attn_q_norm.weight")));
  Fixture ok("qwen2", true);
  EXPECT_NO_THROW(ok.load());
}

TEST(ModelsConfig, UnusedTensorsAreErrors) {
  Fixture layer("llama");
  layer.source.tensors["blk.2.attn_q.weight"] = Tensor::zeros(DType::F32, {64, 64});
  EXPECT_THAT(load_error(layer), AllOf(HasSubstr("broken.gguf"), HasSubstr("blk.2.attn_q.weight"), HasSubstr("block_count 2")));
  Fixture norm("qwen2", true);  // qwen2 has no q/k norm
  norm.source.tensors["blk.0.attn_q_norm.weight"] = Tensor::zeros(DType::F32, {16});
  EXPECT_THAT(load_error(norm), AllOf(HasSubstr("broken.gguf"), HasSubstr("unexpected tensor 'blk.0.attn_q_norm.weight'")));
}

TEST(ModelsConfig, LlamaBiasIsOptionalButComplete) {
  Fixture f("llama", true);
  EXPECT_NO_THROW(f.load());
  f.source.tensors.erase("blk.1.attn_v.bias");
  EXPECT_THAT(load_error(f), AllOf(HasSubstr("broken.gguf"), HasSubstr("missing tensor 'blk.1.attn_v.bias'")));
}

TEST(ModelsConfig, RopeFreqsMustHaveOneDivisorPerPair) {
  Fixture f("llama");
  f.source.tensors["rope_freqs.weight"] = Tensor::zeros(DType::F32, {16});
  EXPECT_THAT(load_error(f), AllOf(HasSubstr("broken.gguf"), HasSubstr("rope_freqs.weight"), HasSubstr("[8]")));
}

TEST(ModelsConfig, MetadataErrorsNameFileAndKey) {
  Fixture missing("llama");
  missing.source.metadata = Metadata{};
  missing.source.metadata.set("llama.embedding_length", MetaValue::u32(64));
  EXPECT_THAT(load_error(missing), AllOf(HasSubstr("broken.gguf"), HasSubstr("llama.block_count")));

  Fixture heads("llama");
  heads.source.metadata.set("llama.attention.head_count_kv", MetaValue::u32(3));
  EXPECT_THAT(load_error(heads), AllOf(HasSubstr("broken.gguf"), HasSubstr("llama.attention.head_count_kv")));

  Fixture mistyped("llama");
  mistyped.source.metadata.set("llama.block_count", MetaValue::string("two"));
  EXPECT_THAT(load_error(mistyped), AllOf(HasSubstr("broken.gguf"), HasSubstr("llama.block_count")));

  Fixture scaling("llama");
  scaling.source.metadata.set("llama.rope.scaling.type", MetaValue::string("yarn"));
  EXPECT_THAT(load_error(scaling), AllOf(HasSubstr("broken.gguf"), HasSubstr("llama.rope.scaling.type"), HasSubstr("yarn")));

  Fixture vocab("llama");
  vocab.source.metadata.set("llama.vocab_size", MetaValue::u32(51));
  EXPECT_THAT(load_error(vocab), AllOf(HasSubstr("broken.gguf"), HasSubstr("llama.vocab_size"), HasSubstr("50")));
}

TEST(ModelsConfig, UnknownArchitectureListsSupportedOnes) {
  Fixture f("gpt-neox");
  EXPECT_THAT(load_error(f), AllOf(HasSubstr("broken.gguf"), HasSubstr("'gpt-neox'"), HasSubstr("llama, qwen2, qwen3")));
}

TEST(ModelsConfig, BadBatchesAreErrorsNotCrashes) {
  Fixture f("llama");
  auto model = f.load();
  KvCache cache(model->config(), 8);
  std::vector<float> logits;
  auto error_of = [&](int32_t token, int32_t pos, int32_t seq) -> std::string {
    Batch batch;
    batch.add(token, pos, seq, true);
    try {
      model->forward(batch, cache, logits);
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  EXPECT_THAT(error_of(50, 0, 0), HasSubstr("outside the vocabulary of 50"));
  EXPECT_THAT(error_of(1, 8, 0), HasSubstr("outside the context of 8"));
  EXPECT_THAT(error_of(1, 0, 1), HasSubstr("not a KV cache slot"));
  EXPECT_THAT(error_of(1, 2, 0), HasSubstr("skips ahead"));
  EXPECT_EQ(error_of(1, 0, 0), "(no error)");
  EXPECT_EQ(cache.length(0), 1);
  EXPECT_EQ(logits.size(), 50u);

  KvCache other(ModelConfig{.n_layer = 2, .n_head_kv = 1, .head_dim = 16}, 8);
  Batch batch;
  batch.add(1, 0, 0, true);
  EXPECT_THROW(model->forward(batch, other, logits), Error);
}

}  // namespace
}  // namespace orchard
