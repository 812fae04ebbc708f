// Gradient checkpointing: a block recorded without its ops' copies is run again, just before
// its backward, from the inputs it kept. The replay writes private mirrors of the buffers the
// block touches (never the model's buffers, nor the caller's logits), and its ops keep their
// copies as in an uncheckpointed forward.
#include <algorithm>
#include <cstring>
#include <functional>

#include "train/tape_backend_impl.h"

namespace orchard::train {

void TapeBackend::Impl::replay(size_t b) {
  const TapeBlock& block = blocks[b];
  const size_t end = b + 1 < blocks.size() ? blocks[b + 1].first_op : ops.size();
  // Which ops must compute: those whose output a later op of the block reads, and those that
  // keep their own output (attention) or their adapter path. The rest only keep their inputs,
  // or do nothing (the block's closing residual add, the LM head's logits).
  std::vector<char> computes(end - block.first_op);
  std::vector<Range> needed, touched;
  for (size_t i = end; i-- > block.first_op;) {
    const TapeOp& op = ops[i];
    const bool read_later =
        std::any_of(needed.begin(), needed.end(), [&](const Range& r) { return r.overlaps(op.write); });
    const bool compute = read_later || op.kind == OpKind::Attention || op.adapter;
    computes[i - block.first_op] = compute;
    if (compute || keeps_inputs(op)) {
      needed.insert(needed.end(), op.reads.begin(), op.reads.end());
      touched.insert(touched.end(), op.reads.begin(), op.reads.end());
    }
    if (compute) touched.push_back(op.write);
  }
  std::sort(touched.begin(), touched.end(),
            [](const Range& x, const Range& y) { return std::less<const float*>()(x.p, y.p); });
  int64_t mirrored = 0;
  for (const Range& r : touched) {
    if (!mirrors.empty() && std::less<const float*>()(r.p, mirrors.back().original.end())) {
      Range& m = mirrors.back().original;
      if (std::less<const float*>()(m.end(), r.end())) m.n = r.end() - m.p;
      continue;
    }
    mirrors.push_back({r, {}});
  }
  for (Mirror& m : mirrors) {
    m.data.assign(m.original.n, 0.0f);
    mirrored += m.original.n * static_cast<int64_t>(sizeof(float));
  }
  count(mirrored);
  // Later inputs first, so where two overlap the earlier read's (older) values win: the
  // block's own ops rewrite anything newer before reading it.
  for (auto it = block.inputs.rbegin(); it != block.inputs.rend(); ++it)
    std::memcpy(at(it->first.p), it->second->data(), it->first.n * sizeof(float));

  SaveCache outer;
  std::swap(cache, outer);
  for (size_t i = block.first_op; i < end; ++i) {
    if (computes[i - block.first_op]) {
      run(ops[i], RunMode::Save);
    } else {
      keep_inputs(ops[i]);
    }
  }
  std::swap(cache, outer);
  mirrors.clear();
  count(-mirrored);
}

}  // namespace orchard::train
