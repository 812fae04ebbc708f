#pragma once
// safetensors: u64 little-endian header size, a JSON header {name: {dtype, shape,
// data_offsets:[begin,end]}, "__metadata__": {...}}, then the raw data. Read with mmap and
// zero copies; every offset, size and shape is checked against the file.
#include <map>
#include <memory>
#include <string>

#include "core/tensor.h"

namespace orchard {

class SafetensorsFile {
 public:
  static std::shared_ptr<SafetensorsFile> open(const std::string& path);
  static std::shared_ptr<SafetensorsFile> parse(const uint8_t* data, size_t size, const std::string& name);
  const std::string& path() const { return path_; }
  size_t file_size() const { return size_; }
  const std::map<std::string, Tensor>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  std::string path_;
  size_t size_ = 0;
  std::shared_ptr<void> keep_alive_;
  std::map<std::string, Tensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

// Atomic write (temp + rename). Tensors must be F32, F16 or BF16.
void write_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace orchard
