#include "support/errors.h"

#include "core/error.h"

namespace orchard::test {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace orchard::test
