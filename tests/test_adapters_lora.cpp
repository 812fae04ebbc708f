// LoRA / DoRA on one matrix, checked against the formulas computed in double by hand:
// y = x W^T + s x A^T B^T for LoRA, times m / ||W + s B A||_row for DoRA.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "adapters/lora.h"
#include "core/error.h"
#include "quant/quant.h"

namespace orchard {
namespace {

Tensor random_matrix(DType dtype, int64_t rows, int64_t cols, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 0.5f);
  std::vector<float> values(rows * cols);
  for (float& v : values) v = normal(rng);
  Tensor t = Tensor::zeros(dtype, {rows, cols});
  for (int64_t r = 0; r < rows; ++r) quantize_row(dtype, values.data() + r * cols, const_cast<uint8_t*>(t.row(r)), cols);
  return t;
}

// A two-block model source holding only what adapters look at.
ModelSource two_block_source(DType dtype, int64_t dim, std::mt19937& rng) {
  ModelSource source;
  source.path = "two-blocks.gguf";
  for (int l = 0; l < 2; ++l) {
    const std::string blk = "blk." + std::to_string(l) + ".";
    source.tensors[blk + "attn_norm.weight"] = Tensor::zeros(DType::F32, {dim});
    for (const char* name : {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"})
      source.tensors[blk + name + ".weight"] = random_matrix(dtype, dim, dim, rng);
  }
  return source;
}

void fill_random(Tensor& t, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 0.3f);
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = normal(rng);
}

// What the adapted matmul must give, in double: y_base + s B (A x) for LoRA, and times
// m / ||W + s B A||_row for DoRA (W dequantized). y_base is the backend's own x W^T: for a
// quantized W it carries the int8 activation rounding, which the adapter does not change.
std::vector<double> adapted_reference(const Tensor& w, const LoraAdapter& a, const std::vector<float>& x,
                                      const std::vector<float>& y_base, int64_t n) {
  const int64_t out = w.dim(0), in = w.dim(1), rank = a.rank();
  std::vector<double> factor(out, 1.0);
  if (!a.magnitude.empty()) {
    std::vector<float> row(in);
    for (int64_t r = 0; r < out; ++r) {
      dequantize_row(w.dtype(), w.row(r), row.data(), in);
      double norm = 0;
      for (int64_t i = 0; i < in; ++i) {
        double v = row[i];
        for (int64_t k = 0; k < rank; ++k) v += a.scale * double(a.b.f32()[r * rank + k]) * a.a.f32()[k * in + i];
        norm += v * v;
      }
      factor[r] = a.magnitude.f32()[r] / std::sqrt(norm);
    }
  }
  std::vector<double> y(n * out);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t r = 0; r < out; ++r) {
      double path = 0;
      for (int64_t k = 0; k < rank; ++k) {
        double ax = 0;
        for (int64_t i = 0; i < in; ++i) ax += double(a.a.f32()[k * in + i]) * x[t * in + i];
        path += double(a.b.f32()[r * rank + k]) * ax;
      }
      y[t * out + r] = factor[r] * (y_base[t * out + r] + a.scale * path);
    }
  return y;
}

class LoraOnWeight : public ::testing::TestWithParam<std::tuple<DType, bool>> {};

TEST_P(LoraOnWeight, AdaptedBackendMatchesTheMergedWeight) {
  const auto [dtype, dora] = GetParam();
  std::mt19937 rng(7);
  const int64_t dim = 64, n = 5;
  ModelSource source = two_block_source(dtype, dim, rng);
  LoraConfig config{.rank = 4, .scale = 2.0f, .dora = dora, .targets = {"attn_q", "attn_v"}, .num_layers = 1};
  auto set = std::make_shared<AdapterSet>(AdapterSet::create(source, config, 3));
  ASSERT_EQ(set->adapters().size(), 2u);  // the last block's q and v only
  EXPECT_EQ(set->adapters()[0].weight_name, "blk.1.attn_q.weight");
  EXPECT_EQ(set->parameter_count(), 2 * (4 * dim + dim * 4 + (dora ? dim : 0)));
  for (float v : std::vector<float>(set->adapters()[0].b.f32(), set->adapters()[0].b.f32() + dim * 4)) EXPECT_EQ(v, 0.0f);
  for (LoraAdapter& a : set->adapters()) {
    fill_random(a.b, rng);  // B = 0 at init would make the test unable to fail
    if (dora)
      for (int64_t r = 0; r < dim; ++r) a.magnitude.f32()[r] *= 0.5f + 0.01f * r;
  }

  std::vector<float> x(n * dim);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float& v : x) v = normal(rng);
  auto adapted = make_adapted_backend(std::shared_ptr<Backend>(make_cpu_backend(1)), set, source);

  const Tensor& wq = source.require("blk.1.attn_q.weight");
  std::vector<float> y(n * dim), y_base(n * dim);
  adapted->matmul(wq, x.data(), y.data(), n);
  make_cpu_backend(1)->matmul(wq, x.data(), y_base.data(), n);
  const auto want = adapted_reference(wq, *set->find(&wq), x, y_base, n);
  for (int64_t i = 0; i < n * dim; ++i) EXPECT_NEAR(y[i], want[i], 2e-3 * (1 + std::fabs(want[i]))) << i;

  // A weight without an adapter is multiplied as stored.
  const Tensor& wk = source.require("blk.1.attn_k.weight");
  EXPECT_EQ(set->find(&wk), nullptr);
  std::vector<float> plain(n * dim), base(n * dim);
  adapted->matmul(wk, x.data(), plain.data(), n);
  make_cpu_backend(1)->matmul(wk, x.data(), base.data(), n);
  EXPECT_EQ(plain, base);
}

INSTANTIATE_TEST_SUITE_P(LoraAndDora, LoraOnWeight,
                         ::testing::Combine(::testing::Values(DType::F32, DType::Q8_0, DType::Q4_0), ::testing::Bool()));

TEST(Lora, DoraStartsAtTheBaseModel) {
  std::mt19937 rng(1);
  ModelSource source = two_block_source(DType::F32, 32, rng);
  const AdapterSet set = AdapterSet::create(source, LoraConfig{.dora = true}, 1);
  const Tensor& w = source.require("blk.0.attn_v.weight");
  std::vector<float> factor(32);
  dora_row_factor(w, *set.find(&w), factor.data());
  for (float f : factor) EXPECT_NEAR(f, 1.0f, 1e-5f);  // m = ||W||, B = 0
}

TEST(Lora, RejectsUnknownTargetsAndMisfits) {
  std::mt19937 rng(1);
  ModelSource source = two_block_source(DType::F32, 32, rng);
  EXPECT_THROW(AdapterSet::create(source, LoraConfig{.targets = {"attn_qq"}}, 1), Error);
  EXPECT_THROW(AdapterSet::create(source, LoraConfig{.rank = 0}, 1), Error);
  AdapterSet set = AdapterSet::create(source, LoraConfig{.targets = {"all"}}, 1);
  EXPECT_EQ(set.adapters().size(), 14u);  // 2 blocks x 7 matrices
  ModelSource without_v = source;
  without_v.tensors.erase("blk.1.attn_v.weight");
  EXPECT_THROW(AdapterSet::create(without_v, LoraConfig{}, 1), Error);
  EXPECT_THROW(set.bind(without_v), Error);
  set.adapters()[0].a = Tensor::zeros(DType::F32, {8, 31});
  EXPECT_THROW(set.bind(source), Error);
}

}  // namespace
}  // namespace orchard
