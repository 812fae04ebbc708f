// orchard: run, fine-tune and serve language models on your own machine.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <map>

#include "core/error.h"
#include "subcommand.h"

namespace orchard::cli {
std::vector<Subcommand>& registry() {
  static std::vector<Subcommand> commands;
  return commands;
}
}  // namespace orchard::cli

int main(int argc, char** argv) {
  using namespace orchard::cli;
  CLI::App app{"orchard: run, fine-tune and serve language models locally (GGUF files and Hugging Face folders)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "orchard 0.1.0");
  app.footer("Run 'orchard SUBCOMMAND --help' for the options of each subcommand.");

  auto& commands = registry();
  std::sort(commands.begin(), commands.end(), [](auto& a, auto& b) { return a.name < b.name; });
  std::map<CLI::App*, std::function<int()>> runners;
  for (auto& c : commands) {
    CLI::App* sub = app.add_subcommand(c.name, c.description);
    runners[sub] = c.setup(*sub);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (auto& [sub, run] : runners)
      if (sub->parsed()) return run();
  } catch (const orchard::Error& e) {
    std::fprintf(stderr, "orchard: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "orchard: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "orchard: internal error: %s\n", e.what());
    return 2;
  }
  return 0;
}
