// The tape walked in reverse: each op takes the gradient of what it wrote (consuming it when
// it overwrote the range, passing it through for y += x) and adds into its inputs' gradients
// and the trainable parameters', with the kernels of kernels/cpu/backward.h.
#include <string>

#include "core/error.h"
#include "kernels/cpu/backward.h"
#include "train/tape_backend_impl.h"

namespace orchard::train {

void TapeBackend::Impl::backward(const float* logits, const float* dlogits) {
  if (ops.empty()) throw Error("tape: backward() without a recorded forward (set_recording(true), clear(), forward)");
  size_t head = ops.size();
  while (head > 0 && ops[head - 1].write.p != logits) --head;
  if (head == 0) throw Error("tape: backward() was given a logits buffer no recorded op wrote");
  const TapeOp& lm_head = ops[head - 1];
  // The model gathers the rows that want logits outside the backend: the tape cannot follow that.
  if (ops.front().kind == OpKind::GetRows && lm_head.kind == OpKind::Matmul && lm_head.rows != ops.front().rows)
    throw Error("tape: every token of a training batch must want logits (" + std::to_string(lm_head.rows) + " of " +
                std::to_string(ops.front().rows) + " do)");
  grads.borrow(logits, lm_head.write.n, dlogits);
  cache.clear();  // it only shares copies among forward readers; each op's go with its backward

  auto backward_ops = [&](size_t begin, size_t end) {
    for (size_t i = end; i-- > begin;) {
      backward_op(ops[i]);
      ops[i].saved.clear();  // what the op kept is needed by no one else now
    }
  };
  if (blocks.empty()) {
    backward_ops(0, ops.size());
  } else {
    for (size_t b = blocks.size(); b-- > 0;) {
      replay(b);
      backward_ops(blocks[b].first_op, b + 1 < blocks.size() ? blocks[b + 1].first_op : ops.size());
      blocks[b].inputs.clear();
    }
  }
  ops.clear();
  blocks.clear();
  cache.clear();
  grads.reset();
}

void TapeBackend::Impl::backward_op(const TapeOp& op) {
  switch (op.kind) {
    case OpKind::Matmul:
      return backward_matmul(op);
    case OpKind::Attention:
      return backward_attention(op);
    case OpKind::GetRows: {
      const auto dy = grads.take(op.write.p, op.write.n, true);
      if (!dy) return;
      if (float* g = trainable(op.tensor->data(), op.tensor->numel()))
        cpu::get_rows_backward(op.ids.data(), dy.data, g, op.rows, op.cols);
      return;
    }
    case OpKind::RmsNorm: {
      const auto dy = grads.take(op.write.p, op.write.n, true);
      if (!dy) return;
      std::vector<float> dx(op.write.n), unused;
      float* dweight = trainable(op.norm_weight, op.cols);
      if (!dweight) {
        unused.assign(op.cols, 0.0f);
        dweight = unused.data();
      }
      cpu::rms_norm_backward(pool, op.saved[0]->data(), op.norm_weight, dy.data, dx.data(), dweight, op.rows, op.cols,
                             op.eps);
      return grads.accumulate(op.reads[0].p, op.reads[0].n, dx.data());
    }
    case OpKind::Rope: {
      auto dy = grads.take(op.write.p, op.write.n, true);
      if (!dy) return;
      if (dy.copy.empty()) dy.copy.assign(dy.data, dy.data + op.write.n);
      cpu::rope_backward(pool, dy.copy.data(), op.rows, op.heads, op.head_dim, op.ids.data(), op.rope);
      return grads.accumulate(op.reads[0].p, op.reads[0].n, dy.copy.data());
    }
    case OpKind::SiluMul: {
      const auto dy = grads.take(op.write.p, op.write.n, true);
      if (!dy) return;
      std::vector<float> dgate(op.write.n), dup(op.write.n);
      cpu::silu_mul_backward(pool, op.saved[0]->data(), op.saved[1]->data(), dy.data, dgate.data(), dup.data(),
                             op.write.n);
      grads.accumulate(op.reads[0].p, op.reads[0].n, dgate.data());
      return grads.accumulate(op.reads[1].p, op.reads[1].n, dup.data());
    }
    case OpKind::Add: {  // y += x: G(y) stays and also reaches x
      const auto dy = grads.take(op.write.p, op.write.n, false);
      if (dy) grads.accumulate(op.reads[1].p, op.reads[1].n, dy.data);
      return;
    }
    case OpKind::AddBias: {  // likewise for y; the bias gets the column sums
      const auto dy = grads.take(op.write.p, op.write.n, false);
      if (!dy) return;
      if (float* g = trainable(op.tensor->data(), op.cols)) cpu::add_bias_backward(dy.data, g, op.rows, op.cols);
      return;
    }
  }
}

// y = x W^T (+ scale * (drop(x) A^T) B^T; DoRA: all times factor = m * inv_norm, inv_norm constant).
void TapeBackend::Impl::backward_matmul(const TapeOp& op) {
  const Tensor& w = *op.tensor;
  const int64_t n = op.rows, in = w.dim(1), out = w.dim(0);
  const auto dy = grads.take(op.write.p, op.write.n, true);
  if (!dy) return;
  const float* dz = dy.data;  // gradient of the unscaled output
  std::vector<float> scaled;
  if (op.dora) {
    const float* z = op.saved[2]->data();
    std::vector<float>& dm = *adapter_grads.at(op.adapter_index).m;
    std::vector<double> sums(out, 0.0);
    scaled.resize(n * out);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t r = 0; r < out; ++r) {
        sums[r] += static_cast<double>(dz[i * out + r]) * z[i * out + r];
        scaled[i * out + r] = dz[i * out + r] * op.dora->factor[r];
      }
    for (int64_t r = 0; r < out; ++r) dm[r] += static_cast<float>(sums[r] * op.dora->inv_norm[r]);
    dz = scaled.data();
  }
  const float* x = op.saved.empty() || !op.saved[0] ? nullptr : op.saved[0]->data();
  cpu::matmul_backward_x(kernels, pool, w, dz, grads.get(op.reads[0].p, op.reads[0].n), n);
  if (float* g = trainable(w.data(), w.numel())) cpu::matmul_backward_w(kernels, pool, x, dz, g, n, in, out);
  if (!op.adapter) return;

  // The low-rank path: u = drop(x) A^T [n, rank], path = scale * u B^T.
  const LoraAdapter& a = *op.adapter;
  const AdapterGrads& g = adapter_grads.at(op.adapter_index);
  const int64_t rank = a.rank();
  std::vector<float> dpath(dz, dz + n * out);
  for (float& d : dpath) d *= a.scale;
  cpu::matmul_backward_w(kernels, pool, op.saved[1]->data(), dpath.data(), g.b->data(), n, rank, out);
  std::vector<float> du(n * rank, 0.0f);
  cpu::matmul_backward_x(kernels, pool, a.b, dpath.data(), du.data(), n);
  if (a.dropout <= 0.0f) {
    cpu::matmul_backward_w(kernels, pool, x, du.data(), g.a->data(), n, in, rank);
    return cpu::matmul_backward_x(kernels, pool, a.a, du.data(), grads.get(op.reads[0].p, op.reads[0].n), n);
  }
  std::vector<float> dropped(x, x + n * in), dx(n * in, 0.0f);
  for (int64_t i = 0; i < n * in; ++i) dropped[i] *= dropout_multiplier(op.dropout_key, i, a.dropout);
  cpu::matmul_backward_w(kernels, pool, dropped.data(), du.data(), g.a->data(), n, in, rank);
  cpu::matmul_backward_x(kernels, pool, a.a, du.data(), dx.data(), n);
  for (int64_t i = 0; i < n * in; ++i) dx[i] *= dropout_multiplier(op.dropout_key, i, a.dropout);
  grads.accumulate(op.reads[0].p, op.reads[0].n, dx.data());
}

void TapeBackend::Impl::backward_attention(const TapeOp& op) {
  const auto dout = grads.take(op.write.p, op.write.n, true);
  if (!dout) return;
  const int64_t q_row = op.heads * op.head_dim, kv_row = op.kv_heads * op.head_dim;
  const float *q = op.saved[0]->data(), *k = op.saved[1]->data(), *v = op.saved[2]->data();
  const float *out = op.saved[3]->data(), *lse = op.saved[4]->data();
  std::vector<float> dq(op.reads[0].n), dk(op.reads[1].n), dv(op.reads[2].n);
  for (const auto& [first, length] : op.sequences)
    cpu::attention_backward(kernels, pool, q + first * q_row, k + first * kv_row, v + first * kv_row,
                            out + first * q_row, lse + first * op.heads, dout.data + first * q_row, length, op.heads,
                            op.kv_heads, op.head_dim, op.scale, dq.data() + first * q_row, dk.data() + first * kv_row,
                            dv.data() + first * kv_row);
  grads.accumulate(op.reads[0].p, op.reads[0].n, dq.data());
  grads.accumulate(op.reads[1].p, op.reads[1].n, dk.data());
  grads.accumulate(op.reads[2].p, op.reads[2].n, dv.data());
}

}  // namespace orchard::train
