#pragma once
// Chat templates: an interpreter for the subset of Jinja2 that real chat templates use
// (for/if/set, namespace(), macros, filters, tests, string/dict/list methods,
// raise_exception), rendering exactly what Python's jinja2 renders for the same template
// with the environment transformers' apply_chat_template uses (trim_blocks, lstrip_blocks,
// loopcontrols, its tojson, raise_exception and strftime_now).
//
// JSON arguments are nlohmann::ordered_json because key order is visible in the output
// (tojson, iterating tool parameters); a plain nlohmann::json converts implicitly, with its
// keys in sorted order.
#include <ctime>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace orchard {

namespace jinja {
class Template;  // chat/jinja/*
}

class ChatTemplate {
 public:
  // Parses once; throws orchard::Error with line/column on a syntax error.
  explicit ChatTemplate(const std::string& source);
  ~ChatTemplate();
  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;

  // Renders with arbitrary variables (messages, tools, add_generation_prompt, bos_token, ...).
  // raise_exception() in the template becomes an orchard::Error with exactly its message;
  // other runtime errors are prefixed with the template line and column.
  // `now` is the time strftime_now() formats (local time); unset means the current time.
  std::string render(const nlohmann::ordered_json& variables, std::optional<std::time_t> now = std::nullopt) const;

 private:
  std::unique_ptr<jinja::Template> impl_;
};

struct ChatOptions {
  bool add_generation_prompt = true;
  nlohmann::ordered_json tools;  // null or an array of OpenAI-style tool definitions
  std::string bos_token, eos_token;
  // More template variables (e.g. enable_thinking, date_string); they override the above.
  nlohmann::ordered_json extra_variables = nlohmann::ordered_json::object();
  std::optional<std::time_t> now;  // for strftime_now(); unset means the current time
};

// messages: [{"role": "...", "content": "..."}, ...]. Passes the variables transformers
// passes: messages, tools (None when absent), documents (None), add_generation_prompt,
// bos_token, eos_token, then extra_variables.
std::string apply_chat_template(const ChatTemplate& tmpl, const nlohmann::ordered_json& messages,
                                const ChatOptions& options);

}  // namespace orchard
