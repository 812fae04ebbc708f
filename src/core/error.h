#pragma once
// One error type for everything the user can cause: a bad file, a bad flag, a bad request.
// The message names the thing (file, tensor, field) and the problem, and where it helps,
// what to do next. Callers at the edge (CLI, server) print it and exit non-zero / answer 4xx.
#include <stdexcept>
#include <string>
#include <utility>

namespace orchard {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Error about a specific file: "FILE: problem".
inline Error file_error(const std::string& path, const std::string& problem) {
  return Error(path + ": " + problem);
}

}  // namespace orchard
