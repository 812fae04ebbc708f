#include "core/dtype.h"

#include <array>
#include <stdexcept>

namespace orchard {
namespace {

constexpr std::array kTypes = {
    DTypeInfo{DType::F32, "f32", 1, 4},       DTypeInfo{DType::F16, "f16", 1, 2},
    DTypeInfo{DType::Q4_0, "q4_0", 32, 18},   DTypeInfo{DType::Q4_1, "q4_1", 32, 20},
    DTypeInfo{DType::Q5_0, "q5_0", 32, 22},   DTypeInfo{DType::Q5_1, "q5_1", 32, 24},
    DTypeInfo{DType::Q8_0, "q8_0", 32, 34},   DTypeInfo{DType::Q8_1, "q8_1", 32, 36},
    DTypeInfo{DType::Q2_K, "q2_k", 256, 84},  DTypeInfo{DType::Q3_K, "q3_k", 256, 110},
    DTypeInfo{DType::Q4_K, "q4_k", 256, 144}, DTypeInfo{DType::Q5_K, "q5_k", 256, 176},
    DTypeInfo{DType::Q6_K, "q6_k", 256, 210}, DTypeInfo{DType::Q8_K, "q8_k", 256, 292},
    DTypeInfo{DType::I8, "i8", 1, 1},         DTypeInfo{DType::I16, "i16", 1, 2},
    DTypeInfo{DType::I32, "i32", 1, 4},       DTypeInfo{DType::I64, "i64", 1, 8},
    DTypeInfo{DType::F64, "f64", 1, 8},       DTypeInfo{DType::BF16, "bf16", 1, 2},
    DTypeInfo{DType::IQ4_NL, "iq4_nl", 32, 18},
    DTypeInfo{DType::MLX_Q4_G32, "mlx_q4_g32", 32, 8 + 16, false},
    DTypeInfo{DType::MLX_Q4_G64, "mlx_q4_g64", 64, 8 + 32, false},
    DTypeInfo{DType::MLX_Q4_G128, "mlx_q4_g128", 128, 8 + 64, false},
    DTypeInfo{DType::MLX_Q8_G32, "mlx_q8_g32", 32, 8 + 32, false},
    DTypeInfo{DType::MLX_Q8_G64, "mlx_q8_g64", 64, 8 + 64, false},
    DTypeInfo{DType::MLX_Q8_G128, "mlx_q8_g128", 128, 8 + 128, false},
};
static_assert(kTypes.size() == kDTypeCount);

}  // namespace

std::optional<DTypeInfo> dtype_info(uint32_t id) {
  for (const auto& t : kTypes)
    if (static_cast<uint32_t>(t.type) == id && t.gguf) return t;
  return std::nullopt;
}

const DTypeInfo& dtype_info(DType type) {
  for (const auto& t : kTypes)
    if (t.type == type) return t;
  throw std::logic_error("dtype_info: unknown DType");
}

std::span<const DTypeInfo> all_dtypes() { return kTypes; }

size_t dtype_index(DType type) {
  for (size_t i = 0; i < kTypes.size(); ++i)
    if (kTypes[i].type == type) return i;
  throw std::logic_error("dtype_index: unknown DType");
}

std::string_view dtype_name(DType t) { return dtype_info(t).name; }

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& t : kTypes)
    if (t.name == name) return t.type;
  return std::nullopt;
}

size_t row_bytes(DType t, int64_t n) {
  const auto& info = dtype_info(t);
  return static_cast<size_t>(n / info.block_size) * info.type_size;
}

}  // namespace orchard
