#pragma once
// Element types. The numeric values are GGML's type ids, so a GGUF tensor's type field maps
// directly. Block-quantized types store `block_size` elements in `type_size` bytes; their
// encode/decode lives in src/quant/ (one trait table, see quant/quant.h).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace orchard {

enum class DType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ4_NL = 20,
  BF16 = 30,
  // orchard-internal types, never found in a GGUF file: MLX affine group quantization
  // (w = scale * q + bias per group of 32/64/128, 4 or 8 bits) repacked at load time into one
  // block per group: float scale, float bias, then the quants in MLX's bit order (element i of
  // a group at bits [bits*i, bits*(i+1)) of the little-endian quant bytes).
  MLX_Q4_G32 = 1000,
  MLX_Q4_G64 = 1001,
  MLX_Q4_G128 = 1002,
  MLX_Q8_G32 = 1003,
  MLX_Q8_G64 = 1004,
  MLX_Q8_G128 = 1005,
};

struct DTypeInfo {
  DType type;
  std::string_view name;  // lower-case as users type it: "f32", "q8_0", "q4_k"
  int64_t block_size;     // elements per block (1 for plain types)
  size_t type_size;       // bytes per block
  bool gguf = true;       // may appear in a GGUF file (false for orchard-internal types)
};

// Every known type has a dense index in [0, kDTypeCount): per-type tables (e.g. the matmul
// kernels of one ISA) are arrays indexed by it.
inline constexpr size_t kDTypeCount = 27;
size_t dtype_index(DType t);
std::span<const DTypeInfo> all_dtypes();  // in dtype_index order

// nullopt for ids orchard does not know, or that are not GGUF types (callers turn that into a
// clear file error).
std::optional<DTypeInfo> dtype_info(uint32_t ggml_type_id);
const DTypeInfo& dtype_info(DType t);
std::string_view dtype_name(DType t);
std::optional<DType> dtype_from_name(std::string_view name);

// Bytes for a row of `n` elements; n must be a multiple of the block size.
size_t row_bytes(DType t, int64_t n);
inline bool is_quantized(DType t) { return dtype_info(t).block_size > 1; }

}  // namespace orchard
