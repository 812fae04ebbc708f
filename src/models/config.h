#pragma once
// Reading a ModelConfig from GGUF-style metadata and checking the weights against it.
#include <string>
#include <vector>

#include "io/model_source.h"
#include "models/model.h"

namespace orchard {

// Hyperparameters from "{arch}.*" keys (an HF config.json arrives already translated into
// them). Family-specific choices (rope style, qkv bias, q/k norm) are left at their defaults
// for the family file to set. Throws orchard::Error naming the file and the key.
ModelConfig read_config(const ModelSource& source);

// One weight of the decoder as the config implies it.
struct TensorSpec {
  enum class Role { Matrix, Norm, Bias };  // Matrix: {out, in}; Norm and Bias: 1-D f32 at run time
  std::string name;                        // GGUF name
  Shape shape;
  Role role;
};

// Every weight the decoder reads, in file order (embedding, layers, final norm, lm head). The
// loader, the validator and the test-model generator all use this list, so they cannot drift.
std::vector<TensorSpec> decoder_tensors(const ModelConfig& config);

// Checks that every tensor of decoder_tensors() exists with its shape, that the optional
// rope_freqs.weight has one divisor per rotary pair, and that the file holds no other tensors;
// errors name the file and the tensor.
void validate_tensors(const ModelSource& source, const ModelConfig& config);

inline const std::string kRopeFreqsTensor = "rope_freqs.weight";  // llama3.1 per-dim factors (GGUF)
std::string layer_tensor(int64_t layer, const char* name);  // (3, "attn_q.weight") -> "blk.3.attn_q.weight"

}  // namespace orchard
