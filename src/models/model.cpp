#include "models/model.h"

namespace orchard {

int64_t Model::parameter_count() const {
  int64_t n = 0;
  for (const auto& [name, tensor] : source_->tensors) n += tensor.numel();
  return n;
}

}  // namespace orchard
