#pragma once
// A Tensor is a typed, shaped view of bytes: either memory it owns or a zero-copy window into
// a memory-mapped model file (the `owner` keeps the mapping alive). Shapes are row-major, the
// last dimension is contiguous, as in PyTorch: a weight matrix is {out_features, in_features}.
// (GGUF lists dimensions innermost-first; io/ reverses them on the way in and out.)
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace orchard {

using Shape = std::vector<int64_t>;

std::string shape_str(const Shape& s);  // "[2048, 5632]"
int64_t shape_numel(const Shape& s);

class Tensor {
 public:
  Tensor() = default;
  // A view of external bytes kept alive by `owner` (may be null for borrowed memory).
  Tensor(DType dtype, Shape shape, void* data, std::shared_ptr<void> owner = nullptr);
  // Fresh zero-initialised storage, 64-byte aligned.
  static Tensor zeros(DType dtype, Shape shape);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_.at(i < 0 ? shape_.size() + i : i); }
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return shape_numel(shape_); }
  int64_t cols() const { return shape_.empty() ? 1 : shape_.back(); }  // contiguous dim
  int64_t rows() const { return cols() ? numel() / cols() : 0; }
  size_t row_bytes() const;
  size_t nbytes() const { return row_bytes() * static_cast<size_t>(rows()); }
  bool empty() const { return data_ == nullptr; }

  void* data() const { return data_; }
  template <class T> T* as() const { return static_cast<T*>(data_); }
  float* f32() const;  // checks dtype == F32
  // Row `r` of the tensor viewed as 2-D [rows, cols] (no copy).
  const uint8_t* row(int64_t r) const { return static_cast<const uint8_t*>(data_) + r * row_bytes(); }
  // Same bytes, new shape with equal numel (no copy).
  Tensor reshaped(Shape shape) const;
  const std::shared_ptr<void>& owner() const { return owner_; }

 private:
  DType dtype_ = DType::F32;
  Shape shape_;
  void* data_ = nullptr;
  std::shared_ptr<void> owner_;
};

}  // namespace orchard
