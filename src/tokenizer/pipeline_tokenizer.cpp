#include "tokenizer/pipeline_tokenizer.h"

#include <algorithm>

#include "core/error.h"
#include "tokenizer/unicode.h"
#include "core/utf8.h"

namespace orchard {

namespace {

// The byte of a "<0xXX>" token, or -1.
int byte_token_value(std::string_view text) {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
  int value = 0;
  for (char c : text.substr(3, 2)) {
    value *= 16;
    if (c >= '0' && c <= '9') value += c - '0';
    else if (c >= 'A' && c <= 'F') value += c - 'A' + 10;
    else if (c >= 'a' && c <= 'f') value += c - 'a' + 10;
    else return -1;
  }
  return value;
}

std::string symbols_to_bytes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const utf8::Decoded d = utf8::decode(text, pos);
    if (auto byte = unicode::symbol_to_byte(d.cp); byte && d.valid) out += static_cast<char>(*byte);
    else out.append(text.substr(pos, d.length));
    pos += d.length;
  }
  return out;
}

}  // namespace

PipelineTokenizer::PipelineTokenizer(TokenizerSpec spec, const std::string& source_name)
    : spec_(std::move(spec)), vocab_(spec_.vocab), source_name_(source_name) {
  if (!spec_.model) throw file_error(source_name, "tokenizer has no model");
  if (vocab_->size() == 0) throw file_error(source_name, "tokenizer vocabulary is empty");
  for (TokenId id : spec_.prefix) check_id(id);
  for (TokenId id : spec_.suffix) check_id(id);
}

void PipelineTokenizer::check_id(TokenId id) const {
  if (!vocab_->contains(id))
    throw file_error(source_name_, "special token id " + std::to_string(id) + " is outside the vocabulary of " +
                                       std::to_string(vocab_->size()) + " tokens");
}

std::vector<TokenId> PipelineTokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  const std::string clean = utf8::sanitize(text);
  std::vector<TokenId> out;
  if (options.add_special) out = spec_.prefix;
  const auto fragments = spec_.specials.split(clean, options.parse_special);
  for (size_t i = 0; i < fragments.size(); ++i) {
    if (fragments[i].token >= 0) out.push_back(fragments[i].token);
    else encode_fragment(fragments[i].text, i == 0, out);
  }
  if (options.add_special) out.insert(out.end(), spec_.suffix.begin(), spec_.suffix.end());
  return out;
}

void PipelineTokenizer::encode_fragment(std::string_view text, bool first_fragment, std::vector<TokenId>& out) const {
  std::string normalized(text);
  for (const Normalizer& normalize : spec_.normalizers) normalized = normalize(normalized);
  std::vector<std::string> pieces{std::move(normalized)};
  for (const PreTokenizer& pre_tokenize : spec_.pre_tokenizers) pre_tokenize(pieces, first_fragment);
  for (const std::string& piece : pieces)
    if (!piece.empty()) spec_.model->encode(piece, out);
}

std::string PipelineTokenizer::token_bytes(TokenId id, bool render_special) const {
  const std::string& text = token_text(id);
  const DecodeRules& rules = spec_.decode;
  switch (vocab_->types[id]) {
    case TokenType::Control:
    case TokenType::Unknown:
    case TokenType::Unused:
      if (!render_special) return {};
      return rules.rules_apply_to_added_tokens ? apply_rules(text) : text;
    case TokenType::UserDefined:
      return rules.rules_apply_to_added_tokens ? apply_rules(text) : text;
    case TokenType::Byte:
      if (int b = byte_token_value(text); b >= 0) return std::string(1, static_cast<char>(b));
      return text;
    case TokenType::Normal:
    case TokenType::Undefined:
      break;
  }
  if (rules.byte_tokens)
    if (int b = byte_token_value(text); b >= 0) return std::string(1, static_cast<char>(b));
  return apply_rules(text);
}

std::string PipelineTokenizer::apply_rules(const std::string& text) const {
  const DecodeRules& rules = spec_.decode;
  std::string out = rules.byte_level ? symbols_to_bytes(text) : text;
  if (!rules.space_marker.empty()) {
    std::string replaced;
    size_t pos = 0;
    for (size_t hit; (hit = out.find(rules.space_marker, pos)) != std::string::npos; pos = hit + rules.space_marker.size())
      replaced.append(out, pos, hit - pos).append(" ");
    out = replaced.append(out, pos);
  }
  if (!rules.continuation_prefix.empty()) {
    if (out.compare(0, rules.continuation_prefix.size(), rules.continuation_prefix) == 0)
      out.erase(0, rules.continuation_prefix.size());
    else
      out.insert(0, " ");
  }
  return out;
}

const std::string& PipelineTokenizer::token_text(TokenId id) const {
  if (!vocab_->contains(id))
    throw Error("token id " + std::to_string(id) + " is outside the vocabulary of " + std::to_string(vocab_->size()) +
                " tokens (" + source_name_ + ")");
  return vocab_->texts[id];
}

bool PipelineTokenizer::is_special(TokenId id) const {
  if (!vocab_->contains(id)) return false;
  const TokenType t = vocab_->types[id];
  return t == TokenType::Control || t == TokenType::Unknown;
}

bool PipelineTokenizer::is_end_of_generation(TokenId id) const {
  const auto& ids = vocab_->end_of_generation;
  return std::binary_search(ids.begin(), ids.end(), id);
}

}  // namespace orchard
