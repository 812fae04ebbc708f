#pragma once
// Each subcommand lives in its own cmd_<name>.cpp and registers itself here at static-init
// time (these files are compiled straight into the executable, so registration is never
// dropped by the linker). main.cpp only builds the CLI11 app from the registry and reports
// orchard::Error as "orchard: <message>" with exit status 1.
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace orchard::cli {

struct Subcommand {
  std::string name;
  std::string description;
  // Adds options to `cmd` and returns the function that runs it (exit status).
  std::function<std::function<int()>(CLI::App& cmd)> setup;
};

std::vector<Subcommand>& registry();

struct Register {
  explicit Register(Subcommand s) { registry().push_back(std::move(s)); }
};

}  // namespace orchard::cli
