#pragma once
// Chat templates: an interpreter for the subset of Jinja2 that real chat templates use
// (for/if/set, namespace(), macros, filters, tests, string/dict/list methods,
// raise_exception), rendering exactly what Python's jinja2 renders for the same template.
#include <memory>
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
  // raise_exception() in the template becomes an orchard::Error with its message.
  std::string render(const nlohmann::json& variables) const;

 private:
  std::unique_ptr<jinja::Template> impl_;
};

struct ChatOptions {
  bool add_generation_prompt = true;
  nlohmann::json tools;  // null or an array of OpenAI-style tool definitions
  std::string bos_token, eos_token;
};

// messages: [{"role": "...", "content": "..."}, ...]
std::string apply_chat_template(const ChatTemplate& tmpl, const nlohmann::json& messages, const ChatOptions& options);

}  // namespace orchard
