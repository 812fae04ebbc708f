// libFuzzer: (1) tokenizer_from_json on arbitrary bytes must either build a tokenizer or
// throw orchard::Error; (2) arbitrary bytes (invalid UTF-8 included) must encode, decode and
// stream through small byte-level BPE, byte-fallback BPE and WordPiece tokenizers.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace {

using nlohmann::json;

const char* const kByteLevelBpe = R"({
  "added_tokens": [{"id": 6, "content": "<|end|>", "special": true},
                   {"id": 7, "content": "<x>", "special": false, "lstrip": true, "rstrip": true}],
  "normalizer": {"type": "NFC"},
  "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
    {"type": "Split", "pattern": {"Regex": "(?i:'s|'t)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
     "behavior": "Isolated", "invert": false},
    {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]},
  "decoder": {"type": "ByteLevel"},
  "model": {"type": "BPE", "ignore_merges": true,
            "vocab": {"a": 0, "b": 1, "ab": 2, "Ġ": 3, "Ġa": 4, "Ġab": 5}, "merges": ["a b", "Ġ a", "Ġa b"]}
})";

const char* const kByteFallbackBpe = R"({
  "added_tokens": [{"id": 0, "content": "<unk>", "special": true}, {"id": 1, "content": "<bos>", "special": true}],
  "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
                 {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
  "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true},
  "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<bos>"}}, {"Sequence": {"id": "A"}}],
                     "special_tokens": {"<bos>": {"id": "<bos>", "ids": [1], "tokens": ["<bos>"]}}},
  "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
              {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
  "model": {"type": "BPE", "byte_fallback": true, "fuse_unk": true, "unk_token": "<unk>",
            "vocab": {"<unk>": 0, "<bos>": 1, "<0x41>": 2, "<0xC3>": 3, "<0xA9>": 4, "▁": 5, "h": 6, "i": 7, "hi": 8, "▁hi": 9},
            "merges": [["h", "i"], ["▁", "hi"]]}
})";

const char* const kWordPiece = R"({
  "added_tokens": [{"id": 0, "content": "[UNK]", "special": true}, {"id": 1, "content": "[CLS]", "special": true},
                   {"id": 2, "content": "[SEP]", "special": true}],
  "normalizer": {"type": "BertNormalizer", "lowercase": true},
  "pre_tokenizer": {"type": "BertPreTokenizer"},
  "post_processor": {"type": "BertProcessing", "cls": ["[CLS]", 1], "sep": ["[SEP]", 2]},
  "decoder": {"type": "WordPiece", "prefix": "##"},
  "model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "un": 3, "##able": 4, ".": 5}}
})";

const std::vector<std::unique_ptr<orchard::Tokenizer>>& small_tokenizers() {
  static const auto tokenizers = [] {
    std::vector<std::unique_ptr<orchard::Tokenizer>> t;
    for (const char* source : {kByteLevelBpe, kByteFallbackBpe, kWordPiece})
      t.push_back(orchard::tokenizer_from_json(json::parse(source), nullptr, "fuzz"));
    return t;
  }();
  return tokenizers;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);

  const json parsed = json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_discarded()) {
    try {
      auto tok = orchard::tokenizer_from_json(parsed, nullptr, "fuzz-input");
      const auto ids = tok->encode("Hello <s> wörld 123 🦙", {true, true});
      (void)tok->decode(ids, true);
    } catch (const orchard::Error&) {
      // Rejecting malformed input with a message is the expected outcome.
    }
  }

  for (const auto& tok : small_tokenizers()) {
    for (bool special : {false, true}) {
      const auto ids = tok->encode(bytes, {special, special});
      (void)tok->decode(ids, special);
      orchard::StreamingDetokenizer stream(*tok);
      for (orchard::TokenId id : ids) (void)stream.feed(id);
      (void)stream.flush();
    }
  }
  return 0;
}
