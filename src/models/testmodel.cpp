// Test-model presets, vocab handling and seeded weights (see testmodel.h); the two file
// layouts are written by testmodel_gguf.cpp and testmodel_hf.cpp.
#include "models/testmodel.h"

#include <cmath>
#include <numbers>

#include "core/error.h"
#include "core/threadpool.h"
#include "io/gguf.h"
#include "quant/quant.h"

namespace orchard {

namespace {

ModelConfig base_config(const std::string& architecture) {
  if (architecture != "llama" && architecture != "qwen2" && architecture != "qwen3")
    throw Error("test models: unknown architecture '" + architecture + "' (supported: llama, qwen2, qwen3)");
  ModelConfig c;
  c.architecture = architecture;
  c.qkv_bias = architecture == "qwen2";
  c.qk_norm = architecture == "qwen3";
  return c;
}

}  // namespace

TestModelSpec test_model_preset(const std::string& preset, const std::string& architecture) {
  const std::string own_arch = preset == "qwen3-0.6b" ? "qwen3" : "llama";
  if (preset != "tiny" && !architecture.empty() && architecture != own_arch)
    throw Error("test models: preset '" + preset + "' is a " + own_arch + " model, not " + architecture +
                " (only 'tiny' exists for every architecture)");
  ModelConfig c = base_config(architecture.empty() ? own_arch : architecture);
  if (preset == "tiny") {
    // Small enough for unit tests, but with GQA, several layers and a realistic head size.
    c.n_embd = 128, c.n_layer = 3, c.n_head = 4, c.n_head_kv = 2, c.n_ff = 320, c.context_length = 1024;
    c.head_dim = c.qk_norm ? 64 : 32;  // qwen3's head size is independent of embd / heads
    c.tied_embeddings = c.qk_norm;
    c.rms_eps = c.architecture == "llama" ? 1e-5f : 1e-6f;
  } else if (preset == "tinyllama-1.1b") {
    c.n_vocab = 32000, c.n_embd = 2048, c.n_layer = 22, c.n_head = 32, c.n_head_kv = 4, c.head_dim = 64;
    c.n_ff = 5632, c.context_length = 2048, c.rms_eps = 1e-5f, c.rope_theta = 10000.0f;
  } else if (preset == "llama-3.2-1b") {
    c.n_vocab = 128256, c.n_embd = 2048, c.n_layer = 16, c.n_head = 32, c.n_head_kv = 8, c.head_dim = 64;
    c.n_ff = 8192, c.context_length = 131072, c.rms_eps = 1e-5f, c.rope_theta = 500000.0f;
    c.rope_scaling = RopeScaling::Llama3, c.rope_factor = 32.0f, c.rope_low_freq_factor = 1.0f;
    c.rope_high_freq_factor = 4.0f, c.rope_original_context = 8192, c.tied_embeddings = true;
  } else if (preset == "qwen3-0.6b") {
    c.n_vocab = 151936, c.n_embd = 1024, c.n_layer = 28, c.n_head = 16, c.n_head_kv = 8, c.head_dim = 128;
    c.n_ff = 3072, c.context_length = 40960, c.rms_eps = 1e-6f, c.rope_theta = 1000000.0f, c.tied_embeddings = true;
  } else {
    throw Error("test models: unknown preset '" + preset + "' (presets: tiny, tinyllama-1.1b, llama-3.2-1b, qwen3-0.6b)");
  }
  return {preset, c};
}

int64_t TestVocab::size() const {
  const auto* tokens = tokenizer.get_strings("tokenizer.ggml.tokens");
  return tokens ? static_cast<int64_t>(tokens->size()) : 0;
}

TestVocab vocab_from_gguf(const std::string& path) {
  auto file = GgufFile::open(path);
  TestVocab vocab;
  vocab.source = path;
  for (const auto& [key, value] : file->metadata().all())
    if (key.starts_with("tokenizer.")) vocab.tokenizer.set(key, value);
  if (vocab.size() == 0) throw file_error(path, "has no tokenizer.ggml.tokens: not a vocab file");
  return vocab;
}

ModelConfig resolve_test_config(const TestModelSpec& spec, const TestVocab& vocab) {
  ModelConfig c = spec.config;
  if (vocab.size() == 0) throw Error(vocab.source + ": the vocab has no tokens");
  if (c.n_vocab == 0) c.n_vocab = vocab.size();
  if (vocab.size() > c.n_vocab)
    throw Error(vocab.source + ": has " + std::to_string(vocab.size()) + " tokens but preset '" + spec.name +
                "' has an embedding of " + std::to_string(c.n_vocab) + " rows; use the vocab of the model it imitates");
  return c;
}

Metadata test_tokenizer_metadata(const TestVocab& vocab, int64_t n_vocab) {
  Metadata md = vocab.tokenizer;
  const int64_t n = vocab.size();
  if (n == n_vocab) return md;
  // Real checkpoints round the embedding up (Qwen3: 151669 tokens, 151936 rows); HF converters
  // fill the gap with unused "[PADn]" entries so the token list matches the embedding.
  constexpr int64_t kUnusedTokenType = 5;
  MetaValue tokens = *md.find("tokenizer.ggml.tokens");
  for (int64_t i = n; i < n_vocab; ++i) tokens.strings.push_back("[PAD" + std::to_string(i) + "]");
  md.set("tokenizer.ggml.tokens", std::move(tokens));
  if (const MetaValue* types = md.find("tokenizer.ggml.token_type")) {
    MetaValue padded = *types;
    padded.ints.resize(n_vocab, kUnusedTokenType);
    md.set("tokenizer.ggml.token_type", std::move(padded));
  }
  if (const MetaValue* scores = md.find("tokenizer.ggml.scores")) {
    MetaValue padded = *scores;
    padded.floats.resize(n_vocab, -1000.0);
    md.set("tokenizer.ggml.scores", std::move(padded));
  }
  return md;
}

namespace {

// splitmix64: tiny, fast and fully specified, so a seed means the same weights on every
// platform and standard library (std::normal_distribution is implementation-defined).
uint64_t next_u64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t hash_name(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
  for (unsigned char ch : s) h = (h ^ ch) * 0x100000001b3ull;
  return h;
}

// Standard normals for logical row `row` of a tensor: each row has its own stream, so any row
// can be produced on its own (permuted layouts, parallel generation).
void normal_row(uint64_t seed, const std::string& name, int64_t row, float* out, int64_t n) {
  uint64_t state = hash_name(name) ^ (seed * 0xd1b54a32d192ed03ull);
  state ^= static_cast<uint64_t>(row) * 0xaef17502108ef2d9ull;
  next_u64(state);
  auto uniform = [&] { return (static_cast<double>(next_u64(state) >> 11) + 0.5) * 0x1.0p-53; };  // (0, 1)
  for (int64_t i = 0; i < n; i += 2) {  // Box-Muller: two normals per pair of uniforms
    const double r = std::sqrt(-2.0 * std::log(uniform())), theta = 2.0 * std::numbers::pi * uniform();
    out[i] = static_cast<float>(r * std::cos(theta));
    if (i + 1 < n) out[i + 1] = static_cast<float>(r * std::sin(theta));
  }
}

}  // namespace

Tensor test_weight(const TensorSpec& spec, DType dtype, uint64_t seed, const std::vector<int64_t>* row_order) {
  Tensor t = Tensor::zeros(dtype, spec.shape);
  const int64_t cols = t.cols();
  if (cols % dtype_info(dtype).block_size != 0)
    throw Error("test models: tensor '" + spec.name + "' has rows of " + std::to_string(cols) + " values, not whole " +
                std::string(dtype_name(dtype)) + " blocks of " + std::to_string(dtype_info(dtype).block_size));
  const double scale = spec.role == TensorSpec::Role::Matrix ? 1.0 / std::sqrt(static_cast<double>(cols)) : 0.1;
  const double offset = spec.role == TensorSpec::Role::Norm ? 1.0 : 0.0;
  const bool vector = t.ndim() == 1;  // its "rows" are single elements: permute within the one row
  auto* bytes = static_cast<uint8_t*>(t.data());
  // Rows are independent streams, so the threads' split cannot change the values.
  ThreadPool pool;
  pool.parallel_for(t.rows(), [&](int64_t begin, int64_t end, int) {
    std::vector<float> row(cols), logical(vector && row_order ? cols : 0);
    for (int64_t r = begin; r < end; ++r) {
      if (!logical.empty()) {
        normal_row(seed, spec.name, 0, logical.data(), cols);
        for (int64_t i = 0; i < cols; ++i) row[i] = logical[(*row_order)[i]];
      } else {
        normal_row(seed, spec.name, row_order ? (*row_order)[r] : r, row.data(), cols);
      }
      for (float& v : row) v = static_cast<float>(offset + scale * v);
      quantize_row(dtype, row.data(), bytes + r * t.row_bytes(), cols);
    }
  });
  return t;
}

}  // namespace orchard
