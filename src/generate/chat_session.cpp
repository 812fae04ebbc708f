#include "generate/chat_session.h"

#include <algorithm>

#include "core/error.h"

namespace orchard {

ChatSession::ChatSession(const LoadedModel& loaded, Generator& generator, std::string system_prompt, int slot)
    : loaded_(loaded), generator_(generator), slot_(slot), messages_(nlohmann::json::array()) {
  if (!loaded.chat_template)
    throw file_error(loaded.source->path, "the model has no chat template (tokenizer.chat_template) to chat with");
  if (!system_prompt.empty()) messages_.push_back({{"role", "system"}, {"content", std::move(system_prompt)}});
}

void ChatSession::reset() {
  nlohmann::json kept = nlohmann::json::array();
  if (!messages_.empty() && messages_[0]["role"] == "system") kept.push_back(messages_[0]);
  messages_ = std::move(kept);
  // The cache still holds the system prompt's rendering; the prefix match reuses it.
}

Sequence ChatSession::reply(const std::string& user_message, const GenerationOptions& options,
                            const TextCallback& on_text) {
  nlohmann::json next = messages_;
  next.push_back({{"role", "user"}, {"content", user_message}});
  std::vector<TokenId> prompt = tokenize_prompt(*loaded_.tokenizer, render_chat(loaded_, next));

  const auto mismatch = std::mismatch(prompt.begin(), prompt.end(), cached_.begin(), cached_.end());
  const auto reused = static_cast<int64_t>(mismatch.first - prompt.begin());
  Sequence sequence(slot_, std::move(prompt), options, *loaded_.tokenizer, loaded_.eog_ids, reused);
  sequence.on_text(on_text);
  cached_.resize(static_cast<size_t>(reused));  // positions after it are about to be overwritten
  generator_.run(sequence);

  const auto cached = sequence.cached_tokens();
  cached_.assign(cached.begin(), cached.end());
  messages_ = std::move(next);
  messages_.push_back({{"role", "assistant"}, {"content", sequence.text()}});
  return sequence;
}

}  // namespace orchard
