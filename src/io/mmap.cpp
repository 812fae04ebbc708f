#include "io/mmap.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

namespace orchard {
namespace {

// Below this size a plain read is cheaper than setting up a mapping.
constexpr size_t kSmallFileBytes = 64 * 1024;

struct FdCloser {
  int fd;
  ~FdCloser() { ::close(fd); }
};

std::string errno_text() { return std::strerror(errno); }

}  // namespace

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw file_error(path, "cannot open: " + errno_text());
  FdCloser closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw file_error(path, "cannot stat: " + errno_text());
  if (!S_ISREG(st.st_mode)) throw file_error(path, "not a regular file");

  std::shared_ptr<MappedFile> file(new MappedFile());
  file->path_ = path;
  file->size_ = static_cast<size_t>(st.st_size);
  if (file->size_ == 0) return file;

  if (file->size_ < kSmallFileBytes) {
    // 64-byte aligned like Tensor storage, so tensor views into small files stay aligned.
    size_t capacity = (file->size_ + 63) / 64 * 64;
    auto* buf = static_cast<uint8_t*>(std::aligned_alloc(64, capacity));
    if (!buf) throw std::bad_alloc();
    file->data_ = buf;  // owned from here on: the destructor frees it on any throw below
    size_t done = 0;
    while (done < file->size_) {
      ssize_t n = ::read(fd, buf + done, file->size_ - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw file_error(path, "read failed: " + errno_text());
      if (n == 0) throw file_error(path, "file shrank while reading");
      done += static_cast<size_t>(n);
    }
    return file;
  }

  void* p = ::mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) throw file_error(path, "mmap failed: " + errno_text());
  file->data_ = static_cast<const uint8_t*>(p);
  file->mapped_ = true;
  return file;
}

MappedFile::~MappedFile() {
  if (!data_) return;
  if (mapped_) ::munmap(const_cast<uint8_t*>(data_), size_);
  else std::free(const_cast<uint8_t*>(data_));
}

}  // namespace orchard
