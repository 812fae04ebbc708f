#include "support/paths.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sys/wait.h>

namespace orchard::test {

namespace fs = std::filesystem;

fs::path source_dir() { return ORCHARD_SOURCE_DIR; }
fs::path binary_dir() { return ORCHARD_BINARY_DIR; }

fs::path shared_dir() {
  fs::path p;
  if (const char* env = std::getenv("ORCHARD_SHARED_DIR")) p = env;
  else p = source_dir() / ".." / "shared";
  std::error_code ec;
  if (!fs::is_directory(p / "data", ec)) return {};
  return fs::canonical(p, ec);
}

fs::path orchard_bin() {
  if (const char* env = std::getenv("ORCHARD_BIN")) return env;
  return binary_dir() / "orchard";
}

fs::path temp_dir(const std::string& name) {
  fs::path p = binary_dir() / "test-tmp" / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

CommandResult run_command(const std::string& cmd) {
  CommandResult r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  int st = pclose(pipe);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

}  // namespace orchard::test

namespace orchard::test {

std::string reference_python(const std::string& modules) {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("ORCHARD_PYTHON")) candidates.push_back(env);
  candidates.push_back("/usr/bin/python3");
  candidates.push_back("python3");
  for (const auto& py : candidates)
    if (run_command(py + " -c 'import " + modules + "' >/dev/null 2>&1").status == 0) return py;
  return {};
}

}  // namespace orchard::test

namespace orchard::test {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace orchard::test
