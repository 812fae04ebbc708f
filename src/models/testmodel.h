#pragma once
// Test models: seeded random weights with the exact shapes of a real model (or a tiny one for
// tests), written as a GGUF file llama.cpp loads or as a Hugging Face folder. One seed gives
// the same logical weights in both layouts, so both can be checked against one reference.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "io/gguf_file_type.h"
#include "io/metadata.h"
#include "models/config.h"
#include "models/model.h"

namespace orchard {

struct TestModelSpec {
  std::string name;     // general.name / the preset name
  ModelConfig config;   // n_vocab 0: take the vocab's size; rope_style is implied by the layout
};

// Presets: "tiny" (any architecture; small but with GQA and head_dim 32), "tinyllama-1.1b",
// "llama-3.2-1b" (llama), "qwen3-0.6b" (qwen3). `architecture` empty = the preset's own.
// Throws orchard::Error listing the presets or naming the architecture mismatch.
TestModelSpec test_model_preset(const std::string& preset, const std::string& architecture = "");

// The tokenizer a test model carries: "tokenizer.*" GGUF metadata plus, when it came from a
// Hugging Face tokenizer.json, the files to copy into an HF folder.
struct TestVocab {
  std::string source;  // where it came from, for messages
  Metadata tokenizer;  // tokenizer.ggml.* (and tokenizer.chat_template) keys
  std::optional<std::string> tokenizer_json_path;
  std::optional<std::string> tokenizer_config_path;
  int64_t size() const;  // entries of tokenizer.ggml.tokens
};

// The tokenizer.* keys of a GGUF file (e.g. a vocab-only GGUF from llama.cpp's tests).
TestVocab vocab_from_gguf(const std::string& path);

// The model's final shape: the spec with n_vocab resolved against the vocab (a vocab smaller
// than the preset's embedding is padded with [PADn] tokens as HF converters do; larger is an error).
ModelConfig resolve_test_config(const TestModelSpec& spec, const TestVocab& vocab);

// One weight's seeded random values in `dtype`. With a permutation, stored row r is logical
// (HF layout) row row_order[r]; for a 1-D tensor (a bias) element r is logical element row_order[r]. Matrices ~ N(0, 1/in_features), norms ~ 1 + N(0, 0.01),
// biases ~ N(0, 0.01): activations keep unit scale through the layers, so generations vary.
Tensor test_weight(const TensorSpec& spec, DType dtype, uint64_t seed, const std::vector<int64_t>* row_order = nullptr);

// The vocab's tokenizer metadata padded to n_vocab entries.
Metadata test_tokenizer_metadata(const TestVocab& vocab, int64_t n_vocab);

// GGUF file: 2-D weights typed as llama-quantize would for `file_type` (one dtype such as f32,
// q8_0 or q4_k for every matrix, or the q4_k_m mixture; see io/gguf_file_type.h), norms f32;
// llama Q/K rows permuted as llama.cpp's converter does; llama3 rope scaling as rope_freqs.weight.
void write_test_gguf(const TestModelSpec& spec, const TestVocab& vocab, const GgufFileType& file_type, uint64_t seed,
                     const std::string& path);

// HF folder (created if needed): config.json, model.safetensors (f32, f16 or bf16),
// generation_config.json, and tokenizer.json / tokenizer_config.json when the vocab has them.
void write_test_hf(const TestModelSpec& spec, const TestVocab& vocab, DType dtype, uint64_t seed,
                   const std::string& dir);

}  // namespace orchard
