// libFuzzer: SafetensorsFile::parse on arbitrary bytes (header JSON, dtypes, shapes, offsets).
// Malformed input must end in orchard::Error; accepted tensors are read end to end.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "io/safetensors.h"

static volatile uint8_t sink;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto file = orchard::SafetensorsFile::parse(data, size, "fuzz.safetensors");
    uint8_t checksum = 0;
    for (const auto& [name, t] : file->tensors()) {
      const auto* bytes = t.as<const uint8_t>();
      for (size_t i = 0; i < t.nbytes(); ++i) checksum ^= bytes[i];
    }
    sink = checksum;  // keeps the reads from being optimized away
  } catch (const orchard::Error&) {
  }
  return 0;
}
