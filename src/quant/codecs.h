#pragma once
// Per-format reference codecs behind the trait table in quant.cpp (internal to src/quant).
// n is a multiple of the format's block size.
#include <cstdint>

namespace orchard::codecs {

void decode_q4_0(const void* src, float* dst, int64_t n);
void decode_q4_1(const void* src, float* dst, int64_t n);
void decode_q5_0(const void* src, float* dst, int64_t n);
void decode_q5_1(const void* src, float* dst, int64_t n);
void decode_q8_0(const void* src, float* dst, int64_t n);
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

}  // namespace orchard::codecs
