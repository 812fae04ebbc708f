#pragma once
// Read-only view of a whole file. Large files are memory-mapped (opening a multi-GB model
// costs nothing until pages are touched); small files are read into a heap buffer (a mapping
// per tiny config file wastes a page and a syscall each); empty files have no storage at all
// (mmap rejects length 0).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace orchard {

class MappedFile {
 public:
  // Throws orchard::Error naming `path` when it is missing, not a regular file or unreadable.
  static std::shared_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  const uint8_t* data() const { return data_; }  // nullptr when size() == 0
  size_t size() const { return size_; }

 private:
  MappedFile() = default;
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;  // munmap vs free on destruction
};

}  // namespace orchard
