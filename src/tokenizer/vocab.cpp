#include "tokenizer/vocab.h"

#include <algorithm>
#include <array>
#include <cstdio>

namespace orchard {

TokenId Vocab::add(std::string text, float score, TokenType type) {
  const auto id = static_cast<TokenId>(texts.size());
  ids.emplace(text, id);
  texts.push_back(std::move(text));
  scores.push_back(score);
  types.push_back(type);
  return id;
}

TokenId Vocab::byte_token(unsigned char byte) const {
  char name[8];
  std::snprintf(name, sizeof(name), "<0x%02X>", byte);
  return find(name);
}

void Vocab::collect_end_of_generation() {
  // Chat models end a turn with one of these even when eos says otherwise (llama.cpp's list).
  static constexpr std::array<std::string_view, 12> kEndTexts = {
      "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<end_of_turn>",
      "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>", "<end_of_utterance>"};
  end_of_generation.clear();
  auto add_id = [&](TokenId id) {
    if (contains(id) && std::find(end_of_generation.begin(), end_of_generation.end(), id) == end_of_generation.end())
      end_of_generation.push_back(id);
  };
  add_id(eos);
  add_id(eot);
  for (std::string_view text : kEndTexts) add_id(find(text));
  std::sort(end_of_generation.begin(), end_of_generation.end());
}

}  // namespace orchard
