#pragma once
// Prompt-batch matmul for the int8-dot weight formats, y[n, rows] = x * w^T, written once for
// every x86 ISA; only the vector policy V differs (panel_matmul_avx512.cpp, _avx2.cpp).
//
// Each thread takes a panel of V::kRows weight rows (one vector of int32 / f32 lanes) and
// unpacks it once into the affine-u8 view (kernels/cpu/affine_u8.h): unsigned bytes
// interleaved so one vector holds 4 consecutive elements of each row, plus per-sub-block f32
// scale and offset for each row. Then every token group runs against the panel: V::dot with
// the token's 4 activation bytes broadcast does 4 multiply-adds for every row at once, with
// no sign tricks and no horizontal sums; per sub-block the int32 sums are scaled and the
// offset term (weight offset times the activation block sum) is added in f32. The unpack is
// paid once per matmul and reused by all n tokens, so the weights stay in their file layout
// (no load-time repack, no extra memory). Activations arrive in the weight type's
// vec_dot_type (q8_0, q8_1 or q8_K); only their int8 quants and block scales are used.
//
// Everything here has internal linkage (anonymous namespace): each ISA file compiles it with
// its own -m flags, and shared inline symbols would let the linker keep one ISA's copy.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <utility>
#include <vector>

#include "core/threadpool.h"
#include "kernels/cpu/affine_u8.h"
#include "quant/blocks.h"

namespace orchard::cpu {
namespace {
namespace panel_impl {

constexpr int kMaxTokens = 8;  // tokens per kernel call: 8 int32 sums + 8 f32 outputs + the weight vectors

using UnpackFn = void (*)(const uint8_t* row, int64_t k, uint8_t* u, float* scale, float* offset);

struct Format {
  UnpackFn unpack = nullptr;
  int sub = 0;        // sub-block length (16 or 32)
  int max_u = 0;      // largest unsigned quant
};

template <DType T>
constexpr Format format_of(int max_u) {
  return {unpack_affine_u8<T>, affine_u8_sub_block(T), max_u};
}

inline Format format_for(DType t) {
  switch (t) {
    case DType::Q8_0: return format_of<DType::Q8_0>(255);
    case DType::Q4_0: return format_of<DType::Q4_0>(15);
    case DType::Q4_1: return format_of<DType::Q4_1>(15);
    case DType::Q5_0: return format_of<DType::Q5_0>(31);
    case DType::Q5_1: return format_of<DType::Q5_1>(31);
    case DType::IQ4_NL: return format_of<DType::IQ4_NL>(255);
    case DType::Q4_K: return format_of<DType::Q4_K>(15);
    case DType::Q5_K: return format_of<DType::Q5_K>(31);
    case DType::Q6_K: return format_of<DType::Q6_K>(63);
    case DType::MLX_Q4_G32: return format_of<DType::MLX_Q4_G32>(15);
    case DType::MLX_Q4_G64: return format_of<DType::MLX_Q4_G64>(15);
    case DType::MLX_Q4_G128: return format_of<DType::MLX_Q4_G128>(15);
    case DType::MLX_Q8_G32: return format_of<DType::MLX_Q8_G32>(255);
    case DType::MLX_Q8_G64: return format_of<DType::MLX_Q8_G64>(255);
    case DType::MLX_Q8_G128: return format_of<DType::MLX_Q8_G128>(255);
    default: return {};
  }
}

// Where a sub-block's int8 quants sit inside an activation row, and its per-block scale.
struct ActivationLayout {
  int64_t block_elems = 0;  // 32 (q8_0 / q8_1) or 256 (q8_K)
  size_t block_bytes = 0;
  size_t quants_offset = 0;
  bool f32_scale = false;   // q8_K's scale is f32, the others' f16 at offset 0
  bool f16_sum = false;     // q8_1 carries s = d * sum(qs) as f16 at offset 2: use it, as its dot does
};

inline bool activation_layout(DType t, ActivationLayout& out) {
  switch (t) {
    case DType::Q8_0: out = {kQK, sizeof(BlockQ8_0), offsetof(BlockQ8_0, qs), false}; return true;
    case DType::Q8_1: out = {kQK, sizeof(BlockQ8_1), offsetof(BlockQ8_1, qs), false, true}; return true;
    case DType::Q8_K: out = {kQK_K, sizeof(BlockQ8_K), offsetof(BlockQ8_K, qs), true}; return true;
    default: return false;
  }
}

struct Problem {
  const uint8_t* x;
  size_t x_stride;
  const size_t* sub_offset;  // [n_sub] byte offset of sub-block j's quants in a row
  const float* x_terms;      // [n][n_sub][2]: activation scale dx, and dx * sum of the quants
  float* y;
  int64_t n, rows, k, n_sub;
  int sub;
};

// A panel of R weight rows in the affine-u8 view: quants[k / 4][R][4], scale/offset[n_sub][R].
struct Panel {
  std::vector<uint8_t> quants;
  std::vector<float> scale, offset;
  std::vector<uint8_t> row_u;  // one row unpacked, before interleaving
  std::vector<float> row_scale, row_offset;
};

template <int R>
void unpack_panel(const Tensor& w, const Format& f, const Problem& p, int64_t r0, Panel& panel) {
  const int64_t k = p.k, n_sub = p.n_sub;
  panel.quants.resize(static_cast<size_t>(k * R));
  panel.scale.assign(static_cast<size_t>(n_sub * R), 0.0f);
  panel.offset.assign(static_cast<size_t>(n_sub * R), 0.0f);
  panel.row_u.resize(static_cast<size_t>(k));
  panel.row_scale.resize(static_cast<size_t>(n_sub));
  panel.row_offset.resize(static_cast<size_t>(n_sub));
  const int64_t valid = std::min<int64_t>(R, p.rows - r0);
  if (valid < R) std::memset(panel.quants.data(), 0, panel.quants.size());
  for (int64_t r = 0; r < valid; ++r) {
    f.unpack(w.row(r0 + r), k, panel.row_u.data(), panel.row_scale.data(), panel.row_offset.data());
    uint8_t* dst = panel.quants.data() + r * 4;
    const uint8_t* src = panel.row_u.data();
    for (int64_t i = 0; i < k / 4; ++i) std::memcpy(dst + i * R * 4, src + i * 4, 4);
    for (int64_t j = 0; j < n_sub; ++j) {
      panel.scale[static_cast<size_t>(j * R + r)] = panel.row_scale[static_cast<size_t>(j)];
      panel.offset[static_cast<size_t>(j * R + r)] = panel.row_offset[static_cast<size_t>(j)];
    }
  }
}

inline int32_t load_i32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Tokens [t0, t0 + T) against the panel at rows [r0, r0 + R): the sums of each token are
// independent chains, interleaved so the dot latency overlaps across tokens.
template <class V, int Sub, int T>
void panel_times_tokens(const Problem& p, const Panel& panel, int64_t t0, int64_t r0) {
  constexpr int R = V::kRows;
  constexpr int kGroups = Sub / 4;  // dots per sub-block
  typename V::F out[T];
  for (auto& v : out) v = V::zero_f();
  const uint8_t* x[T];
  const float* terms[T];
  for (int t = 0; t < T; ++t) {
    x[t] = p.x + (t0 + t) * p.x_stride;
    terms[t] = p.x_terms + (t0 + t) * p.n_sub * 2;
  }
  const uint8_t* wq = panel.quants.data();
  for (int64_t j = 0; j < p.n_sub; ++j, wq += kGroups * R * 4) {
    typename V::I w[kGroups];
    for (int g = 0; g < kGroups; ++g) w[g] = V::load_i(wq + g * R * 4);
    typename V::I sum[T];
    for (auto& s : sum) s = V::zero_i();
    const size_t off = p.sub_offset[j];
#pragma GCC unroll 8
    for (int g = 0; g < kGroups; ++g)
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) sum[t] = V::dot(sum[t], w[g], load_i32(x[t] + off + 4 * g));
    const typename V::F scale = V::load_f(panel.scale.data() + j * R);
    const typename V::F offset = V::load_f(panel.offset.data() + j * R);
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      const float* xt = terms[t] + j * 2;
      out[t] = V::fmadd(V::to_float(sum[t]), V::mul(scale, V::set1(xt[0])), out[t]);
      out[t] = V::fmadd(offset, V::set1(xt[1]), out[t]);
    }
  }
  const auto cols = static_cast<int>(std::min<int64_t>(R, p.rows - r0));
  for (int t = 0; t < T; ++t) V::store_first(p.y + (t0 + t) * p.rows + r0, out[t], cols);
}

using PanelKernel = void (*)(const Problem&, const Panel&, int64_t, int64_t);

template <class V, int Sub>
PanelKernel kernel_for_tokens(int tokens) {
  static constexpr auto table = []<int... I>(std::integer_sequence<int, I...>) {
    return std::array<PanelKernel, sizeof...(I)>{&panel_times_tokens<V, Sub, I + 1>...};
  }(std::make_integer_sequence<int, kMaxTokens>{});
  return table[static_cast<size_t>(tokens - 1)];
}

// Per token and sub-block: the activation scale and scale * sum of the sub-block's quants.
inline void prepare_activations(ThreadPool& pool, const ActivationLayout& a, Problem& p, std::vector<size_t>& offsets,
                                std::vector<float>& terms) {
  offsets.resize(static_cast<size_t>(p.n_sub));
  for (int64_t j = 0; j < p.n_sub; ++j) {
    const int64_t e = j * p.sub;
    offsets[static_cast<size_t>(j)] =
        static_cast<size_t>(e / a.block_elems) * a.block_bytes + a.quants_offset + static_cast<size_t>(e % a.block_elems);
  }
  terms.resize(static_cast<size_t>(p.n * p.n_sub * 2));
  pool.parallel_for(p.n, [&](int64_t begin, int64_t end, int) {
    for (int64_t t = begin; t < end; ++t) {
      const uint8_t* row = p.x + t * p.x_stride;
      for (int64_t j = 0; j < p.n_sub; ++j) {
        const uint8_t* block = row + (j * p.sub / a.block_elems) * a.block_bytes;
        float dx;
        if (a.f32_scale) {
          std::memcpy(&dx, block, sizeof dx);
        } else {
          uint16_t h;
          std::memcpy(&h, block, sizeof h);
          dx = f16_to_f32(h);
        }
        float* out = terms.data() + (t * p.n_sub + j) * 2;
        out[0] = dx;
        if (a.f16_sum) {
          uint16_t h;
          std::memcpy(&h, block + 2, sizeof h);
          out[1] = f16_to_f32(h);
        } else {
          const auto* q = reinterpret_cast<const int8_t*>(row + offsets[static_cast<size_t>(j)]);
          int sum = 0;
          for (int i = 0; i < p.sub; ++i) sum += q[i];
          out[1] = dx * static_cast<float>(sum);
        }
      }
    }
  });
}

// BatchMatmulFn on V; declines formats without an int8 dot product and those whose quants
// exceed V::kMaxQuant (the largest unsigned byte its dot takes without overflow).
template <class V>
bool batch_matmul(ThreadPool& pool, const Tensor& w, const void* x, size_t x_stride, float* y, int64_t n) {
  const Format f = format_for(w.dtype());
  ActivationLayout a;
  if (!f.unpack || f.max_u > V::kMaxQuant || !activation_layout(quant_traits(w.dtype())->vec_dot_type, a))
    return false;

  Problem p{};
  p.x = static_cast<const uint8_t*>(x);
  p.x_stride = x_stride;
  p.y = y;
  p.n = n;
  p.rows = w.rows();
  p.k = w.cols();
  p.sub = f.sub;
  p.n_sub = p.k / f.sub;
  static thread_local std::vector<size_t> offsets;  // the calling thread's
  static thread_local std::vector<float> terms;
  prepare_activations(pool, a, p, offsets, terms);
  p.sub_offset = offsets.data();
  p.x_terms = terms.data();

  constexpr int R = V::kRows;
  const int64_t panels = (p.rows + R - 1) / R;
  std::atomic<int64_t> next{0};
  pool.parallel_for(pool.size(), [&](int64_t, int64_t, int) {
    static thread_local Panel panel;
    for (int64_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < panels;) {
      const int64_t r0 = i * R;
      unpack_panel<R>(w, f, p, r0, panel);
      for (int64_t t0 = 0; t0 < n; t0 += kMaxTokens) {
        const int tokens = static_cast<int>(std::min<int64_t>(kMaxTokens, n - t0));
        (f.sub == 16 ? kernel_for_tokens<V, 16>(tokens) : kernel_for_tokens<V, 32>(tokens))(p, panel, t0, r0);
      }
    }
  });
  return true;
}

}  // namespace panel_impl
}  // namespace
}  // namespace orchard::cpu
