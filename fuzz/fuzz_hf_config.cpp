// libFuzzer: config.json text -> GGUF metadata translation. Any malformed or inconsistent
// config must end in orchard::Error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "io/hf_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    orchard::translate_hf_config_text(std::string_view(reinterpret_cast<const char*>(data), size), "config.json");
  } catch (const orchard::Error&) {
  }
  return 0;
}
