#include "train/tape_backend_grads.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace orchard::train {

namespace {
uintptr_t address(const float* p) { return reinterpret_cast<uintptr_t>(p); }
}  // namespace

std::pair<ActivationGrads::Map::iterator, ActivationGrads::Map::iterator> ActivationGrads::overlapping(uintptr_t b,
                                                                                                      uintptr_t e) {
  auto first = regions_.lower_bound(b);
  if (first != regions_.begin()) {
    auto before = std::prev(first);
    if (before->first + before->second.n * sizeof(float) > b) first = before;
  }
  auto last = first;
  while (last != regions_.end() && last->first < e) ++last;
  return {first, last};
}

float* ActivationGrads::get(const float* p, int64_t n) {
  const uintptr_t b = address(p), e = b + n * sizeof(float);
  auto [first, last] = overlapping(b, e);
  if (first != last && std::next(first) == last && first->first <= b &&
      first->first + first->second.n * sizeof(float) >= e && !first->second.borrowed)
    return first->second.owned.data() + (b - first->first) / sizeof(float);
  // A new region over the union of [b, e) and every region it touches (or a borrowed one made
  // writable): the old gradients are copied in.
  uintptr_t lo = b, hi = e;
  for (auto it = first; it != last; ++it) {
    lo = std::min(lo, it->first);
    hi = std::max(hi, it->first + it->second.n * sizeof(float));
  }
  Region merged;
  merged.n = static_cast<int64_t>((hi - lo) / sizeof(float));
  merged.owned.assign(merged.n, 0.0f);
  for (auto it = first; it != last; ++it)
    std::memcpy(merged.owned.data() + (it->first - lo) / sizeof(float), it->second.data(),
                it->second.n * sizeof(float));
  regions_.erase(first, last);
  float* base = regions_.emplace(lo, std::move(merged)).first->second.owned.data();
  return base + (b - lo) / sizeof(float);
}

void ActivationGrads::accumulate(const float* p, int64_t n, const float* src) {
  float* g = get(p, n);
  for (int64_t i = 0; i < n; ++i) g[i] += src[i];
}

ActivationGrads::Taken ActivationGrads::take(const float* p, int64_t n, bool clear) {
  Taken t;
  const uintptr_t b = address(p), e = b + n * sizeof(float);
  auto [first, last] = overlapping(b, e);
  if (first == last) return t;
  // Borrowed and exactly this range: hand out the caller's buffer itself.
  if (std::next(first) == last && first->first == b && first->second.n == n && first->second.borrowed) {
    t.data = first->second.borrowed;
    if (clear) regions_.erase(first);
    return t;
  }
  t.copy.assign(n, 0.0f);
  for (auto it = first; it != last; ++it) {
    const uintptr_t rb = std::max(b, it->first), re = std::min(e, it->first + it->second.n * sizeof(float));
    std::memcpy(t.copy.data() + (rb - b) / sizeof(float), it->second.data() + (rb - it->first) / sizeof(float),
                re - rb);
  }
  t.data = t.copy.data();
  if (!clear) return t;
  // Regions wholly inside the range go; the part of a straddling one inside it is zeroed.
  for (auto it = first; it != last;) {
    const uintptr_t rb = it->first, re = rb + it->second.n * sizeof(float);
    if (rb >= b && re <= e) {
      it = regions_.erase(it);
      continue;
    }
    if (it->second.borrowed) {
      it->second.owned.assign(it->second.borrowed, it->second.borrowed + it->second.n);
      it->second.borrowed = nullptr;
    }
    const uintptr_t zb = std::max(b, rb), ze = std::min(e, re);
    std::fill_n(it->second.owned.data() + (zb - rb) / sizeof(float), (ze - zb) / sizeof(float), 0.0f);
    ++it;
  }
  return t;
}

void ActivationGrads::borrow(const float* p, int64_t n, const float* g) {
  const uintptr_t b = address(p);
  auto [first, last] = overlapping(b, b + n * sizeof(float));
  if (first != last) throw Error("tape: the loss gradient's buffer already has a gradient");
  regions_.emplace(b, Region{.n = n, .owned = {}, .borrowed = g});
}

}  // namespace orchard::train
