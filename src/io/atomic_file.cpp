#include "io/atomic_file.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

namespace orchard {

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  temp_path_ = path_ + ".tmp-XXXXXX";
  int fd = ::mkstemp(temp_path_.data());
  if (fd < 0) throw file_error(path_, std::string("cannot create a temporary file beside it: ") + std::strerror(errno));
  file_ = ::fdopen(fd, "wb");
  if (!file_) {
    ::close(fd);
    ::unlink(temp_path_.c_str());
    throw file_error(path_, "cannot open temporary file");
  }
}

AtomicFile::~AtomicFile() {
  if (!file_) return;
  std::fclose(file_);
  ::unlink(temp_path_.c_str());
}

void AtomicFile::write(const void* data, size_t n) {
  if (n && std::fwrite(data, 1, n, file_) != n)
    throw file_error(path_, std::string("write failed: ") + std::strerror(errno));
  written_ += n;
}

void AtomicFile::pad_zeros(size_t n) {
  static constexpr char kZeros[256] = {};
  while (n) {
    size_t chunk = n < sizeof(kZeros) ? n : sizeof(kZeros);
    write(kZeros, chunk);
    n -= chunk;
  }
}

void AtomicFile::commit() {
  // mkstemp creates the file 0600; give it the permissions a normally created file would get.
  mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(::fileno(file_), 0666 & ~mask);
  bool ok = std::fflush(file_) == 0;
  ok = (std::fclose(file_) == 0) && ok;
  file_ = nullptr;
  if (!ok || std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    int err = errno;
    ::unlink(temp_path_.c_str());
    throw file_error(path_, std::string("cannot finish writing: ") + std::strerror(err));
  }
}

}  // namespace orchard
