#include "tokenizer/tokenizer.h"

#include "core/error.h"
#include "io/model_source.h"
#include "core/utf8.h"

namespace orchard {

std::string Tokenizer::decode(const std::vector<TokenId>& ids, bool render_special) const {
  std::string out;
  for (TokenId id : ids) out += token_bytes(id, render_special);
  if (decode_strips_leading_space() && !out.empty() && out[0] == ' ') out.erase(0, 1);
  return out;
}

std::unique_ptr<Tokenizer> load_tokenizer(const ModelSource& source) {
  if (source.tokenizer_json)
    return tokenizer_from_json(*source.tokenizer_json, source.tokenizer_config ? &*source.tokenizer_config : nullptr,
                               source.path + "/tokenizer.json");
  return tokenizer_from_gguf_metadata(source.metadata, source.path);
}

std::string StreamingDetokenizer::feed(TokenId id) {
  pending_ += tokenizer_.token_bytes(id);
  const size_t complete = utf8::complete_prefix(pending_);
  std::string out = utf8::sanitize(std::string_view(pending_).substr(0, complete));
  pending_.erase(0, complete);
  return out;
}

std::string StreamingDetokenizer::flush() {
  std::string out = utf8::sanitize(pending_);
  pending_.clear();
  return out;
}

}  // namespace orchard
