// The backward kernels compose: a tiny Llama block (embedding, attention and SwiGLU halves with
// residuals, an output matmul and cross-entropy) run forward with the backend's ops and
// differentiated by chaining the kernels of kernels/cpu/backward.h by hand, against PyTorch
// autograd of the same block (grad_ref.py's "block" op) for every parameter's gradient.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/threadpool.h"
#include "kernels/cpu/backward.h"
#include "kernels/cpu/isa.h"
#include "support/grad_reference.h"
#include "support/paths.h"

namespace orchard {
namespace {

using test::Floats;

constexpr double kTolerance = 1e-3;

Floats random_floats(size_t n, std::mt19937& rng, float scale) {
  std::normal_distribution<float> normal(0.0f, scale);
  Floats v(n);
  for (auto& x : v) x = normal(rng);
  return v;
}

void add(Floats& y, const Floats& x) {
  for (size_t i = 0; i < y.size(); ++i) y[i] += x[i];
}

// embd, q_dim and ff are whole 32s: the forward matmul takes its inputs in blocks of 32.
struct Dims {
  int64_t T = 7, vocab = 19, embd = 32, n_heads = 4, n_kv_heads = 2, head_dim = 8, ff = 96;
  int64_t q_dim() const { return n_heads * head_dim; }
  int64_t kv_dim() const { return n_kv_heads * head_dim; }
};

// Parameters (or their gradients).
struct Params {
  Floats table, attn_norm, wq, wk, wv, wo, ffn_norm, wgate, wup, wdown, wout;
};

struct Named {
  const char* name;  // as grad_ref.py's block calls it
  Floats* data;
  Shape shape;
};

std::vector<Named> named(Params& p, const Dims& d) {
  const int64_t E = d.embd, F = d.ff, V = d.vocab, Q = d.q_dim(), KV = d.kv_dim();
  return {{"table", &p.table, {V, E}},    {"attn_norm", &p.attn_norm, {E}}, {"wq", &p.wq, {Q, E}},
          {"wk", &p.wk, {KV, E}},         {"wv", &p.wv, {KV, E}},           {"wo", &p.wo, {E, Q}},
          {"ffn_norm", &p.ffn_norm, {E}}, {"wgate", &p.wgate, {F, E}},      {"wup", &p.wup, {F, E}},
          {"wdown", &p.wdown, {E, F}},    {"wout", &p.wout, {V, E}}};
}

Tensor view(Floats& w, int64_t rows, int64_t cols) { return Tensor(DType::F32, {rows, cols}, w.data()); }

class BackwardBlock : public ::testing::TestWithParam<RopeStyle> {};

TEST_P(BackwardBlock, MatchesAutograd) {
  const std::string python = test::reference_python("torch,numpy");
  if (python.empty())
    GTEST_SKIP() << "no Python with torch and numpy for tools/reference/grad_ref.py (set ORCHARD_PYTHON)";
  const Dims s;
  const int64_t T = s.T, E = s.embd, F = s.ff, V = s.vocab, Q = s.q_dim(), KV = s.kv_dim();
  const float eps = 1e-5f, scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));
  std::mt19937 rng(11);
  const float ws = 1.0f / std::sqrt(static_cast<float>(E));
  Params p{.table = random_floats(V * E, rng, 1.0f),
           .attn_norm = random_floats(E, rng, 1.0f),
           .wq = random_floats(Q * E, rng, ws),
           .wk = random_floats(KV * E, rng, ws),
           .wv = random_floats(KV * E, rng, ws),
           .wo = random_floats(E * Q, rng, ws),
           .ffn_norm = random_floats(E, rng, 1.0f),
           .wgate = random_floats(F * E, rng, ws),
           .wup = random_floats(F * E, rng, ws),
           .wdown = random_floats(E * F, rng, 1.0f / std::sqrt(static_cast<float>(F))),
           .wout = random_floats(V * E, rng, ws)};
  const std::vector<int32_t> ids = {3, 17, 3, 0, 9, 18, 3};  // a repeated id: its rows' gradients add
  const std::vector<int32_t> targets = {17, 3, cpu::kIgnoreIndex, 9, 18, 3, cpu::kIgnoreIndex};
  const std::vector<int32_t> positions = {0, 1, 2, 3, 4, 5, 6};
  Floats inv_freq(s.head_dim / 2);
  for (size_t i = 0; i < inv_freq.size(); ++i)
    inv_freq[i] = static_cast<float>(std::pow(10000.0, -2.0 * i / s.head_dim));
  const RopeTable rope{.style = GetParam(), .rot_dim = s.head_dim, .inv_freq = inv_freq.data()};

  // Forward, keeping what the backward needs.
  auto be = make_cpu_backend(1);
  ThreadPool pool(2);
  const cpu::IsaKernels& kernels = cpu::kernels_for(cpu::selected_isa());
  Floats x0(T * E), h1(T * E), q(T * Q), k(T * KV), v(T * KV), attn(T * Q), lse(T * s.n_heads), x1(T * E);
  Floats h2(T * E), gate(T * F), up(T * F), act(T * F), x2(T * E), logits(T * V), dlogits(T * V);
  be->get_rows(view(p.table, V, E), ids.data(), T, x0.data());
  be->rms_norm(x0.data(), p.attn_norm.data(), h1.data(), T, E, eps);
  be->matmul(view(p.wq, Q, E), h1.data(), q.data(), T);
  be->matmul(view(p.wk, KV, E), h1.data(), k.data(), T);
  be->matmul(view(p.wv, KV, E), h1.data(), v.data(), T);
  be->rope(q.data(), T, s.n_heads, s.head_dim, positions.data(), rope);
  be->rope(k.data(), T, s.n_kv_heads, s.head_dim, positions.data(), rope);
  cpu::attention_forward(kernels, pool, q.data(), k.data(), v.data(), T, s.n_heads, s.n_kv_heads, s.head_dim, scale,
                         attn.data(), lse.data());
  be->matmul(view(p.wo, E, Q), attn.data(), x1.data(), T);
  add(x1, x0);
  be->rms_norm(x1.data(), p.ffn_norm.data(), h2.data(), T, E, eps);
  be->matmul(view(p.wgate, F, E), h2.data(), gate.data(), T);
  be->matmul(view(p.wup, F, E), h2.data(), up.data(), T);
  act = gate;
  be->silu_mul(act.data(), up.data(), T * F);
  be->matmul(view(p.wdown, E, F), act.data(), x2.data(), T);
  add(x2, x1);
  be->matmul(view(p.wout, V, E), x2.data(), logits.data(), T);
  const double loss = cpu::cross_entropy(pool, logits.data(), targets.data(), T, V, dlogits.data());

  // Backward, in reverse.
  Params g = p;
  for (const Named& n : named(g, s)) n.data->assign(n.data->size(), 0.0f);
  Floats dx2(T * E), dact(T * F), dgate(T * F), dup(T * F), dh2(T * E), dx1(T * E), dattn(T * Q);
  Floats dq(T * Q), dk(T * KV), dv(T * KV), dh1(T * E), dx0(T * E);
  cpu::matmul_backward_x(kernels, pool, view(p.wout, V, E), dlogits.data(), dx2.data(), T);
  cpu::matmul_backward_w(kernels, pool, x2.data(), dlogits.data(), g.wout.data(), T, E, V);
  // MLP half: x2 = x1 + down(silu(gate(h2)) * up(h2)), h2 = rms_norm(x1).
  cpu::matmul_backward_x(kernels, pool, view(p.wdown, E, F), dx2.data(), dact.data(), T);
  cpu::matmul_backward_w(kernels, pool, act.data(), dx2.data(), g.wdown.data(), T, F, E);
  cpu::silu_mul_backward(pool, gate.data(), up.data(), dact.data(), dgate.data(), dup.data(), T * F);
  cpu::matmul_backward_x(kernels, pool, view(p.wgate, F, E), dgate.data(), dh2.data(), T);
  cpu::matmul_backward_x(kernels, pool, view(p.wup, F, E), dup.data(), dh2.data(), T);
  cpu::matmul_backward_w(kernels, pool, h2.data(), dgate.data(), g.wgate.data(), T, E, F);
  cpu::matmul_backward_w(kernels, pool, h2.data(), dup.data(), g.wup.data(), T, E, F);
  cpu::rms_norm_backward(pool, x1.data(), p.ffn_norm.data(), dh2.data(), dx1.data(), g.ffn_norm.data(), T, E, eps);
  add(dx1, dx2);  // the residual
  // Attention half: x1 = x0 + o(attention(rope(q(h1)), rope(k(h1)), v(h1))), h1 = rms_norm(x0).
  cpu::matmul_backward_x(kernels, pool, view(p.wo, E, Q), dx1.data(), dattn.data(), T);
  cpu::matmul_backward_w(kernels, pool, attn.data(), dx1.data(), g.wo.data(), T, Q, E);
  cpu::attention_backward(kernels, pool, q.data(), k.data(), v.data(), attn.data(), lse.data(), dattn.data(), T,
                          s.n_heads, s.n_kv_heads, s.head_dim, scale, dq.data(), dk.data(), dv.data());
  cpu::rope_backward(pool, dq.data(), T, s.n_heads, s.head_dim, positions.data(), rope);
  cpu::rope_backward(pool, dk.data(), T, s.n_kv_heads, s.head_dim, positions.data(), rope);
  cpu::matmul_backward_x(kernels, pool, view(p.wq, Q, E), dq.data(), dh1.data(), T);
  cpu::matmul_backward_x(kernels, pool, view(p.wk, KV, E), dk.data(), dh1.data(), T);
  cpu::matmul_backward_x(kernels, pool, view(p.wv, KV, E), dv.data(), dh1.data(), T);
  cpu::matmul_backward_w(kernels, pool, h1.data(), dq.data(), g.wq.data(), T, E, Q);
  cpu::matmul_backward_w(kernels, pool, h1.data(), dk.data(), g.wk.data(), T, E, KV);
  cpu::matmul_backward_w(kernels, pool, h1.data(), dv.data(), g.wv.data(), T, E, KV);
  cpu::rms_norm_backward(pool, x0.data(), p.attn_norm.data(), dh1.data(), dx0.data(), g.attn_norm.data(), T, E, eps);
  add(dx0, dx1);
  cpu::get_rows_backward(ids.data(), dx0.data(), g.table.data(), T, E);

  char params[256];
  std::snprintf(
      params, sizeof params,
      "{\"n_heads\":%lld,\"n_kv_heads\":%lld,\"head_dim\":%lld,\"eps\":%.17g,\"scale\":%.17g,\"style\":\"%s\"}",
      static_cast<long long>(s.n_heads), static_cast<long long>(s.n_kv_heads), static_cast<long long>(s.head_dim),
      static_cast<double>(eps), static_cast<double>(scale), GetParam() == RopeStyle::Neox ? "neox" : "interleaved");
  test::Reference ref("block", params);
  for (const Named& n : named(p, s)) ref.f32(n.name, *n.data, n.shape, true);
  ref.i32("ids", ids, {T});
  ref.i32("targets", targets, {T});
  ref.i32("positions", positions, {T});
  ref.f32("inv_freq", inv_freq, {static_cast<int64_t>(inv_freq.size())});
  ASSERT_TRUE(test::run_references(python, {&ref}));

  EXPECT_NEAR(loss, ref.value("loss", 1)[0], 1e-4 * loss);
  for (const Named& n : named(g, s))
    EXPECT_LE(test::relative_error(*n.data, ref.grad(n.name, n.data->size())), kTolerance) << n.name;
}

INSTANTIATE_TEST_SUITE_P(Rope, BackwardBlock, ::testing::Values(RopeStyle::Interleaved, RopeStyle::Neox),
                         [](const auto& info) { return info.param == RopeStyle::Neox ? "Neox" : "Interleaved"; });

}  // namespace
}  // namespace orchard
