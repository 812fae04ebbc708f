#pragma once
// Where tests find things: the shared data folder (ORCHARD_SHARED_DIR, default ../shared beside
// the checkout), the built CLI, and a fresh temporary folder per test.
#include <filesystem>
#include <string>
#include <vector>

namespace orchard::test {

// ORCHARD_SHARED_DIR or <source>/../shared. Empty path if the folder is absent.
std::filesystem::path shared_dir();
// Skips the calling test with a message when shared data is missing.
#define ORCHARD_REQUIRE_SHARED()                                                        \
  do {                                                                                  \
    if (::orchard::test::shared_dir().empty())                                          \
      GTEST_SKIP() << "shared data folder not found (set ORCHARD_SHARED_DIR)";          \
  } while (0)

std::filesystem::path source_dir();
std::filesystem::path binary_dir();
std::filesystem::path orchard_bin();  // the built `orchard` CLI
// A new empty directory under the build tree, removed by nothing (inspect after failures).
std::filesystem::path temp_dir(const std::string& name);

// Runs a shell command, returns its exit status and captured stdout (stderr passes through
// unless redirected in `cmd`).
struct CommandResult {
  int status = -1;
  std::string out;
};
CommandResult run_command(const std::string& cmd);

}  // namespace orchard::test

namespace orchard::test {

// The Python interpreter for reference scripts: the first of ORCHARD_PYTHON, Debian's
// /usr/bin/python3 and python3 on PATH (often a pyenv shim without Debian's packages) that can
// import every module in `modules` (e.g. "torch,numpy"). Empty when none can.
std::string reference_python(const std::string& modules);

}  // namespace orchard::test

namespace orchard::test {

// The whole file as bytes (empty if it cannot be read).
std::string read_file(const std::filesystem::path& path);

}  // namespace orchard::test
