#pragma once
// Gradients from PyTorch autograd (tools/reference/grad_ref.py) for the backward kernel tests:
// a Reference is one op's inputs written to a fresh folder; run_references runs the script
// once for several of them (importing torch dominates a call) and the gradients and forward
// values it wrote are read back.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "support/compare.h"

namespace orchard::test {

using Floats = std::vector<float>;

class Reference {
 public:
  // params: a JSON object of the op's parameters (see grad_ref.py).
  Reference(const std::string& op, const std::string& params);

  // An input; with grad, the reference writes its gradient.
  void f32(const std::string& name, const Floats& data, const Shape& shape, bool grad = false);
  void i32(const std::string& name, const std::vector<int32_t>& data, const Shape& shape);

  // After run_references: the gradient of an input / a forward value the op reports.
  Floats grad(const std::string& name, size_t n) const { return read("grad_" + name, n); }
  Floats value(const std::string& name, size_t n) const { return read("value_" + name, n); }

  const std::filesystem::path& dir() const { return dir_; }
  void write_spec() const;

 private:
  void write(const std::string& name, const void* data, size_t bytes, const Shape& shape, const char* dtype);
  Floats read(const std::string& file, size_t n) const;

  std::string op_, params_;
  std::filesystem::path dir_;
  std::string inputs_, grads_;
};

// Runs grad_ref.py over every reference with `python`; false (and a test failure) if it failed.
bool run_references(const std::string& python, const std::vector<const Reference*>& refs);

}  // namespace orchard::test
