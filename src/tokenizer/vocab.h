#pragma once
// The token table every tokenizer model shares: text, score and type of each id, a text -> id
// index, and the ids with a special role.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace orchard {

// GGUF tokenizer.ggml.token_type values (llama.cpp's llama_token_type).
enum class TokenType : int32_t {
  Undefined = 0, Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6,
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

struct Vocab {
  std::vector<std::string> texts;
  std::vector<float> scores;
  std::vector<TokenType> types;
  StringMap<TokenId> ids;

  TokenId bos = -1, eos = -1, unk = -1, pad = -1, eot = -1, sep = -1;
  std::vector<TokenId> end_of_generation;

  int32_t size() const { return static_cast<int32_t>(texts.size()); }
  bool contains(TokenId id) const { return id >= 0 && id < size(); }
  TokenId find(std::string_view text) const {
    auto it = ids.find(text);
    return it == ids.end() ? -1 : it->second;
  }
  // Appends a token; a repeated text keeps the first id for lookups (as llama.cpp does).
  TokenId add(std::string text, float score, TokenType type);
  // "<0xXX>" byte token, -1 if the vocab has none.
  TokenId byte_token(unsigned char byte) const;
  // Fills end_of_generation from eos/eot plus the end-of-turn texts llama.cpp recognises.
  void collect_end_of_generation();
};

}  // namespace orchard
