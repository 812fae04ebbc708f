#pragma once
// LoadOptions::quantize: converts float weights to a block-quantized type at load time, as
// llama-quantize would: every 2-D float matrix whose rows are whole blocks (including
// token_embd and output) becomes `target`; 1-D float tensors (norms, biases) become F32 as GGUF
// files store them; already-quantized and integer tensors are left alone.
#include <map>
#include <string>

#include "core/tensor.h"

namespace orchard {

// Throws orchard::Error when `target` is not a type orchard can encode.
void quantize_weights(std::map<std::string, Tensor>& tensors, DType target);

}  // namespace orchard
