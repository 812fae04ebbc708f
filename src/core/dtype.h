#pragma once
// Element types. The numeric values are GGML's type ids, so a GGUF tensor's type field maps
// directly. Block-quantized types store `block_size` elements in `type_size` bytes; their
// encode/decode lives in src/quant/ (one trait table, see quant/quant.h).
#include <cstddef>
#include <cstdint>
#include <optional>
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
  BF16 = 30,
};

struct DTypeInfo {
  DType type;
  std::string_view name;  // lower-case as users type it: "f32", "q8_0", "q4_k"
  int64_t block_size;     // elements per block (1 for plain types)
  size_t type_size;       // bytes per block
};

// nullopt for ids orchard does not know (callers turn that into a clear file error).
std::optional<DTypeInfo> dtype_info(uint32_t ggml_type_id);
const DTypeInfo& dtype_info(DType t);
std::string_view dtype_name(DType t);
std::optional<DType> dtype_from_name(std::string_view name);

// Bytes for a row of `n` elements; n must be a multiple of the block size.
size_t row_bytes(DType t, int64_t n);
inline bool is_quantized(DType t) { return dtype_info(t).block_size > 1; }

}  // namespace orchard
