#pragma once
// Runs tools/reference/render_chat_templates.py (Python jinja2 with transformers' settings)
// and reads its JSON results, for the chat template tests.
#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "support/paths.h"

namespace orchard::test {

// The fixed time both renderers format with strftime_now() (2024-07-26 12:00 UTC).
inline constexpr std::time_t kReferenceNow = 1721995200;

inline std::string quote_arg(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

inline const std::string& jinja_python() {
  static const std::string python = reference_python("jinja2");
  return python;
}

// Empty string when python3 with jinja2 is available, else why not.
inline std::string python_jinja_missing() {
  return jinja_python().empty() ? "python3 with jinja2 is not installed (Debian: python3-jinja2)" : "";
}

// Runs the reference script with `args`; returns its result list by case name order.
inline nlohmann::ordered_json run_reference(const std::string& args) {
  const auto script = source_dir() / "tools" / "reference" / "render_chat_templates.py";
  const std::string cmd = jinja_python() + " " + quote_arg(script.string()) + " --now " + std::to_string(kReferenceNow) + " " + args;
  const CommandResult r = run_command(cmd);
  EXPECT_EQ(r.status, 0) << cmd;
  return nlohmann::ordered_json::parse(r.out);
}

inline void write_text(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

}  // namespace orchard::test
