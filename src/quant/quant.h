#pragma once
// Block quantization formats, one trait entry per type (as llama.cpp's type_traits):
// to_float decodes whole blocks; from_float encodes (reference rounding, bit-exact with
// ggml's *_ref quantizers) where orchard can write the type; vec_dot_type is the format
// activations are quantized to before a matmul against this type, and vec_dot the plain
// reference dot product of one row of each (what every ISA's fast kernel is tested against).
#include <cstdint>

#include "core/dtype.h"

namespace orchard {

using ToFloatFn = void (*)(const void* src, float* dst, int64_t n);    // n multiple of block_size
using FromFloatFn = void (*)(const float* src, void* dst, int64_t n);  // n multiple of block_size
// dot(weight row w of type T, activation row x of T's vec_dot_type), n elements.
using VecDotFn = float (*)(const void* w, const void* x, int64_t n);

struct QuantTraits {
  DType type;
  ToFloatFn to_float;      // never null for readable types
  FromFloatFn from_float;  // null where orchard does not encode the type
  DType vec_dot_type = DType::F32;  // activation format of this type's matmul kernels
  VecDotFn vec_dot = nullptr;       // null: matmuls decode this type to f32 first
};

// nullptr when the type cannot be decoded.
const QuantTraits* quant_traits(DType t);

// Convenience: decode `n` elements of `t` starting at `src` (n multiple of block size).
void dequantize_row(DType t, const void* src, float* dst, int64_t n);
void quantize_row(DType t, const float* src, void* dst, int64_t n);  // throws if not encodable

// IEEE half / bfloat16 conversions (scalar, exact round-to-nearest-even).
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);

}  // namespace orchard
