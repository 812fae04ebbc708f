#include "adapters/lora.h"

namespace orchard {

const LoraAdapter* AdapterSet::find(const Tensor* weight) const {
  const auto it = by_weight_.find(weight);
  return it == by_weight_.end() ? nullptr : &adapters_[it->second];
}

int64_t AdapterSet::parameter_count() const {
  int64_t n = 0;
  for (const LoraAdapter& a : adapters_) n += a.a.numel() + a.b.numel() + (a.magnitude.empty() ? 0 : a.magnitude.numel());
  return n;
}

}  // namespace orchard
