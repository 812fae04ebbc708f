#include "models/rope.h"

#include <cmath>
#include <numbers>

namespace orchard {

namespace {

double base_inv_freq(const ModelConfig& c, int64_t i) {
  return std::pow(static_cast<double>(c.rope_theta), -2.0 * static_cast<double>(i) / static_cast<double>(c.head_dim));
}

// Wavelengths shorter than original_context / high_freq_factor keep their frequency, longer
// than original_context / low_freq_factor are slowed by the full factor; between the two the
// divisor blends smoothly from 1 to the factor.
double llama3_divisor(const ModelConfig& c, double inv_freq) {
  const double wavelen = 2.0 * std::numbers::pi / inv_freq;
  const double context = static_cast<double>(c.rope_original_context);
  const double low = c.rope_low_freq_factor, high = c.rope_high_freq_factor, factor = c.rope_factor;
  if (wavelen < context / high) return 1.0;
  if (wavelen > context / low) return factor;
  const double smooth = (context / wavelen - low) / (high - low);
  return 1.0 / ((1.0 - smooth) / factor + smooth);
}

}  // namespace

std::vector<float> llama3_rope_divisors(const ModelConfig& c) {
  std::vector<float> divisors(c.head_dim / 2);
  for (int64_t i = 0; i < c.head_dim / 2; ++i) divisors[i] = static_cast<float>(llama3_divisor(c, base_inv_freq(c, i)));
  return divisors;
}

std::vector<float> rope_inv_freq(const ModelConfig& c, const std::vector<float>* rope_freqs) {
  std::vector<float> inv_freq(c.head_dim / 2);
  for (int64_t i = 0; i < c.head_dim / 2; ++i) {
    double f = base_inv_freq(c, i);
    if (rope_freqs)
      f /= (*rope_freqs)[i];
    else if (c.rope_scaling == RopeScaling::Linear)
      f /= c.rope_factor;
    else if (c.rope_scaling == RopeScaling::Llama3)
      f /= llama3_divisor(c, f);
    inv_freq[i] = static_cast<float>(f);
  }
  return inv_freq;
}

std::vector<int64_t> interleave_rope_rows(int64_t n_heads, int64_t head_dim) {
  std::vector<int64_t> order(n_heads * head_dim);
  const int64_t half = head_dim / 2;
  for (int64_t h = 0; h < n_heads; ++h)
    for (int64_t i = 0; i < half; ++i)
      for (int64_t j = 0; j < 2; ++j) order[h * head_dim + 2 * i + j] = h * head_dim + j * half + i;
  return order;
}

}  // namespace orchard
