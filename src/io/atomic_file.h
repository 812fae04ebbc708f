#pragma once
// Writes a file so that readers only ever see the old contents or the complete new ones: data
// goes to a temporary file in the same folder (same filesystem, so rename is atomic), which
// replaces the target on commit() and is deleted if the writer is destroyed without it.
#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>

namespace orchard {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);  // throws orchard::Error naming `path`
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n);
  void write(std::string_view s) { write(s.data(), s.size()); }
  void pad_zeros(size_t n);
  size_t written() const { return written_; }
  void commit();

 private:
  std::string path_;
  std::string temp_path_;
  std::FILE* file_ = nullptr;
  size_t written_ = 0;
};

}  // namespace orchard
