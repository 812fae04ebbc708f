#pragma once
// Reading the parts of a Hugging Face tokenizer.json (+ tokenizer_config.json) that both the
// tokenizer builder and the GGUF-metadata converter need: the id table with added tokens,
// special-token ids, merges, the post-processor's BOS/EOS and the pre-tokenizer's identity.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/vocab.h"

namespace orchard::hf {

using nlohmann::json;

struct AddedToken {
  TokenId id = -1;
  std::string content;
  bool special = false, lstrip = false, rstrip = false;
};

struct VocabInfo {
  std::string model_type;  // "BPE" or "WordPiece"
  std::shared_ptr<Vocab> vocab;  // ids filled, types: Normal/Byte, Control (special added), UserDefined
  std::vector<AddedToken> added;
  std::vector<TokenId> prefix, suffix;  // what add_special puts around the text
};

// Throws orchard::Error naming `source` and the field on malformed input.
VocabInfo read_vocab(const json& tokenizer_json, const json* tokenizer_config, const std::string& source);
std::vector<std::pair<std::string, std::string>> read_merges(const json& model, const std::string& source);
// "llama-bpe", "qwen2", "gpt-2" from the pre-tokenizer's regex; empty if not recognised.
std::string pre_tokenizer_name(const json& tokenizer_json);

// Field access that reports the field by name instead of nlohmann's generic message.
const json& field(const json& object, const char* key, const std::string& where);
std::string string_field(const json& object, const char* key, const std::string& where, const std::string& fallback);
bool bool_field(const json& object, const char* key, const std::string& where, bool fallback);

}  // namespace orchard::hf
