// MLX affine group quantization against tools/reference/mlx_ref.py, an independent numpy
// implementation of mlx's affine_quantize: block bytes (scales, biases, packed quants) and the
// decoded floats must match exactly; the reference dot product against q8_0 activations must
// equal the float dot of the decoded rows.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "quant/quant.h"
#include "support/paths.h"

namespace orchard {
namespace {

namespace fs = std::filesystem;

struct MlxType {
  DType type;
  int bits;
  int group;
};

const MlxType kTypes[] = {
    {DType::MLX_Q4_G32, 4, 32}, {DType::MLX_Q4_G64, 4, 64}, {DType::MLX_Q4_G128, 4, 128},
    {DType::MLX_Q8_G32, 8, 32}, {DType::MLX_Q8_G64, 8, 64}, {DType::MLX_Q8_G128, 8, 128},
};

const std::string& numpy_python() {
  static const std::string found = test::reference_python("numpy");
  return found;
}

void write_file(const fs::path& p, const void* data, size_t n) {
  std::ofstream out(p, std::ios::binary);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
}

std::string run_reference(const std::string& verb, const MlxType& t, const void* input, size_t n) {
  const fs::path dir = test::temp_dir("mlx_ref_" + verb + "_" + std::string(dtype_name(t.type)));
  write_file(dir / "in", input, n);
  const std::string cmd = numpy_python() + " '" + (test::source_dir() / "tools/reference/mlx_ref.py").string() + "' " +
                          verb + " " + std::to_string(t.bits) + " " + std::to_string(t.group) + " '" +
                          (dir / "in").string() + "' '" + (dir / "out").string() + "'";
  EXPECT_EQ(test::run_command(cmd).status, 0) << cmd;
  return test::read_file(dir / "out");
}

// Groups of varied magnitude and sign, plus the edge cases of the encoder: an all-zero group,
// a constant group, a group whose negative extreme dominates, one whose positive extreme does,
// and exact quant-level ties.
std::vector<float> encoder_inputs(int64_t n) {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> log_scale(-10.0f, 10.0f);
  std::vector<float> x(static_cast<size_t>(n));
  for (int64_t b = 0; b < n / 32; ++b) {
    const float scale = std::exp2(log_scale(rng));
    for (int i = 0; i < 32; ++i) x[b * 32 + i] = normal(rng) * scale;
  }
  std::fill(x.begin(), x.begin() + 128, 0.0f);
  std::fill(x.begin() + 128, x.begin() + 256, -3.25f);
  for (int i = 0; i < 128; ++i) x[256 + i] = static_cast<float>(i % 17) * 0.25f - 3.0f;  // min dominates
  for (int i = 0; i < 128; ++i) x[384 + i] = static_cast<float>(i % 15) * 0.5f - 0.5f;   // max dominates
  for (int i = 0; i < 128; ++i) x[512 + i] = static_cast<float>(i % 16) - 7.5f;          // ties
  return x;
}

class MlxQuant : public ::testing::TestWithParam<MlxType> {};

TEST_P(MlxQuant, EncodeMatchesNumpyReferenceBitForBit) {
  if (numpy_python().empty()) GTEST_SKIP() << "python3 with numpy not found";
  const MlxType t = GetParam();
  const int64_t n = 128 * 40;
  const std::vector<float> x = encoder_inputs(n);
  std::string ours(row_bytes(t.type, n), '\0');
  quantize_row(t.type, x.data(), ours.data(), n);
  const std::string ref = run_reference("quantize", t, x.data(), x.size() * sizeof(float));
  ASSERT_EQ(ref.size(), ours.size());
  const size_t block = dtype_info(t.type).type_size;
  for (size_t b = 0; b < ours.size() / block; ++b)
    ASSERT_EQ(0, std::memcmp(ours.data() + b * block, ref.data() + b * block, block)) << "group " << b;
}

TEST_P(MlxQuant, DecodeMatchesNumpyReferenceExactly) {
  if (numpy_python().empty()) GTEST_SKIP() << "python3 with numpy not found";
  const MlxType t = GetParam();
  const int64_t n = 128 * 40;
  const std::vector<float> x = encoder_inputs(n);
  std::string blocks(row_bytes(t.type, n), '\0');
  quantize_row(t.type, x.data(), blocks.data(), n);
  std::vector<float> ours(static_cast<size_t>(n));
  dequantize_row(t.type, blocks.data(), ours.data(), n);
  const std::string ref = run_reference("dequantize", t, blocks.data(), blocks.size());
  ASSERT_EQ(ref.size(), ours.size() * sizeof(float));
  for (int64_t i = 0; i < n; ++i) {
    float r;
    std::memcpy(&r, ref.data() + i * sizeof(float), sizeof(float));
    ASSERT_EQ(ours[i], r) << "element " << i;
  }
}

// Snapping the larger extreme onto a whole level (|q0| >= about n_bins / 2) stretches the step by
// at most one level over the group, and clipping the far end costs at most that, so every value
// decodes within 1.5 steps of (max - min) / n_bins.
TEST_P(MlxQuant, RoundTripErrorIsWithinOneAndAHalfSteps) {
  const MlxType t = GetParam();
  const int64_t n = 128 * 40;
  const std::vector<float> x = encoder_inputs(n);
  std::string blocks(row_bytes(t.type, n), '\0');
  quantize_row(t.type, x.data(), blocks.data(), n);
  std::vector<float> y(static_cast<size_t>(n));
  dequantize_row(t.type, blocks.data(), y.data(), n);
  for (int64_t g = 0; g < n / t.group; ++g) {
    float lo = x[g * t.group], hi = lo;
    for (int i = 0; i < t.group; ++i) lo = std::min(lo, x[g * t.group + i]), hi = std::max(hi, x[g * t.group + i]);
    const float step = (hi - lo) / static_cast<float>((1 << t.bits) - 1);
    for (int i = 0; i < t.group; ++i)
      ASSERT_LE(std::abs(y[g * t.group + i] - x[g * t.group + i]), 1.5f * step * 1.001f + 1e-30f)
          << "group " << g << " element " << i;
  }
}

TEST_P(MlxQuant, ReferenceDotEqualsDotOfDecodedRows) {
  const MlxType t = GetParam();
  const QuantTraits* traits = quant_traits(t.type);
  ASSERT_NE(traits, nullptr);
  ASSERT_EQ(traits->vec_dot_type, DType::Q8_0);
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int64_t n : {int64_t{128}, int64_t{384}, int64_t{1024}}) {
    std::vector<float> w(static_cast<size_t>(n)), x(static_cast<size_t>(n));
    for (auto& v : w) v = normal(rng);
    for (auto& v : x) v = normal(rng);
    std::string wq(row_bytes(t.type, n), '\0'), xq(row_bytes(DType::Q8_0, n), '\0');
    quantize_row(t.type, w.data(), wq.data(), n);
    quantize_row(DType::Q8_0, x.data(), xq.data(), n);
    std::vector<float> wd(w.size()), xd(x.size());
    dequantize_row(t.type, wq.data(), wd.data(), n);
    dequantize_row(DType::Q8_0, xq.data(), xd.data(), n);
    double expected = 0.0, magnitude = 0.0;
    for (int64_t i = 0; i < n; ++i) expected += double(wd[i]) * xd[i], magnitude += std::abs(double(wd[i]) * xd[i]);
    EXPECT_NEAR(traits->vec_dot(wq.data(), xq.data(), n), expected, 1e-5 * magnitude + 1e-6) << "n " << n;
  }
}

INSTANTIATE_TEST_SUITE_P(AllMlxTypes, MlxQuant, ::testing::ValuesIn(kTypes),
                         [](const auto& info) { return std::string(dtype_name(info.param.type)); });

}  // namespace
}  // namespace orchard
