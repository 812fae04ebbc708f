#include "chat/chat_template.h"

#include "chat/jinja/template.h"
#include "core/error.h"

namespace orchard {

ChatTemplate::ChatTemplate(const std::string& source) : impl_(std::make_unique<jinja::Template>(source)) {}
ChatTemplate::~ChatTemplate() = default;
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;

std::string ChatTemplate::render(const nlohmann::ordered_json& variables, std::optional<std::time_t> now) const {
  return impl_->render(variables, now ? *now : std::time(nullptr));
}

std::string apply_chat_template(const ChatTemplate& tmpl, const nlohmann::ordered_json& messages,
                                const ChatOptions& options) {
  if (!messages.is_array()) throw Error("chat messages must be a JSON array");
  if (!options.extra_variables.is_object()) throw Error("chat template extra variables must be a JSON object");
  nlohmann::ordered_json variables = nlohmann::ordered_json::object();
  variables["messages"] = messages;
  variables["tools"] = options.tools;
  variables["documents"] = nullptr;  // transformers always passes documents (None without RAG)
  variables["add_generation_prompt"] = options.add_generation_prompt;
  variables["bos_token"] = options.bos_token;
  variables["eos_token"] = options.eos_token;
  for (const auto& [name, value] : options.extra_variables.items()) variables[name] = value;
  return tmpl.render(variables, options.now);
}

}  // namespace orchard
