// The trait table: one entry per element type orchard can read (and, for some, write).
#include "quant/quant.h"

#include <array>
#include <cstring>
#include <string>

#include "core/error.h"
#include "quant/codecs.h"

namespace orchard {
namespace {

void decode_f32(const void* src, float* dst, int64_t n) { std::memcpy(dst, src, static_cast<size_t>(n) * 4); }
void encode_f32(const float* src, void* dst, int64_t n) { std::memcpy(dst, src, static_cast<size_t>(n) * 4); }

void decode_f16(const void* src, float* dst, int64_t n) {
  const auto* h = static_cast<const uint16_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(h[i]);
}
void encode_f16(const float* src, void* dst, int64_t n) {
  auto* h = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) h[i] = f32_to_f16(src[i]);
}

void decode_bf16(const void* src, float* dst, int64_t n) {
  const auto* h = static_cast<const uint16_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(h[i]);
}
void encode_bf16(const float* src, void* dst, int64_t n) {
  auto* h = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) h[i] = f32_to_bf16(src[i]);
}

// K-quant rows use the q8_K activation format; the 32-element formats q8_0, or q8_1 where the
// weights carry a minimum (its term needs the activation block's sum).
constexpr std::array kTraits = {
    QuantTraits{DType::F32, decode_f32, encode_f32, DType::F32, codecs::dot_f32},
    QuantTraits{DType::F16, decode_f16, encode_f16, DType::F32, codecs::dot_f16},
    QuantTraits{DType::BF16, decode_bf16, encode_bf16, DType::F32, codecs::dot_bf16},
    QuantTraits{DType::Q4_0, codecs::decode_q4_0, codecs::encode_q4_0, DType::Q8_0, codecs::dot_q4_0},
    QuantTraits{DType::Q4_1, codecs::decode_q4_1, codecs::encode_q4_1, DType::Q8_1, codecs::dot_q4_1},
    QuantTraits{DType::Q5_0, codecs::decode_q5_0, codecs::encode_q5_0, DType::Q8_0, codecs::dot_q5_0},
    QuantTraits{DType::Q5_1, codecs::decode_q5_1, codecs::encode_q5_1, DType::Q8_1, codecs::dot_q5_1},
    QuantTraits{DType::Q8_0, codecs::decode_q8_0, codecs::encode_q8_0, DType::Q8_0, codecs::dot_q8_0},
    QuantTraits{DType::Q8_1, codecs::decode_q8_1, codecs::encode_q8_1},
    QuantTraits{DType::Q8_K, codecs::decode_q8_k, codecs::encode_q8_k},
    QuantTraits{DType::IQ4_NL, codecs::decode_iq4_nl, codecs::encode_iq4_nl, DType::Q8_0, codecs::dot_iq4_nl},
    QuantTraits{DType::Q2_K, codecs::decode_q2_k, codecs::encode_q2_k, DType::Q8_K, codecs::dot_q2_k},
    QuantTraits{DType::Q3_K, codecs::decode_q3_k, codecs::encode_q3_k, DType::Q8_K, codecs::dot_q3_k},
    QuantTraits{DType::Q4_K, codecs::decode_q4_k, codecs::encode_q4_k, DType::Q8_K, codecs::dot_q4_k},
    QuantTraits{DType::Q5_K, codecs::decode_q5_k, codecs::encode_q5_k, DType::Q8_K, codecs::dot_q5_k},
    QuantTraits{DType::Q6_K, codecs::decode_q6_k, codecs::encode_q6_k, DType::Q8_K, codecs::dot_q6_k},
};

void check_whole_blocks(DType t, int64_t n) {
  const int64_t block = dtype_info(t).block_size;
  if (n % block != 0)
    throw Error("a row of " + std::to_string(n) + " elements is not a whole number of " +
                std::string(dtype_name(t)) + " blocks of " + std::to_string(block));
}

}  // namespace

const QuantTraits* quant_traits(DType t) {
  for (const auto& traits : kTraits)
    if (traits.type == t) return &traits;
  for (const auto& traits : codecs::mlx_affine_traits())
    if (traits.type == t) return &traits;
  return nullptr;
}

void dequantize_row(DType t, const void* src, float* dst, int64_t n) {
  const QuantTraits* traits = quant_traits(t);
  if (!traits) throw Error("cannot decode tensors of type " + std::string(dtype_name(t)));
  check_whole_blocks(t, n);
  traits->to_float(src, dst, n);
}

void quantize_row(DType t, const float* src, void* dst, int64_t n) {
  const QuantTraits* traits = quant_traits(t);
  if (!traits || !traits->from_float) throw Error("cannot encode tensors as " + std::string(dtype_name(t)));
  check_whole_blocks(t, n);
  traits->from_float(src, dst, n);
}

}  // namespace orchard
