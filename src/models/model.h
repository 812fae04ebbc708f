#pragma once
// A loaded model: hyperparameters + weights + a forward pass over a batch of tokens that may
// come from several sequences at different positions (the server's continuous batching and
// chunked prefill both use this one entry point).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/backend.h"
#include "io/model_source.h"

namespace orchard {

class KvCache;

enum class RopeScaling { None, Linear, Llama3 };

// Hyperparameters shared by the Llama-like families, read from GGUF-style metadata
// (models/config.h); rope_style, qkv_bias and qk_norm are set by each family's file.
struct ModelConfig {
  std::string architecture;
  int64_t n_vocab = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;
  int64_t n_ff = 0;
  int64_t context_length = 0;
  float rms_eps = 1e-5f;
  float rope_theta = 10000.0f;
  RopeStyle rope_style = RopeStyle::Interleaved;  // follows the weight layout (see llama.cpp in this folder)
  RopeScaling rope_scaling = RopeScaling::None;
  float rope_factor = 1.0f;
  float rope_low_freq_factor = 1.0f;
  float rope_high_freq_factor = 4.0f;
  int64_t rope_original_context = 8192;
  bool tied_embeddings = false;  // no output.weight: the LM head is token_embd
  bool qkv_bias = false;
  bool qk_norm = false;
};

// One forward call: token i belongs to sequence seq[i] at position pos[i]. Logits are returned
// for tokens with want_logits[i] (in order), n_vocab floats each.
struct Batch {
  std::vector<int32_t> tokens;
  std::vector<int32_t> pos;
  std::vector<int32_t> seq;
  std::vector<uint8_t> want_logits;
  void add(int32_t token, int32_t position, int32_t sequence, bool logits) {
    tokens.push_back(token); pos.push_back(position); seq.push_back(sequence); want_logits.push_back(logits);
  }
  size_t size() const { return tokens.size(); }
  void clear() { tokens.clear(); pos.clear(); seq.clear(); want_logits.clear(); }
};

class Model {
 public:
  virtual ~Model() = default;
  const ModelConfig& config() const { return config_; }
  const ModelSource& source() const { return *source_; }
  Backend& backend() const { return *backend_; }
  // Writes K/V of every batch token into `cache`, fills `logits` (rows = count of want_logits).
  // A token's position may not skip ahead of its sequence (at most the cached length, counting
  // earlier tokens of the batch); a position below it rewrites the sequence from there. After
  // the call each sequence's cache length is its last batch token's position + 1. Bad ids,
  // positions or sequence slots throw orchard::Error. Buffers are reused across calls.
  virtual void forward(const Batch& batch, KvCache& cache, std::vector<float>& logits) = 0;
  int64_t parameter_count() const;  // elements of all weight tensors

 protected:
  Model(std::shared_ptr<const ModelSource> source, ModelConfig config, std::shared_ptr<Backend> backend)
      : source_(std::move(source)), config_(std::move(config)), backend_(std::move(backend)) {}
  std::shared_ptr<const ModelSource> source_;
  ModelConfig config_;
  std::shared_ptr<Backend> backend_;
};

// Architecture registry: each family file registers a builder under the architecture name
// found in the file (general.architecture / config.json model_type).
using ModelBuilder = std::function<std::unique_ptr<Model>(std::shared_ptr<const ModelSource>, std::shared_ptr<Backend>)>;
bool register_architecture(const std::string& name, ModelBuilder builder);
std::vector<std::string> registered_architectures();
// Throws orchard::Error naming the file and listing the supported architectures.
std::unique_ptr<Model> load_model(std::shared_ptr<const ModelSource> source, std::shared_ptr<Backend> backend);

}  // namespace orchard
