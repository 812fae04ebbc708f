// BatchIterator: MLX LM's iterate_batches (mlx_lm/tuner/trainer.py) with a resumable position.
#include <algorithm>
#include <numeric>
#include <random>

#include "core/error.h"
#include "kernels/cpu/backward.h"
#include "train/dataset.h"

namespace orchard::train {

namespace {

using cpu::kIgnoreIndex;

// In packed mode a batch lists its rows' examples, each row closed by kRowEnd.
constexpr int64_t kRowEnd = -1;

// The generator for one epoch's shuffle, from (seed, epoch) alone so seek() can rebuild any
// epoch's order. std::shuffle and the <random> distributions are implementation-defined, so
// the permutation is drawn from mt19937_64's specified output directly.
std::vector<int64_t> permutation(int64_t n, uint64_t seed, uint64_t stream) {
  std::seed_seq seq{uint32_t(seed), uint32_t(seed >> 32), uint32_t(stream), uint32_t(stream >> 32)};
  std::mt19937_64 rng(seq);
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[size_t(i)], order[size_t(rng() % uint64_t(i + 1))]);
  return order;
}

struct Row {
  std::vector<int32_t> tokens;
  std::vector<bool> trained;  // per token: a target the loss counts
};

}  // namespace

int64_t TrainBatch::target_tokens() const {
  return std::count_if(targets.begin(), targets.end(), [](int32_t t) { return t != kIgnoreIndex; });
}

BatchIterator::BatchIterator(const Dataset& data, int64_t batch_size, int64_t max_seq_length, uint64_t seed, bool pack)
    : data_(&data), batch_size_(batch_size), max_seq_length_(max_seq_length), seed_(seed), pack_(pack) {
  if (batch_size < 1) throw Error("batch size must be at least 1, not " + std::to_string(batch_size));
  if (max_seq_length < 2) throw Error("max sequence length must be at least 2, not " + std::to_string(max_seq_length));
  const int64_t n = int64_t(data.examples.size());
  const auto length = [&](int64_t i) { return std::min<int64_t>(int64_t(data.examples[size_t(i)].tokens.size()), max_seq_length); };
  if (!pack) {
    // Sorted by length so a batch's sequences are alike and padding is small; only full batches.
    if (n < batch_size)
      throw file_error(data.path, "the data set must have at least batch_size=" + std::to_string(batch_size) +
                                      " examples but only has " + std::to_string(n));
    std::vector<int64_t> sorted(static_cast<size_t>(n));
    std::iota(sorted.begin(), sorted.end(), 0);
    std::stable_sort(sorted.begin(), sorted.end(), [&](int64_t a, int64_t b) { return length(a) < length(b); });
    for (int64_t i = 0; i + batch_size <= n; i += batch_size)
      batches_.emplace_back(sorted.begin() + i, sorted.begin() + i + batch_size);
  } else {
    // Whole examples, in a seeded order, fill rows of max_seq_length tokens first come first
    // served; batch_size rows make a batch.
    std::vector<std::vector<int64_t>> rows;
    int64_t used = 0;
    for (int64_t i : permutation(n, seed, ~uint64_t(0))) {
      if (rows.empty() || used + length(i) > max_seq_length) {
        rows.emplace_back();
        used = 0;
      }
      rows.back().push_back(i);
      used += length(i);
    }
    const int64_t n_rows = int64_t(rows.size());
    if (n_rows < batch_size)
      throw file_error(data.path, "packed into " + std::to_string(n_rows) + " rows of " + std::to_string(max_seq_length) +
                                      " tokens, fewer than batch_size=" + std::to_string(batch_size));
    for (int64_t r = 0; r + batch_size <= n_rows; r += batch_size) {
      std::vector<int64_t>& batch = batches_.emplace_back();
      for (int64_t j = r; j < r + batch_size; ++j) {
        batch.insert(batch.end(), rows[size_t(j)].begin(), rows[size_t(j)].end());
        batch.push_back(kRowEnd);
      }
    }
  }
  shuffle_epoch();
}

int64_t BatchIterator::batches_per_epoch() const { return int64_t(batches_.size()); }

BatchIterator::Position BatchIterator::position() const { return position_; }

void BatchIterator::seek(const Position& position) {
  if (position.epoch < 0 || position.index < 0 || position.index > batches_per_epoch())
    throw Error("data position epoch " + std::to_string(position.epoch) + " batch " + std::to_string(position.index) +
                " is outside the data set's " + std::to_string(batches_per_epoch()) +
                " batches per epoch (a checkpoint of different data or batch size?)");
  position_ = position;
  shuffle_epoch();
}

void BatchIterator::shuffle_epoch() { order_ = permutation(batches_per_epoch(), seed_, uint64_t(position_.epoch)); }

TrainBatch BatchIterator::next() {
  if (position_.index >= batches_per_epoch()) {
    ++position_.epoch;
    position_.index = 0;
    shuffle_epoch();
  }
  const std::vector<int64_t>& members = batches_[size_t(order_[size_t(position_.index++)])];

  // Each example's tokens, truncated; a token is a target from max(prompt_length, 1) on: the
  // first token of an example is never predicted (in a packed row, not from the previous one).
  std::vector<Row> rows(1);
  for (int64_t i : members) {
    if (i == kRowEnd) {
      rows.emplace_back();
      continue;
    }
    const Example& e = data_->examples[size_t(i)];
    const int64_t len = std::min<int64_t>(int64_t(e.tokens.size()), max_seq_length_);
    for (int64_t t = 0; t < len; ++t) {
      rows.back().tokens.push_back(e.tokens[size_t(t)]);
      rows.back().trained.push_back(t >= std::max<int64_t>(e.prompt_length, 1));
    }
    if (!pack_) rows.emplace_back();
  }
  rows.pop_back();  // the empty row after the last separator

  TrainBatch batch;
  batch.batch_size = int64_t(rows.size());
  size_t longest = 0;
  for (const Row& r : rows) longest = std::max(longest, r.tokens.size());
  // Padded to the batch's longest sequence (MLX pads to a multiple of 32 for its compiled
  // graphs; here padding is only wasted work).
  batch.seq_len = std::max<int64_t>(int64_t(longest) - 1, 1);
  const size_t T = size_t(batch.seq_len);
  batch.inputs.assign(rows.size() * T, 0);
  batch.targets.assign(rows.size() * T, kIgnoreIndex);
  // As MLX LM: the padded rows' first T tokens are the inputs, their next T the targets.
  for (size_t b = 0; b < rows.size(); ++b)
    for (size_t t = 0; t < std::min(T, rows[b].tokens.size()); ++t) {
      batch.inputs[b * T + t] = rows[b].tokens[t];
      if (t + 1 < rows[b].tokens.size() && rows[b].trained[t + 1]) batch.targets[b * T + t] = rows[b].tokens[t + 1];
    }
  return batch;
}

}  // namespace orchard::train
