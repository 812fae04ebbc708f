#include "default_model.h"

#include <cstdlib>

namespace orchard::cli {

std::string default_model_path() {
  if (const char* path = std::getenv("ORCHARD_DEFAULT_MODEL"); path && *path) return path;
  return ORCHARD_BUNDLED_MODEL;
}

}  // namespace orchard::cli
