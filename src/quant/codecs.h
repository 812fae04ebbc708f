#pragma once
// Per-format reference codecs behind the trait table in quant.cpp (internal to src/quant).
// n is a multiple of the format's block size.
#include <cstdint>
#include <span>

#include "quant/quant.h"

namespace orchard::codecs {

void decode_q4_0(const void* src, float* dst, int64_t n);
void decode_q4_1(const void* src, float* dst, int64_t n);
void decode_q5_0(const void* src, float* dst, int64_t n);
void decode_q5_1(const void* src, float* dst, int64_t n);
void decode_q8_0(const void* src, float* dst, int64_t n);
void decode_iq4_nl(const void* src, float* dst, int64_t n);
void decode_q2_k(const void* src, float* dst, int64_t n);
void decode_q3_k(const void* src, float* dst, int64_t n);
void decode_q4_k(const void* src, float* dst, int64_t n);
void decode_q5_k(const void* src, float* dst, int64_t n);
void decode_q6_k(const void* src, float* dst, int64_t n);

void encode_q4_0(const float* src, void* dst, int64_t n);
void encode_q4_1(const float* src, void* dst, int64_t n);
void encode_q5_0(const float* src, void* dst, int64_t n);
void encode_q5_1(const float* src, void* dst, int64_t n);
void encode_q8_0(const float* src, void* dst, int64_t n);
void encode_iq4_nl(const float* src, void* dst, int64_t n);  // as llama-quantize (7 tries)
void encode_q2_k(const float* src, void* dst, int64_t n);  // as ggml's quantize_row_*_K_ref
void encode_q3_k(const float* src, void* dst, int64_t n);
void encode_q4_k(const float* src, void* dst, int64_t n);
void encode_q5_k(const float* src, void* dst, int64_t n);
void encode_q6_k(const float* src, void* dst, int64_t n);

// MLX affine group quantization (mlx_affine.cpp): its own trait entries, one per bits x group.
std::span<const QuantTraits> mlx_affine_traits();

// Activation formats (activation_quants.cpp).
void encode_q8_1(const float* src, void* dst, int64_t n);
void decode_q8_1(const void* src, float* dst, int64_t n);
void encode_q8_k(const float* src, void* dst, int64_t n);
void decode_q8_k(const void* src, float* dst, int64_t n);

// Reference dot products (dot_reference.cpp): weight row . activation row in vec_dot_type.
float dot_f32(const void* w, const void* x, int64_t n);
float dot_f16(const void* w, const void* x, int64_t n);
float dot_bf16(const void* w, const void* x, int64_t n);
float dot_q4_0(const void* w, const void* x, int64_t n);
float dot_q4_1(const void* w, const void* x, int64_t n);
float dot_q5_0(const void* w, const void* x, int64_t n);
float dot_q5_1(const void* w, const void* x, int64_t n);
float dot_q8_0(const void* w, const void* x, int64_t n);
float dot_iq4_nl(const void* w, const void* x, int64_t n);
float dot_q2_k(const void* w, const void* x, int64_t n);  // the k-quants against q8_K
float dot_q3_k(const void* w, const void* x, int64_t n);
float dot_q4_k(const void* w, const void* x, int64_t n);
float dot_q5_k(const void* w, const void* x, int64_t n);
float dot_q6_k(const void* w, const void* x, int64_t n);

}  // namespace orchard::codecs
