// CPU attention over f32, f16 and q8_0 KV caches against softmax(q.k * scale) . v written in
// double precision, for every ISA path this CPU supports.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "core/backend.h"
#include "core/error.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/kernels.h"
#include "quant/quant.h"

namespace orchard {
namespace {

using cpu::Isa;

std::vector<float> random_vector(size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = normal(rng);
  return v;
}

// Rows of `dim` floats stored as `type`, and the values that storage holds.
struct Stored {
  std::vector<uint8_t> bytes;
  std::vector<float> values;
};
Stored store(DType type, const std::vector<float>& x, int64_t dim) {
  const int64_t rows = static_cast<int64_t>(x.size()) / dim;
  const size_t row = row_bytes(type, dim);
  Stored s{std::vector<uint8_t>(rows * row), std::vector<float>(x.size())};
  for (int64_t r = 0; r < rows; ++r) {
    quantize_row(type, x.data() + r * dim, s.bytes.data() + r * row, dim);
    dequantize_row(type, s.bytes.data() + r * row, s.values.data() + r * dim, dim);
  }
  return s;
}

// softmax(q.k * scale) . v in double for query head h of token t over keys 0..pos.
std::vector<double> reference(const float* q, const float* k, const float* v, int64_t pos, int64_t n_kv, int64_t kvh,
                              int64_t head_dim, double scale) {
  std::vector<double> p(static_cast<size_t>(pos + 1));
  double max = -1e300, total = 0;
  for (size_t j = 0; j < p.size(); ++j) {
    double dot = 0;
    for (int64_t i = 0; i < head_dim; ++i) dot += double{q[i]} * k[(j * n_kv + kvh) * head_dim + i];
    p[j] = dot * scale;
    max = std::max(max, p[j]);
  }
  for (auto& e : p) total += (e = std::exp(e - max));
  std::vector<double> out(static_cast<size_t>(head_dim), 0.0);
  for (int64_t i = 0; i < head_dim; ++i)
    for (size_t j = 0; j < p.size(); ++j) out[i] += p[j] / total * v[(j * n_kv + kvh) * head_dim + i];
  return out;
}

struct Case {
  int64_t n_heads, n_kv, head_dim;
  std::vector<int32_t> positions;
  std::vector<int> seq;  // 0 or 1: which of two sequences' caches each token reads
};

// Head-major copy ([kv_head][position][head_dim], KvCache's layout) of [position][kv_head] rows.
std::vector<uint8_t> head_major(const std::vector<uint8_t>& bytes, int64_t n_kv, size_t head_bytes) {
  const int64_t positions = static_cast<int64_t>(bytes.size() / head_bytes) / n_kv;
  std::vector<uint8_t> out(bytes.size());
  for (int64_t p = 0; p < positions; ++p)
    for (int64_t h = 0; h < n_kv; ++h)
      std::copy_n(bytes.begin() + (p * n_kv + h) * head_bytes, head_bytes, out.begin() + (h * positions + p) * head_bytes);
  return out;
}

// Attention over tokens of two sequences in one batch with a `kv_type` cache, laid out
// position-major (the default strides) or head-major (as KvCache). Against the
// double reference on the values the cache (and, for q8_0, the quantized query) holds, to
// float rounding; against the reference on the original f32 values, to `f32_tolerance`, the
// cost of the storage type.
void expect_attention_matches_reference(Backend& backend, DType kv_type, const Case& c, double f32_tolerance,
                                        bool heads_first = false) {
  std::mt19937 rng(3);
  const int64_t n_ctx = *std::max_element(c.positions.begin(), c.positions.end()) + 1;
  const int64_t n = static_cast<int64_t>(c.positions.size()), dim = c.head_dim;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dim));
  std::vector<float> k[2], v[2];
  Stored ks[2], vs[2];
  for (int s = 0; s < 2; ++s) {
    k[s] = random_vector(n_ctx * c.n_kv * dim, rng, 2.0f);
    v[s] = random_vector(k[s].size(), rng);
    ks[s] = store(kv_type, k[s], dim);
    vs[s] = store(kv_type, v[s], dim);
    if (heads_first) {
      ks[s].bytes = head_major(ks[s].bytes, c.n_kv, row_bytes(kv_type, dim));
      vs[s].bytes = head_major(vs[s].bytes, c.n_kv, row_bytes(kv_type, dim));
    }
  }
  const size_t head_bytes = row_bytes(kv_type, dim);
  const size_t position_stride = heads_first ? head_bytes : 0, head_stride = heads_first ? n_ctx * head_bytes : 0;
  std::vector<const void*> kc, vc;
  for (int s : c.seq) {
    kc.push_back(ks[s].bytes.data());
    vc.push_back(vs[s].bytes.data());
  }
  const auto q = random_vector(n * c.n_heads * dim, rng, 2.0f);
  const auto q_held = store(quant_traits(kv_type)->vec_dot_type, q, dim).values;
  std::vector<float> out(q.size());
  backend.attention(q.data(), nullptr, nullptr,
                    AttentionBatch{n, c.positions.data(), kc.data(), vc.data(), kv_type, position_stride, head_stride},
                    c.n_heads, c.n_kv, dim, scale, out.data());
  double worst = 0;
  for (int64_t t = 0; t < n; ++t) {
    const int s = c.seq[t];
    for (int64_t h = 0; h < c.n_heads; ++h) {
      const int64_t kvh = h / (c.n_heads / c.n_kv), row = (t * c.n_heads + h) * dim;
      const auto held = reference(q_held.data() + row, ks[s].values.data(), vs[s].values.data(), c.positions[t], c.n_kv,
                                  kvh, dim, scale);
      const auto exact = reference(q.data() + row, k[s].data(), v[s].data(), c.positions[t], c.n_kv, kvh, dim, scale);
      for (int64_t i = 0; i < dim; ++i) {
        ASSERT_NEAR(out[row + i], held[i], 2e-5) << dtype_name(kv_type) << " token " << t << " head " << h << " dim " << i;
        worst = std::max(worst, std::fabs(out[row + i] - exact[i]));
      }
    }
  }
  EXPECT_LE(worst, f32_tolerance) << "largest difference to the f32 result with a " << dtype_name(kv_type) << " cache";
}

class Attention : public ::testing::TestWithParam<std::tuple<Isa, DType>> {
 protected:
  Isa isa() const { return std::get<0>(GetParam()); }
  DType kv_type() const { return std::get<1>(GetParam()); }
  std::unique_ptr<Backend> backend(int threads = 3) const { return cpu::make_cpu_backend(threads, isa()); }
  // What storing K, V (and for q8_0 the query) costs against f32 on these values (scores of
  // standard deviation ~4, so sharp softmaxes; measured worst cases 3.2e-3 and 7.7e-2).
  double storage_tolerance() const {
    switch (kv_type()) {
      case DType::F32: return 2e-5;
      case DType::F16: return 5e-3;
      default: return 0.1;
    }
  }
};

// Prefill of one sequence and decode of the other, GQA 6 query heads over 2 KV heads.
TEST_P(Attention, MatchesReferenceSoftmax) {
  const int64_t head_dim = kv_type() == DType::Q8_0 ? 64 : 40;  // q8_0 rows are whole 32-blocks
  expect_attention_matches_reference(*backend(), kv_type(), {6, 2, head_dim, {0, 1, 2, 3, 41, 17}, {0, 0, 0, 0, 1, 0}},
                                     storage_tolerance());
}

// Key counts just below, at and past multiples of the key block (64), so the online-softmax
// rescale across blocks and the block tails are exercised; GQA groups 1, 4 and 8 (and 6 and
// 3, which leave partial tiles of query heads), head_dim 64 and 128.
TEST_P(Attention, AcrossKeyBlocks) {
  const std::vector<int32_t> positions = {62, 63, 64, 127, 128, 200, 5};
  const std::vector<int> seq = {0, 0, 0, 1, 0, 1, 1};
  for (const auto& [n_heads, n_kv, head_dim] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{
           {4, 4, 64}, {8, 2, 128}, {8, 1, 64}, {6, 1, 128}, {6, 2, 64}}) {
    SCOPED_TRACE(std::to_string(n_heads) + " heads over " + std::to_string(n_kv) + ", head_dim " +
                 std::to_string(head_dim));
    for (bool heads_first : {false, true})
      expect_attention_matches_reference(*backend(), kv_type(), {n_heads, n_kv, head_dim, positions, seq},
                                         storage_tolerance(), heads_first);
  }
}

// One decode token whose KV heads do not divide among the threads: the key range is split
// and the partial softmax states merged; a short context is not split.
TEST_P(Attention, DecodeSplitAcrossThreads) {
  for (int threads : {2, 3}) {
    for (int64_t n_kv : {1, 2, 4}) {
      for (int32_t pos : {1, 300, 1000}) {
        SCOPED_TRACE(std::to_string(threads) + " threads, " + std::to_string(n_kv) + " KV heads, position " +
                     std::to_string(pos));
        expect_attention_matches_reference(*backend(threads), kv_type(), {4 * n_kv, n_kv, 64, {pos}, {0}},
                                           storage_tolerance(), /*heads_first=*/true);
      }
    }
  }
}

TEST_P(Attention, SoftmaxIsStableForLargeScores) {
  if (kv_type() != DType::F32) GTEST_SKIP() << "exact values need an f32 cache";
  const int64_t head_dim = 4;
  const std::vector<float> k = {100, 0, 0, 0, 101, 0, 0, 0}, v = {1, 2, 3, 4, 5, 6, 7, 8};
  const std::vector<float> q = {100, 0, 0, 0};  // scores 10000 and 10100: exp overflows without the max shift
  const int32_t pos = 1;
  const void* kc = k.data();
  const void* vc = v.data();
  std::vector<float> out(4);
  backend()->attention(q.data(), nullptr, nullptr, AttentionBatch{1, &pos, &kc, &vc, DType::F32}, 1, 1, head_dim, 1.0f, out.data());
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(out[i], v[4 + i]);
}

TEST_P(Attention, RejectsQueryHeadsThatDoNotShareEvenly) {
  const std::vector<float> kv(64), q(3 * 32);
  std::vector<float> out(q.size());
  const int32_t pos = 0;
  const void* row = kv.data();
  EXPECT_THROW(backend()->attention(q.data(), nullptr, nullptr, AttentionBatch{1, &pos, &row, &row, DType::F32}, 3, 2, 32, 1.0f,
                                    out.data()),
               Error);
}

INSTANTIATE_TEST_SUITE_P(IsasAndCacheTypes, Attention,
                         ::testing::Combine(::testing::ValuesIn(cpu::supported_isas()),
                                            ::testing::Values(DType::F32, DType::F16, DType::Q8_0)),
                         [](const auto& info) {
                           std::string name = std::string(cpu::isa_name(std::get<0>(info.param))) + "_" +
                                              std::string(dtype_name(std::get<1>(info.param)));
                           std::replace(name.begin(), name.end(), '-', '_');  // gtest names: [A-Za-z0-9_]
                           return name;
                         });

}  // namespace
}  // namespace orchard
