#pragma once
// Byte layouts of the GGML block formats (exactly as stored in GGUF files). Scales are IEEE
// half floats kept as raw bits; decode them with f16_to_f32. Shared by the reference codecs in
// this folder and the matmul fast paths in kernels/.
#include <cstdint>

namespace orchard {

inline constexpr int kQK = 32;    // elements per block of the 32-wide formats
inline constexpr int kQK_K = 256;  // elements per k-quant super-block

struct BlockQ4_0 {
  uint16_t d;            // scale
  uint8_t qs[kQK / 2];   // element j in the low nibble of byte j, element j+16 in the high nibble
};
struct BlockQ4_1 {
  uint16_t d, m;         // scale, minimum
  uint8_t qs[kQK / 2];
};
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];         // fifth bit of element j at bit j (little-endian 32-bit word)
  uint8_t qs[kQK / 2];
};
struct BlockQ5_1 {
  uint16_t d, m;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kQK];
};

struct BlockIQ4_NL {
  uint16_t d;
  uint8_t qs[kQK / 2];   // 4-bit indices into kIQ4NLValues, laid out as q4_0's nibbles
};
// The non-linear IQ4_NL code book (ggml's kvalues_iq4nl).
inline constexpr int8_t kIQ4NLValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                            1,    13,   25,  38,  53,  69,  89,  113};

// Activation formats: the matmul kernels quantize activations once per call into the
// format a weight type's dot product wants (QuantTraits::vec_dot_type).
struct BlockQ8_1 {       // for q4_1 / q5_1: s = d * sum(qs) carries the weights' minimum term
  uint16_t d, s;
  int8_t qs[kQK];
};
struct BlockQ8_K {       // for the k-quants: one f32 scale per 256, and sums per 16
  float d;
  int8_t qs[kQK_K];
  int16_t bsums[kQK_K / 16];
};

struct BlockQ2_K {
  uint8_t scales[kQK_K / 16];  // per 16 elements: scale in the low nibble, min in the high nibble
  uint8_t qs[kQK_K / 4];
  uint16_t d, dmin;
};
struct BlockQ3_K {
  uint8_t hmask[kQK_K / 8];    // high bit of each 3-bit quant
  uint8_t qs[kQK_K / 4];       // low 2 bits
  uint8_t scales[12];          // 16 six-bit scales, packed
  uint16_t d;
};
struct BlockQ4_K {
  uint16_t d, dmin;
  uint8_t scales[12];          // 8 six-bit scales and 8 six-bit mins, packed
  uint8_t qs[kQK_K / 2];
};
struct BlockQ5_K {
  uint16_t d, dmin;
  uint8_t scales[12];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};
struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];       // low 4 bits
  uint8_t qh[kQK_K / 4];       // high 2 bits
  int8_t scales[kQK_K / 16];
  uint16_t d;
};

static_assert(sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20 && sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24 && sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ2_K) == 84 && sizeof(BlockQ3_K) == 110 && sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockIQ4_NL) == 18 && sizeof(BlockQ8_1) == 36 && sizeof(BlockQ8_K) == 292);

}  // namespace orchard
