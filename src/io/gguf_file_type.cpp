// llama.cpp's file types and per-tensor quantization choices (see gguf_file_type.h). The rules
// follow llama.cpp's src/llama-quant.cpp (llama_tensor_get_type) for the file types orchard
// writes, and its model loader's table of guessed file types.
#include "io/gguf_file_type.h"

#include <cstdio>

#include "core/error.h"

namespace orchard {
namespace {

// llama.cpp's use_more_bits: the first and last eighth of the layers, and every third between.
bool use_more_bits(int64_t layer, int64_t n_layer) {
  return layer < n_layer / 8 || layer >= 7 * n_layer / 8 || (layer - n_layer / 8) % 3 == 2;
}

// Block index of "blk.N.*", or -1 for the tensors outside the blocks.
int64_t layer_of(const std::string& name) {
  long long layer = -1;
  return std::sscanf(name.c_str(), "blk.%lld.", &layer) == 1 ? layer : -1;
}

bool is_k_quant(DType t) {
  return t == DType::Q2_K || t == DType::Q3_K || t == DType::Q4_K || t == DType::Q5_K || t == DType::Q6_K;
}

// llama.cpp's convert_incompatible_tensor: a k-quant that cannot tile the rows.
DType fallback(DType t, int64_t cols) {
  if (!is_k_quant(t) || cols % dtype_info(t).block_size == 0) return t;
  const DType next = t == DType::Q4_K ? DType::Q5_0 : t == DType::Q5_K ? DType::Q5_1 : t == DType::Q6_K ? DType::Q8_0 : DType::IQ4_NL;
  return cols % dtype_info(next).block_size == 0 ? next : DType::F16;
}

}  // namespace

GgufFileType GgufFileType::Q4_K_M() {
  GgufFileType ft(DType::Q4_K);
  ft.q4_k_m = true;
  return ft;
}

std::optional<GgufFileType> gguf_file_type_from_name(std::string_view name) {
  if (name == "q4_k_m") return GgufFileType::Q4_K_M();
  if (const auto t = dtype_from_name(name)) return GgufFileType(*t);
  return std::nullopt;
}

uint32_t llama_ftype(const GgufFileType& ft) {
  switch (ft.base) {
    case DType::F32: return 0;
    case DType::F16: return 1;
    case DType::Q4_0: return 2;
    case DType::Q4_1: return 3;
    case DType::Q8_0: return 7;
    case DType::Q5_0: return 8;
    case DType::Q5_1: return 9;
    case DType::Q2_K: return 10;
    case DType::Q3_K: return 12;  // MOSTLY_Q3_K_M
    case DType::Q4_K: return 15;  // MOSTLY_Q4_K_M: the mixture, and the loader's name for mostly-q4_K
    case DType::Q5_K: return 17;  // MOSTLY_Q5_K_M
    case DType::Q6_K: return 18;
    case DType::IQ4_NL: return 25;
    case DType::BF16: return 32;
    default: throw Error("GGUF files: llama.cpp has no file type for " + std::string(dtype_name(ft.base)) + " weights");
  }
}

DType gguf_tensor_type(const GgufFileType& ft, const std::string& name, int64_t cols, int64_t n_layer,
                       bool has_output) {
  DType t = ft.base;
  if (ft.q4_k_m) {
    const bool output = name == "output.weight" || (!has_output && name == "token_embd.weight");
    const int64_t layer = layer_of(name);
    if (output) {
      t = cols % 256 == 0 ? DType::Q6_K : DType::Q8_0;
    } else if (layer >= 0 && (name.ends_with(".attn_v.weight") || name.find("ffn_down") != std::string::npos)) {
      if (use_more_bits(layer, n_layer)) t = DType::Q6_K;
    }
  }
  return fallback(t, cols);
}

}  // namespace orchard
