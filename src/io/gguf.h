#pragma once
// GGUF v2/v3 reader (mmap, zero copy, every structure bounds-checked) and writer.
// Format: magic "GGUF", u32 version, u64 n_tensors, u64 n_kv, KV pairs, tensor infos
// (name, n_dims, dims innermost-first, ggml type, offset), padding to `general.alignment`
// (default 32), then the data section. Every error names the file and the problem.
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/tensor.h"
#include "io/metadata.h"

namespace orchard {

struct GgufTensorInfo {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;          // row-major (reversed from the file's innermost-first dims)
  uint64_t offset = 0;  // relative to the data section
  size_t nbytes = 0;
};

class GgufFile {
 public:
  // Maps and validates the whole file; throws orchard::Error naming `path` on any problem.
  static std::shared_ptr<GgufFile> open(const std::string& path);
  // Parses from memory the caller keeps alive (fuzzing, tests). `name` is used in errors.
  static std::shared_ptr<GgufFile> parse(const uint8_t* data, size_t size, const std::string& name);

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  size_t file_size() const { return size_; }
  const Metadata& metadata() const { return metadata_; }
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find(const std::string& name) const;
  // Zero-copy view into the mapping (keeps the mapping alive). Throws if absent.
  Tensor tensor(const std::string& name) const;
  Tensor tensor(const GgufTensorInfo& info) const;

 private:
  std::string path_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  const uint8_t* base_ = nullptr;
  size_t size_ = 0;
  size_t data_offset_ = 0;
  std::shared_ptr<void> keep_alive_;
  Metadata metadata_;
  std::vector<GgufTensorInfo> tensors_;  // file order
  std::unordered_map<std::string, size_t> index_;  // name -> position in tensors_
};

// Writes a GGUF v3 file atomically (temp file in the same folder, then rename).
class GgufWriter {
 public:
  void set(const std::string& key, MetaValue value);
  Metadata& metadata() { return metadata_; }
  // Tensors are written in the order added. The Tensor (and its owner) is held until write(),
  // which copies the bytes. Throws on a bad name, duplicate, or shape GGUF cannot store.
  void add_tensor(const std::string& name, const Tensor& t);
  // `alignment` (a power of two) pads the data section and every tensor; values other than the
  // default 32 are recorded as general.alignment, as GGUF readers expect.
  void write(const std::string& path, uint64_t alignment = 32) const;

 private:
  Metadata metadata_;  // written in sorted key order, so output does not depend on set() order
  std::vector<std::pair<std::string, Tensor>> tensors_;
};

}  // namespace orchard
