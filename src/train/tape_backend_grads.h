#pragma once
// Gradients of activations, kept by address range (the tape's ops name activations by pointer).
// A region is created when a gradient first flows into a range and dropped when it is cleared
// whole, so only buffers with a live gradient cost memory. Ranges that straddle regions merge
// them. The loss gradient is borrowed (the caller's dlogits, never written), not copied.
#include <cstdint>
#include <map>
#include <vector>

namespace orchard::train {

class ActivationGrads {
 public:
  // A gradient taken out of the store: a copy, or the borrowed buffer itself.
  struct Taken {
    std::vector<float> copy;
    const float* data = nullptr;  // null: no gradient reached the range (it is zero)
    explicit operator bool() const { return data != nullptr; }
  };

  // The gradient of [p, p + n), created as zeros; valid until the next call on the store.
  float* get(const float* p, int64_t n);
  // G([p, p + n)) += src.
  void accumulate(const float* p, int64_t n, const float* src);
  // A copy of the gradient of [p, p + n) (empty Taken if none). With clear, the range's
  // gradient is consumed: the op that overwrote the range has taken it.
  Taken take(const float* p, int64_t n, bool clear);
  // Makes `g` the gradient of [p, p + n) without copying (the range must have none yet).
  void borrow(const float* p, int64_t n, const float* g);
  void reset() { regions_.clear(); }
  bool empty() const { return regions_.empty(); }

 private:
  struct Region {
    int64_t n = 0;
    std::vector<float> owned;
    const float* borrowed = nullptr;
    const float* data() const { return borrowed ? borrowed : owned.data(); }
  };
  using Map = std::map<uintptr_t, Region>;
  // Regions overlapping [b, e): first and one past the last.
  std::pair<Map::iterator, Map::iterator> overlapping(uintptr_t b, uintptr_t e);
  Map regions_;  // by start address
};

}  // namespace orchard::train
