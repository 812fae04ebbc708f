#pragma once
// Unpacking of the k-quants' packed per-group scales, used by the codecs (k_quants.cpp), the
// reference dot products (dot_reference.cpp) and the SIMD matmul tiles in kernels/ (which do
// unpack_k4_scales in vector form, tested against these).
// `static`: each file gets its own copy, so code built with one ISA's flags (which the compiler
// may vectorize with that ISA) is never linked in place of another file's.
#include <cstdint>
#include <cstring>

namespace orchard {

// q4_K / q5_K: 8 six-bit scales and 8 six-bit mins (one per 32 elements) in 12 bytes. Groups
// 0-3 are the low six bits of bytes 0-3 (scales) and 4-7 (mins); groups 4-7 take their low
// four bits from the nibbles of bytes 8-11 and their top two bits from the spare bits of
// bytes 0-7. Done on three 32-bit words, four groups at a time.
static inline void unpack_k4_scales(const uint8_t packed[12], uint8_t scales[8], uint8_t mins[8]) {
  uint32_t w[3];
  std::memcpy(w, packed, 12);
  const uint32_t six = 0x3f3f3f3f, low4 = 0x0f0f0f0f, two = 0x03030303;
  const uint32_t s[2] = {w[0] & six, (w[2] & low4) | (((w[0] >> 6) & two) << 4)};
  const uint32_t m[2] = {w[1] & six, ((w[2] >> 4) & low4) | (((w[1] >> 6) & two) << 4)};
  std::memcpy(scales, s, 8);
  std::memcpy(mins, m, 8);
}

// q3_K: 16 six-bit scales (one per 16 elements, stored + 32) in 12 bytes: low four bits in the
// nibbles of bytes 0-7 (scales 0-7 low nibbles, 8-15 high), top two bits in bytes 8-11 (scale
// i at bits 2 * (i / 4) of byte 8 + i % 4). Returns them without the bias, in -32..31.
static inline void unpack_q3_k_scales(const uint8_t packed[12], int8_t scales[16]) {
  for (int i = 0; i < 16; ++i) {
    const int low = i < 8 ? packed[i] & 0x0f : packed[i - 8] >> 4;
    const int high = (packed[8 + i % 4] >> (2 * (i / 4))) & 3;
    scales[i] = static_cast<int8_t>((low | (high << 4)) - 32);
  }
}

}  // namespace orchard
