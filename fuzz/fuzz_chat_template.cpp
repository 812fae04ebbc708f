// Parses and renders arbitrary template text against a fixed chat context. Any input must
// either render or fail with orchard::Error; crashes, hangs and other exceptions are bugs.
// Smaller limits than the defaults keep each input fast; the code paths are the same.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "chat/jinja/template.h"
#include "core/error.h"

namespace {

const nlohmann::ordered_json& context() {
  static const nlohmann::ordered_json vars = nlohmann::ordered_json::parse(R"({
    "messages": [
      {"role": "system", "content": "  You are helpful. "},
      {"role": "user", "content": "Hi <b>ü</b> 🍎"},
      {"role": "assistant", "content": null, "tool_calls": [
        {"id": "call12345", "type": "function", "function": {"name": "f", "arguments": {"x": 1, "y": [1.5, "s"]}}}]},
      {"role": "tool", "content": "{\"ok\": true}"},
      {"role": "assistant", "content": "<think>r</think>done"}],
    "tools": [{"type": "function", "function": {"name": "f", "description": "d",
      "parameters": {"type": "object", "properties": {"x": {"type": "integer"}}}}}],
    "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>", "n": 3, "f": 0.5
  })");
  return vars;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  orchard::jinja::Limits limits;
  limits.max_output_bytes = 1u << 20;
  limits.max_items = 1u << 16;
  limits.max_steps = 200'000;
  try {
    const orchard::jinja::Template tmpl(std::string(reinterpret_cast<const char*>(data), size), limits);
    tmpl.render(context(), 1721995200);
  } catch (const orchard::Error&) {
  }
  return 0;
}
