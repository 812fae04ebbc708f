#pragma once
// Element-wise math written so the compiler vectorizes it for the ISA the including file is
// built for: no calls and no branches inside the loops. generic_kernels.cpp and each
// x86/*.cpp include it; the unnamed namespace gives every file its own copy, compiled with
// that file's flags (a shared inline copy could be the AVX-512 one on an AVX2-only CPU).
#include <algorithm>
#include <bit>
#include <cstdint>

namespace orchard::cpu {
namespace {

// e^x with relative error below 3e-7 (Cephes' expf: x = n ln2 + r, |r| <= ln2/2, a degree-6
// polynomial for e^r, then scale by 2^n through the exponent bits). Inputs are clamped to
// [-87, 88], where 2^n stays a normal float: e^-87 ~ 1.6e-38 stands in for anything smaller.
inline float exp_approx(float x) {
  x = std::min(std::max(x, -87.0f), 88.0f);
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float shifted = x * 1.44269504088896341f + kRound;
  const float n = shifted - kRound;
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;  // ln2 split in two for precision
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float er = p * r * r + r + 1.0f;
  const int32_t exponent = (std::bit_cast<int32_t>(shifted) - std::bit_cast<int32_t>(kRound) + 127) << 23;
  return er * std::bit_cast<float>(exponent);
}

// gate[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + e^-g).
inline void silu_mul_loop(float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) gate[i] = gate[i] / (1.0f + exp_approx(-gate[i])) * up[i];
}

// x[i] = e^(x[i] - shift); returns the sum of the new x. Sixteen partial sums let the
// compiler keep the additions in vector lanes.
inline float exp_sum_loop(float* x, int64_t n, float shift) {
  constexpr int kLanes = 16;
  float partial[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) {
      x[i + l] = exp_approx(x[i + l] - shift);
      partial[l] += x[i + l];
    }
  }
  float sum = 0.0f;
  for (; i < n; ++i) {
    x[i] = exp_approx(x[i] - shift);
    sum += x[i];
  }
  for (float p : partial) sum += p;
  return sum;
}

}  // namespace
}  // namespace orchard::cpu
