#pragma once
// Constants of the GGUF container shared by the reader and the writer (see ggml's gguf.h).
#include <cstddef>
#include <cstdint>

namespace orchard::gguf {

inline constexpr char kMagic[4] = {'G', 'G', 'U', 'F'};
inline constexpr uint32_t kWriteVersion = 3;
inline constexpr uint64_t kDefaultAlignment = 32;
inline constexpr const char* kAlignmentKey = "general.alignment";
// ggml's GGML_MAX_NAME is 64 including the terminating NUL.
inline constexpr size_t kMaxTensorName = 63;
inline constexpr uint32_t kMaxDims = 4;

inline uint64_t align_up(uint64_t x, uint64_t alignment) { return (x + alignment - 1) / alignment * alignment; }

}  // namespace orchard::gguf
