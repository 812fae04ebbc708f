#pragma once
// Bounds-checked little-endian cursor over untrusted bytes. Every read either succeeds or
// throws orchard::Error "NAME: truncated ..." — callers never index the buffer themselves.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

#include "core/error.h"

namespace orchard {

class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size, const std::string& name) : data_(data), size_(size), name_(name) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }
  const std::string& name() const { return name_; }

  template <class T> T read(const char* what) {
    static_assert(std::is_trivially_copyable_v<T>);
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));  // unaligned-safe; the host is little-endian
    pos_ += sizeof(T);
    return v;
  }

  // A view of the next `n` bytes (n is untrusted: checked against what is left).
  std::string_view bytes(uint64_t n, const char* what) {
    need(n, what);
    std::string_view v(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return v;
  }

  Error error(const std::string& problem) const {
    return file_error(name_, problem + " (at byte " + std::to_string(pos_) + ")");
  }

 private:
  void need(uint64_t n, const char* what) const {
    if (n > remaining())
      throw error(std::string("truncated: ") + what + " needs " + std::to_string(n) + " bytes, " +
                  std::to_string(remaining()) + " left");
  }

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  std::string name_;
};

}  // namespace orchard
