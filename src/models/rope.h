#pragma once
// Rotary embedding frequencies: inv_freq[i] = base^(-2i/d), adjusted for the model's context
// scaling, so the backend kernel only has to rotate.
#include <cstdint>
#include <vector>

#include "models/model.h"

namespace orchard {

// Linear scaling divides every frequency by the factor. Llama 3 scaling (HF's
// _compute_llama3_parameters) keeps high frequencies, divides low ones by the factor and blends
// in between. `rope_freqs` (GGUF llama3.1 files: llama.cpp's converter stores the llama3
// correction as per-dimension divisors in rope_freqs.weight) takes precedence when given.
std::vector<float> rope_inv_freq(const ModelConfig& config, const std::vector<float>* rope_freqs = nullptr);

// The divisors llama.cpp's converter writes to rope_freqs.weight for Llama 3 scaling.
std::vector<float> llama3_rope_divisors(const ModelConfig& config);

// llama.cpp's converter permutes llama's Q/K rows (and biases) so each head's rotary pairs are
// adjacent (interleaved rope): stored row h*d + 2i + j holds Hugging Face row h*d + j*d/2 + i.
// Element r of the result is the HF row of stored row r.
std::vector<int64_t> interleave_rope_rows(int64_t n_heads, int64_t head_dim);

}  // namespace orchard
