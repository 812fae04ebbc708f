#pragma once
// llama.cpp's file types (general.file_type, its LLAMA_FTYPE enum) and the type llama-quantize
// gives each weight under one (llama_tensor_get_type, no importance matrix): either one type for
// every matrix, or the Q4_K_M mixture of Q4_K with Q6_K where precision matters most.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/dtype.h"

namespace orchard {

struct GgufFileType {
  DType base;           // the type of most matrices
  bool q4_k_m = false;  // llama.cpp's Q4_K_M mixture (base Q4_K)
  GgufFileType(DType t) : base(t) {}  // every matrix in t: any DType names a uniform file type
  static GgufFileType Q4_K_M();
};

// "q4_k_m" or a dtype name ("q8_0", "q4_k", ...); nullopt when neither.
std::optional<GgufFileType> gguf_file_type_from_name(std::string_view name);

// general.file_type: llama.cpp's value for the mixture, and for a uniform file the one its
// loader guesses from a file's most common weight type (q4_K -> MOSTLY_Q4_K_M, ...).
// Throws orchard::Error for types llama.cpp has no file type for.
uint32_t llama_ftype(const GgufFileType& ft);

// The stored type of 2-D weight `name` ("blk.N.attn_v.weight", "output.weight", ...) whose rows
// have `cols` elements, in a model of `n_layer` blocks; without its own output.weight
// (`has_output` false) token_embd.weight doubles as the output and is typed as one. A k-quant
// whose 256-element super-blocks do not tile the rows falls back as llama.cpp does (q4_K ->
// q5_0, q5_K -> q5_1, q6_K -> q8_0, q2_K / q3_K -> iq4_nl, then f16); other types are returned
// as they are.
DType gguf_tensor_type(const GgufFileType& ft, const std::string& name, int64_t cols, int64_t n_layer,
                       bool has_output);

}  // namespace orchard
