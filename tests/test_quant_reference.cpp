// Encoders and decoders against tools/reference/quant_ref.py, an independent numpy
// implementation of the block formats: bytes and floats must match exactly.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "quant/quant.h"
#include "support/paths.h"

namespace orchard {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kSuperBlock = 256;

const std::string& numpy_python() {
  static const std::string found = test::reference_python("numpy");
  return found;
}

#define REQUIRE_NUMPY() \
  if (numpy_python().empty()) GTEST_SKIP() << "python3 with numpy not found: reference comparison skipped"

std::vector<uint8_t> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_file(const fs::path& p, const void* data, size_t n) {
  std::ofstream out(p, std::ios::binary);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
}

// Runs the reference on `input`, returns the bytes it wrote.
std::vector<uint8_t> run_reference(const std::string& verb, DType t, const void* input, size_t n) {
  const fs::path dir = test::temp_dir("quant_ref_" + verb + "_" + std::string(dtype_name(t)));
  write_file(dir / "in", input, n);
  const std::string cmd = numpy_python() + " '" + (test::source_dir() / "tools/reference/quant_ref.py").string() + "' " + verb +
                          " " + std::string(dtype_name(t)) + " '" + (dir / "in").string() + "' '" +
                          (dir / "out").string() + "'";
  const auto result = test::run_command(cmd);
  EXPECT_EQ(result.status, 0) << cmd;
  return read_file(dir / "out");
}

// Floats that exercise the encoders: blocks of varied magnitude and sign, an all-zero block,
// a constant block, exact halves (rounding ties), and values near the f16 limits. For the
// 256-element k-quants the same cases fill whole super-blocks (awkward_superblocks).
std::vector<float> encoder_inputs(int64_t n) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> log_scale(-12.0f, 12.0f);
  std::vector<float> x(static_cast<size_t>(n));
  for (int64_t b = 0; b < n / 32; ++b) {
    const float scale = std::exp2(log_scale(rng));
    for (int i = 0; i < 32; ++i) x[b * 32 + i] = normal(rng) * scale;
  }
  std::fill(x.begin(), x.begin() + 32, 0.0f);
  std::fill(x.begin() + 32, x.begin() + 64, -3.25f);
  for (int i = 0; i < 32; ++i) x[64 + i] = static_cast<float>(i - 16) * 0.5f;
  for (int i = 0; i < 32; ++i) x[96 + i] = 65504.0f * (i % 2 ? 1.0f : -0.999f);
  for (int i = 0; i < 32; ++i) x[128 + i] = std::ldexp(static_cast<float>(i + 1), -30);  // f16 subnormal scales
  return x;
}

// Whole super-blocks of: zeros, a negative constant, a positive constant, negative-only and
// positive-only noise, f16-limit magnitudes, tiny values (below the encoders' zero threshold and
// just above it), huge values, a single non-zero element, and groups of wildly different scale.
void awkward_superblocks(std::vector<float>& x) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto block = [&](int b) { return x.begin() + b * 256; };
  std::fill(block(0), block(1), 0.0f);
  std::fill(block(1), block(2), -3.25f);
  std::fill(block(2), block(3), 0.75f);
  for (int i = 0; i < 256; ++i) x[3 * 256 + i] = -std::fabs(normal(rng)) - 0.01f;
  for (int i = 0; i < 256; ++i) x[4 * 256 + i] = std::fabs(normal(rng)) + 1.0f;
  for (int i = 0; i < 256; ++i) x[5 * 256 + i] = 65504.0f * (i % 2 ? 1.0f : -0.999f);
  for (int i = 0; i < 256; ++i) x[6 * 256 + i] = 1e-20f * normal(rng);
  for (int i = 0; i < 256; ++i) x[7 * 256 + i] = std::ldexp(static_cast<float>(i + 1), -30);
  for (int i = 0; i < 256; ++i) x[8 * 256 + i] = 1e6f * normal(rng);
  std::fill(block(9), block(10), 0.0f);
  x[9 * 256 + 77] = -2.5f;
  for (int i = 0; i < 256; ++i) x[10 * 256 + i] = std::exp2(static_cast<float>((i / 16) % 8 * 3 - 12)) * normal(rng);
}

class QuantEncode : public ::testing::TestWithParam<DType> {};

TEST_P(QuantEncode, MatchesReferenceBitForBit) {
  REQUIRE_NUMPY();
  const DType t = GetParam();
  const int64_t n = 256 * 40;
  std::vector<float> x = encoder_inputs(n);
  if (dtype_info(t).block_size == kSuperBlock) awkward_superblocks(x);
  std::vector<uint8_t> ours(row_bytes(t, n));
  quantize_row(t, x.data(), ours.data(), n);
  const std::vector<uint8_t> ref = run_reference("quantize", t, x.data(), x.size() * sizeof(float));
  ASSERT_EQ(ref.size(), ours.size());
  const size_t block = dtype_info(t).type_size;
  for (size_t i = 0; i < ours.size(); ++i)
    ASSERT_EQ(ours[i], ref[i]) << "byte " << i % block << " of block " << i / block;
}

INSTANTIATE_TEST_SUITE_P(Formats, QuantEncode,
                         ::testing::Values(DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1,
                                           DType::IQ4_NL, DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K,
                                           DType::Q6_K),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

// Encode then decode: every element comes back within the format's step (a coarse check that
// the packing puts each quant where the decoder looks; the reference comparison is exact).
class QuantRoundTrip : public ::testing::TestWithParam<std::pair<DType, float>> {};

TEST_P(QuantRoundTrip, DecodesCloseToTheInput) {
  const auto [t, tolerance] = GetParam();
  const int64_t n = 256 * 16;
  std::mt19937 rng(9);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n)), back(static_cast<size_t>(n));
  for (auto& v : x) v = normal(rng);
  std::vector<uint8_t> bytes(row_bytes(t, n));
  quantize_row(t, x.data(), bytes.data(), n);
  dequantize_row(t, bytes.data(), back.data(), n);
  double err2 = 0, x2 = 0;
  for (int64_t i = 0; i < n; ++i) {
    err2 += (back[i] - x[i]) * (back[i] - x[i]);
    x2 += x[i] * x[i];
  }
  EXPECT_LT(std::sqrt(err2 / x2), tolerance) << dtype_name(t);
}

// Relative RMS errors a little above what each format reaches on Gaussian data.
INSTANTIATE_TEST_SUITE_P(Formats, QuantRoundTrip,
                         ::testing::Values(std::pair{DType::IQ4_NL, 0.12f}, std::pair{DType::Q2_K, 0.45f},
                                           std::pair{DType::Q3_K, 0.25f}, std::pair{DType::Q4_K, 0.12f},
                                           std::pair{DType::Q5_K, 0.06f}, std::pair{DType::Q6_K, 0.03f}),
                         [](const auto& info) { return std::string(dtype_name(info.param.first)); });

// Offsets of the f16 scale fields in each block, overwritten with finite values so the
// decoded floats are comparable (NaN != NaN).
std::vector<size_t> half_fields(DType t) {
  switch (t) {
    case DType::Q4_0: case DType::Q5_0: case DType::Q8_0: case DType::IQ4_NL: return {0};
    case DType::Q4_1: case DType::Q5_1: case DType::Q4_K: case DType::Q5_K: return {0, 2};
    case DType::Q2_K: return {80, 82};
    case DType::Q3_K: return {108};
    case DType::Q6_K: return {208};
    default: return {};
  }
}

class QuantDecode : public ::testing::TestWithParam<DType> {};

TEST_P(QuantDecode, MatchesReferenceOnRandomBlocks) {
  REQUIRE_NUMPY();
  const DType t = GetParam();
  const DTypeInfo& info = dtype_info(t);
  const int64_t n = info.block_size * (info.block_size == 1 ? 4096 : 96);
  std::vector<uint8_t> bytes(row_bytes(t, n));
  std::mt19937 rng(11);
  for (auto& b : bytes) b = static_cast<uint8_t>(rng());
  auto finite_half = [&](uint8_t* p) {
    uint16_t h = static_cast<uint16_t>(rng());
    if ((h & 0x7c00) == 0x7c00) h &= 0xbfff;  // exponent all ones (inf/NaN) -> finite
    std::memcpy(p, &h, 2);
  };
  if (t == DType::F16) {
    for (size_t i = 0; i < bytes.size(); i += 2) finite_half(&bytes[i]);
  } else if (t == DType::BF16 || t == DType::F32) {
    const size_t width = t == DType::F32 ? 4 : 2;
    for (size_t i = width - 1; i < bytes.size(); i += width)
      if ((bytes[i] & 0x7f) == 0x7f) bytes[i] &= 0xbf;  // keep the exponent below all-ones
  } else {
    for (size_t b = 0; b < bytes.size(); b += info.type_size)
      for (size_t off : half_fields(t)) finite_half(&bytes[b + off]);
  }
  std::vector<float> ours(static_cast<size_t>(n));
  dequantize_row(t, bytes.data(), ours.data(), n);
  const std::vector<uint8_t> ref = run_reference("dequantize", t, bytes.data(), bytes.size());
  ASSERT_EQ(ref.size(), ours.size() * sizeof(float));
  for (int64_t i = 0; i < n; ++i) {
    float r;
    std::memcpy(&r, &ref[i * 4], 4);
    ASSERT_EQ(std::bit_cast<uint32_t>(ours[i]), std::bit_cast<uint32_t>(r))
        << "element " << i << ": ours " << ours[i] << " reference " << r;
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, QuantDecode,
                         ::testing::Values(DType::F32, DType::F16, DType::BF16, DType::Q4_0, DType::Q4_1, DType::Q5_0,
                                           DType::Q5_1, DType::Q8_0, DType::IQ4_NL, DType::Q2_K, DType::Q3_K, DType::Q4_K,
                                           DType::Q5_K, DType::Q6_K),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

// f32 -> f16 / bf16 rounding: random bit patterns plus the edge cases (ties, subnormals,
// overflow, NaN, infinities), against numpy's conversion and the reference's bf16 rule.
class HalfEncode : public ::testing::TestWithParam<DType> {};

TEST_P(HalfEncode, MatchesReference) {
  REQUIRE_NUMPY();
  const DType t = GetParam();
  std::vector<uint32_t> bits = {0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00001, 0xffa00000,
                                0x477fefff, 0x477ff000, 0x477ff001, 0x38800000, 0x387fffff, 0x33000000,
                                0x33000001, 0x337fffff, 0x3f801000, 0x3f803000, 0x3f808000, 0x3f818000};
  std::mt19937 rng(3);
  while (bits.size() < 20000) bits.push_back(static_cast<uint32_t>(rng()));
  // Values in and around the f16 range are the interesting ones: narrow the exponent.
  for (size_t i = 18; i < 10000; ++i) bits[i] = (bits[i] & 0x807fffff) | ((100u + bits[i] % 45u) << 23);
  std::vector<float> x(bits.size());
  std::memcpy(x.data(), bits.data(), bits.size() * 4);
  std::vector<uint16_t> ours(x.size());
  quantize_row(t, x.data(), ours.data(), static_cast<int64_t>(x.size()));
  const std::vector<uint8_t> ref = run_reference("quantize", t, x.data(), x.size() * 4);
  ASSERT_EQ(ref.size(), ours.size() * 2);
  for (size_t i = 0; i < ours.size(); ++i) {
    uint16_t r;
    std::memcpy(&r, &ref[i * 2], 2);
    const bool nan = (bits[i] & 0x7fffffff) > 0x7f800000;
    if (nan) {  // NaN payloads may differ; it must stay a NaN of the same sign
      const uint16_t exp_mask = t == DType::F16 ? 0x7c00 : 0x7f80;
      EXPECT_EQ(ours[i] & exp_mask, exp_mask) << std::hex << bits[i];
      EXPECT_NE(ours[i] & ~exp_mask & 0x7fff, 0) << std::hex << bits[i];
      EXPECT_EQ(ours[i] & 0x8000, r & 0x8000);
    } else {
      ASSERT_EQ(ours[i], r) << "input bits 0x" << std::hex << bits[i];
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, HalfEncode, ::testing::Values(DType::F16, DType::BF16),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST(Half, EveryF16SurvivesARoundTripThroughF32) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = f16_to_f32(static_cast<uint16_t>(h));
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) {
      EXPECT_TRUE(std::isnan(f));
    } else {
      ASSERT_EQ(f32_to_f16(f), h) << std::hex << h;
    }
  }
}

TEST(QuantTraits, RejectsPartialBlocksAndUnwritableTypes) {
  std::vector<float> x(48);
  std::vector<uint8_t> out(64);
  EXPECT_THROW(quantize_row(DType::Q8_0, x.data(), out.data(), 48), Error);
  EXPECT_THROW(quantize_row(DType::Q4_K, x.data(), out.data(), 48), Error);
  EXPECT_THROW(quantize_row(DType::I32, x.data(), out.data(), 16), Error);  // not a block format
  EXPECT_THROW(dequantize_row(DType::Q4_K, out.data(), x.data(), 100), Error);
  EXPECT_EQ(quant_traits(DType::I32), nullptr);
}

}  // namespace
}  // namespace orchard
