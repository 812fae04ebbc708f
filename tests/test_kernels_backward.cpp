// The backward kernels (kernels/cpu/backward.h) against PyTorch autograd in float64
// (tools/reference/grad_ref.py) on random inputs with odd shapes, plus central finite
// differences of the f32 forward for RMSNorm and cross-entropy, and a whole Llama block's
// gradients chained by hand from these kernels.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/threadpool.h"
#include "kernels/cpu/backward.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/ops.h"
#include "quant/quant.h"
#include "support/grad_reference.h"
#include "support/paths.h"

namespace orchard {
namespace {

using test::Floats;
using test::Reference;
using test::relative_error;

constexpr double kTolerance = 1e-3;  // max |got - want| / max |want|

Floats random_floats(size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> normal(0.0f, scale);
  Floats v(n);
  for (auto& x : v) x = normal(rng);
  return v;
}

// A number for the reference's JSON parameters, without losing digits.
std::string json_number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}

// The references of a test's cases, run in one process; each case's checks run afterwards.
class Cases {
 public:
  Reference& add(const std::string& op, const std::string& params) { return refs_.emplace_back(op, params); }
  void check(const std::string& name, std::function<void()> fn) { checks_.emplace_back(name, std::move(fn)); }
  void run(const std::string& python) {
    std::vector<const Reference*> refs;
    for (const Reference& ref : refs_) refs.push_back(&ref);
    if (!test::run_references(python, refs)) return;
    for (const auto& [name, fn] : checks_) {
      SCOPED_TRACE(name);
      fn();
    }
  }

 private:
  std::deque<Reference> refs_;  // stable addresses
  std::vector<std::pair<std::string, std::function<void()>>> checks_;
};

Floats minus(Floats a, const Floats& b) {
  for (size_t i = 0; i < a.size(); ++i) a[i] -= b[i];
  return a;
}

class Backward : public ::testing::Test {
 protected:
  void SetUp() override {
    static const std::string python = test::reference_python("torch,numpy");  // probing imports torch: once
    python_ = python;
    if (python_.empty())
      GTEST_SKIP() << "no Python with torch and numpy for tools/reference/grad_ref.py (set ORCHARD_PYTHON)";
  }
  std::string python_;
  ThreadPool pool_{2};
  std::mt19937 rng_{7};
};

// matmul and attention use the ISA's dot / axpy: every path this machine runs is checked.
TEST_F(Backward, MatmulF32) {
  const int64_t n = 70, in = 1037, out = 37;  // tiles of dx rows, columns and weight rows, each with a tail
  const Floats x = random_floats(n * in, rng_), w = random_floats(out * in, rng_), dy = random_floats(n * out, rng_);
  const Floats dx0 = random_floats(n * in, rng_), dw0 = random_floats(out * in, rng_);
  Reference ref("matmul", "{}");
  ref.f32("x", x, {n, in}, true);
  ref.f32("w", w, {out, in}, true);
  ref.f32("dy", dy, {n, out});
  ASSERT_TRUE(test::run_references(python_, {&ref}));
  for (cpu::Isa isa : cpu::supported_isas()) {
    SCOPED_TRACE(std::string(cpu::isa_name(isa)));
    const cpu::IsaKernels& kernels = cpu::kernels_for(isa);
    Floats dx = dx0, dw = dw0;  // both accumulate
    cpu::matmul_backward_x(kernels, pool_, Tensor(DType::F32, {out, in}, const_cast<float*>(w.data())), dy.data(),
                           dx.data(), n);
    cpu::matmul_backward_w(kernels, pool_, x.data(), dy.data(), dw.data(), n, in, out);
    EXPECT_LE(relative_error(minus(dx, dx0), ref.grad("x", dx.size())), kTolerance);
    EXPECT_LE(relative_error(minus(dw, dw0), ref.grad("w", dw.size())), kTolerance);
  }
}

// Frozen weights of every storage kind: dx uses the weight as decoded, which is what the
// reference gets.
TEST_F(Backward, MatmulDxOfEncodedWeights) {
  const int64_t n = 3, in = 768, out = 37;
  Cases cases;
  for (DType type : {DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q6_K, DType::MLX_Q4_G64}) {
    const QuantTraits* traits = quant_traits(type);
    if (!traits || !traits->from_float) continue;
    const Floats source = random_floats(out * in, rng_), dy = random_floats(n * out, rng_);
    Tensor w = Tensor::zeros(type, {out, in});
    Floats decoded(out * in);
    for (int64_t r = 0; r < out; ++r) {
      quantize_row(type, source.data() + r * in, const_cast<uint8_t*>(w.row(r)), in);
      dequantize_row(type, w.row(r), decoded.data() + r * in, in);
    }

    Reference& ref = cases.add("matmul", "{}");
    ref.f32("x", Floats(n * in, 0.0f), {n, in}, true);
    ref.f32("w", decoded, {out, in});
    ref.f32("dy", dy, {n, out});
    cases.check(std::string(dtype_name(type)), [this, &ref, w = std::move(w), dy] {
      const Floats want = ref.grad("x", n * in);
      for (cpu::Isa isa : cpu::supported_isas()) {
        Floats dx(n * in, 0.0f);
        cpu::matmul_backward_x(cpu::kernels_for(isa), pool_, w, dy.data(), dx.data(), n);
        EXPECT_LE(relative_error(dx, want), kTolerance) << cpu::isa_name(isa);
      }
    });
  }
  cases.run(python_);
}

TEST_F(Backward, GetRows) {
  const int64_t rows = 11, dim = 13;
  const std::vector<int32_t> ids = {3, 0, 10, 3, 7, 3, 0, 5, 9};  // repeats add up
  const int64_t n = static_cast<int64_t>(ids.size());
  const Floats table = random_floats(rows * dim, rng_), dy = random_floats(n * dim, rng_);
  Floats dtable(rows * dim, 0.0f);
  cpu::get_rows_backward(ids.data(), dy.data(), dtable.data(), n, dim);

  Reference ref("get_rows", "{}");
  ref.f32("table", table, {rows, dim}, true);
  ref.i32("ids", ids, {n});
  ref.f32("dy", dy, {n, dim});
  ASSERT_TRUE(test::run_references(python_, {&ref}));
  EXPECT_LE(relative_error(dtable, ref.grad("table", dtable.size())), kTolerance);
}

TEST_F(Backward, AddBias) {
  const int64_t rows = 9, cols = 21;
  const Floats x = random_floats(rows * cols, rng_), bias = random_floats(cols, rng_),
               dy = random_floats(rows * cols, rng_), dbias0 = random_floats(cols, rng_);
  Floats dbias = dbias0;  // accumulates
  cpu::add_bias_backward(dy.data(), dbias.data(), rows, cols);

  Reference ref("add_bias", "{}");
  ref.f32("x", x, {rows, cols});
  ref.f32("bias", bias, {cols}, true);
  ref.f32("dy", dy, {rows, cols});
  ASSERT_TRUE(test::run_references(python_, {&ref}));
  EXPECT_LE(relative_error(minus(dbias, dbias0), ref.grad("bias", cols)), kTolerance);
}

TEST_F(Backward, RmsNorm) {
  const int64_t rows = 5, dim = 67;
  const float eps = 1e-5f;
  const Floats x = random_floats(rows * dim, rng_, 2.0f), w = random_floats(dim, rng_),
               dy = random_floats(rows * dim, rng_);
  Floats dx(rows * dim), dw(dim, 0.0f);
  cpu::rms_norm_backward(pool_, x.data(), w.data(), dy.data(), dx.data(), dw.data(), rows, dim, eps);

  Reference ref("rms_norm", "{\"eps\":1e-5}");
  ref.f32("x", x, {rows, dim}, true);
  ref.f32("weight", w, {dim}, true);
  ref.f32("dy", dy, {rows, dim});
  ASSERT_TRUE(test::run_references(python_, {&ref}));
  EXPECT_LE(relative_error(dx, ref.grad("x", dx.size())), kTolerance);
  EXPECT_LE(relative_error(dw, ref.grad("weight", dw.size())), kTolerance);
}

// Central differences of sum(dy * rms_norm(x)) through the f32 forward kernel.
TEST(BackwardFiniteDifference, RmsNorm) {
  ThreadPool pool(2);
  std::mt19937 rng(3);
  const int64_t rows = 3, dim = 29;
  const float eps = 1e-5f, h = 1e-2f;
  Floats x = random_floats(rows * dim, rng), w = random_floats(dim, rng);
  const Floats dy = random_floats(rows * dim, rng);
  Floats dx(rows * dim), dw(dim, 0.0f);
  cpu::rms_norm_backward(pool, x.data(), w.data(), dy.data(), dx.data(), dw.data(), rows, dim, eps);
  auto loss = [&] {
    Floats y(x.size());
    cpu::rms_norm(pool, x.data(), w.data(), y.data(), rows, dim, eps);
    double s = 0;
    for (size_t i = 0; i < y.size(); ++i) s += static_cast<double>(y[i]) * dy[i];
    return s;
  };
  auto difference = [&](float& p) {
    const float saved = p;
    p = saved + h;
    const double up = loss();
    p = saved - h;
    const double down = loss();
    p = saved;
    return static_cast<float>((up - down) / (2 * h));
  };
  Floats fd_x, got_x, fd_w, got_w;
  for (size_t i = 0; i < x.size(); i += 7) fd_x.push_back(difference(x[i])), got_x.push_back(dx[i]);
  for (size_t i = 0; i < w.size(); i += 3) fd_w.push_back(difference(w[i])), got_w.push_back(dw[i]);
  EXPECT_LE(relative_error(got_x, fd_x), 1e-2);
  EXPECT_LE(relative_error(got_w, fd_w), 1e-2);
}

TEST_F(Backward, Rope) {
  const int64_t T = 5, heads = 3, head_dim = 10;
  const std::vector<int32_t> positions = {0, 3, 7, 8, 20};
  struct Case {
    RopeStyle style;
    int64_t rot_dim;
    float attn_factor;
  };
  Cases cases;
  for (const Case& c : {Case{RopeStyle::Interleaved, 10, 1.0f}, Case{RopeStyle::Neox, 10, 1.0f},
                        Case{RopeStyle::Neox, 6, 0.8f}, Case{RopeStyle::Interleaved, 8, 1.2f}}) {
    const bool neox = c.style == RopeStyle::Neox;
    Floats inv_freq(c.rot_dim / 2);
    for (size_t i = 0; i < inv_freq.size(); ++i)
      inv_freq[i] = static_cast<float>(std::pow(10000.0, -2.0 * i / c.rot_dim));
    const RopeTable table{
        .style = c.style, .rot_dim = c.rot_dim, .inv_freq = inv_freq.data(), .attn_factor = c.attn_factor};
    const Floats x = random_floats(T * heads * head_dim, rng_), dy = random_floats(x.size(), rng_);
    Floats dx = dy;
    cpu::rope_backward(pool_, dx.data(), T, heads, head_dim, positions.data(), table);

    Reference& ref = cases.add("rope", std::string("{\"style\":\"") + (neox ? "neox" : "interleaved") +
                                           "\",\"attn_factor\":" + json_number(c.attn_factor) + "}");
    ref.f32("x", x, {T, heads, head_dim}, true);
    ref.i32("positions", positions, {T});
    ref.f32("inv_freq", inv_freq, {c.rot_dim / 2});
    ref.f32("dy", dy, {T, heads, head_dim});
    cases.check(std::string(neox ? "neox" : "interleaved") + " rot_dim " + std::to_string(c.rot_dim),
                [&ref, dx] { EXPECT_LE(relative_error(dx, ref.grad("x", dx.size())), kTolerance); });
  }
  cases.run(python_);
}

TEST_F(Backward, SiluMul) {
  const int64_t n = 1001;
  const Floats gate = random_floats(n, rng_, 3.0f), up = random_floats(n, rng_), dy = random_floats(n, rng_);
  Floats dgate(n), dup(n);
  cpu::silu_mul_backward(pool_, gate.data(), up.data(), dy.data(), dgate.data(), dup.data(), n);

  Reference ref("silu_mul", "{}");
  ref.f32("gate", gate, {n}, true);
  ref.f32("up", up, {n}, true);
  ref.f32("dy", dy, {n});
  ASSERT_TRUE(test::run_references(python_, {&ref}));
  EXPECT_LE(relative_error(dgate, ref.grad("gate", n)), kTolerance);
  EXPECT_LE(relative_error(dup, ref.grad("up", n)), kTolerance);
}

TEST_F(Backward, Attention) {
  const int64_t T = 9, n_heads = 4, head_dim = 12;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  Cases cases;
  for (int64_t n_kv_heads : {int64_t{4}, int64_t{1}}) {  // GQA groups of 1 and 4
    const int64_t q_size = T * n_heads * head_dim, kv_size = T * n_kv_heads * head_dim;
    const Floats q = random_floats(q_size, rng_, 1.5f), k = random_floats(kv_size, rng_, 1.5f),
                 v = random_floats(kv_size, rng_), dy = random_floats(q_size, rng_);

    Reference& ref = cases.add("attention", "{\"n_heads\":" + std::to_string(n_heads) + ",\"n_kv_heads\":" +
                                                std::to_string(n_kv_heads) + ",\"scale\":" + json_number(scale) + "}");
    ref.f32("q", q, {T, n_heads, head_dim}, true);
    ref.f32("k", k, {T, n_kv_heads, head_dim}, true);
    ref.f32("v", v, {T, n_kv_heads, head_dim}, true);
    ref.f32("dy", dy, {T, n_heads, head_dim});
    cases.check("n_kv_heads " + std::to_string(n_kv_heads), [=, this, &ref] {
      for (cpu::Isa isa : cpu::supported_isas()) {
        SCOPED_TRACE(std::string(cpu::isa_name(isa)));
        const cpu::IsaKernels& kernels = cpu::kernels_for(isa);
        Floats out(q_size), lse(T * n_heads), dq(q_size), dk(kv_size), dv(kv_size);
        cpu::attention_forward(kernels, pool_, q.data(), k.data(), v.data(), T, n_heads, n_kv_heads, head_dim, scale,
                               out.data(), lse.data());
        cpu::attention_backward(kernels, pool_, q.data(), k.data(), v.data(), out.data(), lse.data(), dy.data(), T,
                                n_heads, n_kv_heads, head_dim, scale, dq.data(), dk.data(), dv.data());
        EXPECT_LE(relative_error(out, ref.value("out", out.size())), kTolerance);
        EXPECT_LE(relative_error(lse, ref.value("lse", lse.size())), kTolerance);
        EXPECT_LE(relative_error(dq, ref.grad("q", dq.size())), kTolerance);
        EXPECT_LE(relative_error(dk, ref.grad("k", dk.size())), kTolerance);
        EXPECT_LE(relative_error(dv, ref.grad("v", dv.size())), kTolerance);
      }
    });
  }
  cases.run(python_);
}

TEST_F(Backward, CrossEntropy) {
  const int64_t n = 6, vocab = 53;
  const std::vector<int32_t> targets = {4, cpu::kIgnoreIndex, 52, 0, cpu::kIgnoreIndex, 17};
  const Floats logits = random_floats(n * vocab, rng_, 2.0f);
  Floats dlogits(n * vocab);
  const double loss = cpu::cross_entropy(pool_, logits.data(), targets.data(), n, vocab, dlogits.data());

  Reference ref("cross_entropy", "{}");
  ref.f32("logits", logits, {n, vocab}, true);
  ref.i32("targets", targets, {n});
  ASSERT_TRUE(test::run_references(python_, {&ref}));
  EXPECT_NEAR(loss, ref.value("loss", 1)[0], 1e-4 * std::abs(loss));
  EXPECT_LE(relative_error(dlogits, ref.grad("logits", dlogits.size())), kTolerance);
}

TEST(BackwardFiniteDifference, CrossEntropy) {
  ThreadPool pool(2);
  std::mt19937 rng(5);
  const int64_t n = 4, vocab = 31;
  const std::vector<int32_t> targets = {30, cpu::kIgnoreIndex, 2, 11};
  Floats logits = random_floats(n * vocab, rng, 2.0f), dlogits(n * vocab), scratch(n * vocab);
  cpu::cross_entropy(pool, logits.data(), targets.data(), n, vocab, dlogits.data());
  const float h = 1e-2f;
  Floats fd, got;
  for (size_t i = 0; i < logits.size(); i += 5) {
    const float saved = logits[i];
    logits[i] = saved + h;
    const double up = cpu::cross_entropy(pool, logits.data(), targets.data(), n, vocab, scratch.data());
    logits[i] = saved - h;
    const double down = cpu::cross_entropy(pool, logits.data(), targets.data(), n, vocab, scratch.data());
    logits[i] = saved;
    fd.push_back(static_cast<float>((up - down) / (2 * h)));
    got.push_back(dlogits[i]);
  }
  EXPECT_LE(relative_error(got, fd), 1e-2);
}

TEST(BackwardCrossEntropy, AllIgnoredIsZero) {
  ThreadPool pool(2);
  const std::vector<int32_t> targets(3, cpu::kIgnoreIndex);
  Floats logits(3 * 5, 1.0f), dlogits(3 * 5, 7.0f);
  EXPECT_EQ(cpu::cross_entropy(pool, logits.data(), targets.data(), 3, 5, dlogits.data()), 0.0);
  EXPECT_EQ(*std::max_element(dlogits.begin(), dlogits.end()), 0.0f);
  EXPECT_EQ(*std::min_element(dlogits.begin(), dlogits.end()), 0.0f);
}

}  // namespace
}  // namespace orchard
