// libFuzzer: GgufFile::parse on arbitrary bytes. Malformed input must end in orchard::Error;
// anything else (crash, sanitizer report, other exception) is a bug. Tensor views of an
// accepted file are read end to end so an offset check that is too lax shows up under ASan.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "io/gguf.h"

static volatile uint8_t sink;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto file = orchard::GgufFile::parse(data, size, "fuzz.gguf");
    uint8_t checksum = 0;
    for (const auto& info : file->tensors()) {
      orchard::Tensor t = file->tensor(info);
      const auto* bytes = t.as<const uint8_t>();
      for (size_t i = 0; i < t.nbytes(); ++i) checksum ^= bytes[i];
    }
    for (const auto& [key, value] : file->metadata().all()) checksum ^= static_cast<uint8_t>(value.array_size());
    sink = checksum;  // keeps the reads from being optimized away
  } catch (const orchard::Error&) {
  }
  return 0;
}
