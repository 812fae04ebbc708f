#pragma once
// A conversation with a model: message history rendered through the model's chat template.
// Each reply re-renders the whole history, but only the tokens after the longest common
// prefix with what the cache slot already holds are evaluated, so a long conversation costs
// one prefill of the new message rather than of everything said so far.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "generate/generator.h"
#include "generate/loaded_model.h"

namespace orchard {

class ChatSession {
 public:
  // The session owns cache slot `slot` of the generator's cache. Throws if the model has no
  // chat template.
  ChatSession(const LoadedModel& loaded, Generator& generator, std::string system_prompt = {}, int slot = 0);

  // Adds the user's message, generates and streams the assistant's answer, adds that to the
  // history (also when cut short by cancel or max tokens) and returns the finished sequence.
  Sequence reply(const std::string& user_message, const GenerationOptions& options, const TextCallback& on_text);
  // Forgets the conversation (the system prompt stays).
  void reset();

  const nlohmann::json& messages() const { return messages_; }

 private:
  const LoadedModel& loaded_;
  Generator& generator_;
  int slot_;
  nlohmann::json messages_;
  std::vector<TokenId> cached_;  // the tokens whose K/V sit in the slot
};

}  // namespace orchard
