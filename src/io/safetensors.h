#pragma once
// safetensors: u64 little-endian header size, a JSON header {name: {dtype, shape,
// data_offsets:[begin,end]}, "__metadata__": {...}}, then the raw data. Read with mmap and
// zero copies; every offset, size and shape is checked against the file.
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "core/tensor.h"

namespace orchard {

class SafetensorsFile {
 public:
  // Throws orchard::Error naming the file on any malformed header, dtype, shape or offset.
  static std::shared_ptr<SafetensorsFile> open(const std::string& path);
  // Parses memory the caller keeps alive (fuzzing, tests); `name` is used in errors.
  static std::shared_ptr<SafetensorsFile> parse(const uint8_t* data, size_t size, const std::string& name);
  const std::string& path() const { return path_; }
  size_t file_size() const { return size_; }
  const std::map<std::string, Tensor>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  // Tensor views keep `owner` (the mapping) alive.
  static std::shared_ptr<SafetensorsFile> parse(const uint8_t* data, size_t size, const std::string& name,
                                                std::shared_ptr<void> owner);
  std::string path_;
  size_t size_ = 0;
  std::shared_ptr<void> keep_alive_;
  std::map<std::string, Tensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

// Atomic write (temp + rename), tensors laid out in name order. Float and integer types only
// (F32, F16, BF16, F64, I64, I32, I16, I8): safetensors has no block-quantized dtypes.
void write_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace orchard
