#include "core/tensor.h"

#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace orchard {

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

Tensor::Tensor(DType dtype, Shape shape, void* data, std::shared_ptr<void> owner)
    : dtype_(dtype), shape_(std::move(shape)), data_(data), owner_(std::move(owner)) {}

Tensor Tensor::zeros(DType dtype, Shape shape) {
  Tensor t(dtype, std::move(shape), nullptr);
  size_t bytes = (t.nbytes() + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, bytes ? bytes : 64);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, bytes);
  t.data_ = p;
  t.owner_ = std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  return t;
}

size_t Tensor::row_bytes() const { return orchard::row_bytes(dtype_, cols()); }

float* Tensor::f32() const {
  if (dtype_ != DType::F32) throw std::logic_error("Tensor::f32 on a " + std::string(dtype_name(dtype_)) + " tensor");
  return static_cast<float*>(data_);
}

Tensor Tensor::reshaped(Shape shape) const {
  if (shape_numel(shape) != numel())
    throw std::logic_error("reshape " + shape_str(shape_) + " -> " + shape_str(shape));
  return Tensor(dtype_, std::move(shape), data_, owner_);
}

}  // namespace orchard
