#include "support/grad_reference.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>

#include "support/paths.h"

namespace orchard::test {

namespace fs = std::filesystem;

namespace {

std::string shape_json(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

// A distinct folder per reference, also when one test makes several of the same op.
fs::path fresh_dir(const std::string& op) {
  static std::atomic<int> counter{0};
  return temp_dir("grad_" + op + "_" + std::to_string(counter++));
}

}  // namespace

Reference::Reference(const std::string& op, const std::string& params)
    : op_(op), params_(params), dir_(fresh_dir(op)) {}

void Reference::f32(const std::string& name, const Floats& data, const Shape& shape, bool grad) {
  write(name, data.data(), data.size() * sizeof(float), shape, "f32");
  if (grad) grads_ += (grads_.empty() ? "\"" : ",\"") + name + "\"";
}

void Reference::i32(const std::string& name, const std::vector<int32_t>& data, const Shape& shape) {
  write(name, data.data(), data.size() * sizeof(int32_t), shape, "i32");
}

void Reference::write(const std::string& name, const void* data, size_t bytes, const Shape& shape, const char* dtype) {
  std::ofstream(dir_ / (name + ".bin"), std::ios::binary).write(static_cast<const char*>(data), bytes);
  inputs_ +=
      (inputs_.empty() ? "\"" : ",\"") + name + "\":{\"shape\":" + shape_json(shape) + ",\"dtype\":\"" + dtype + "\"}";
}

void Reference::write_spec() const {
  std::ofstream(dir_ / "spec.json") << "{\"op\":\"" << op_ << "\",\"params\":" << params_ << ",\"inputs\":{" << inputs_
                                    << "},\"grads\":[" << grads_ << "]}";
}

Floats Reference::read(const std::string& file, size_t n) const {
  Floats v(n);
  std::ifstream in(dir_ / (file + ".bin"), std::ios::binary);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(n * sizeof(float)));
  EXPECT_TRUE(in.good()) << "short reference output " << (dir_ / file).string();
  return v;
}

bool run_references(const std::string& python, const std::vector<const Reference*>& refs) {
  std::string cmd = python + " " + (source_dir() / "tools/reference/grad_ref.py").string();
  for (const Reference* ref : refs) {
    ref->write_spec();
    cmd += " " + ref->dir().string();
  }
  const int status = run_command(cmd).status;
  EXPECT_EQ(status, 0) << cmd;
  return status == 0;
}

}  // namespace orchard::test
