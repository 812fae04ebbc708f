#pragma once
// Comparing a result with a reference the way the model, adapter and gradient tests do.
#include <vector>

namespace orchard::test {

// max |got - want| / max |want| (plain max |got - want| when want is all zero).
double relative_error(const std::vector<float>& got, const std::vector<float>& want);

}  // namespace orchard::test
