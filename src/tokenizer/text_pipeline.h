#pragma once
// The steps between raw text and words, composable the way tokenizer.json composes them:
// normalizers rewrite a fragment of text, pre-tokenizers split it into pieces (words). GGUF
// vocabularies are expressed with the same steps (llama.cpp's regex lists, SPM's "▁" escaping,
// BERT's basic tokenizer).
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"

namespace orchard {

using Normalizer = std::function<std::string(std::string_view)>;
// Rewrites the pieces of one fragment; `first_fragment` is true for the text before any special
// token (Metaspace's prepend_scheme "first" needs it).
using PreTokenizer = std::function<void(std::vector<std::string>& pieces, bool first_fragment)>;

Normalizer unicode_normalizer(unicode::Form form);
Normalizer lowercase_normalizer();
Normalizer strip_accents_normalizer();
Normalizer prepend_normalizer(std::string prefix);       // skips empty text (HF Prepend)
Normalizer replace_normalizer(std::string from, std::string to);  // literal
Normalizer replace_regex_normalizer(Regex pattern, std::string to);
Normalizer strip_normalizer(bool left, bool right);      // Unicode whitespace
// BERT: drop control chars, whitespace -> ' ', spaces around CJK ideographs, then optional
// accent stripping and lowercasing (HF BertNormalizer).
Normalizer bert_normalizer(bool clean_text, bool handle_chinese_chars, bool strip_accents, bool lowercase);

PreTokenizer regex_split(Regex pattern, SplitBehavior behavior, bool invert = false);
PreTokenizer literal_split(std::string delimiter, SplitBehavior behavior, bool invert = false);
// GPT-2 byte-level: optional leading space, optional GPT-2 regex split, then every byte is
// replaced by its printable symbol.
PreTokenizer byte_level(bool add_prefix_space, bool use_regex);
enum class PrependScheme { Always, Never, First };
PreTokenizer metaspace(std::string replacement, PrependScheme scheme, bool split);
PreTokenizer digits(bool individual);  // numeric chars (Rust's char::is_numeric), as HF's Digits
PreTokenizer whitespace_words();       // HF Whitespace: \w+|[^\w\s]+
PreTokenizer whitespace_split();       // HF WhitespaceSplit
PreTokenizer punctuation(SplitBehavior behavior);
PreTokenizer bert_pre_tokenizer();     // whitespace split, then every punctuation char alone

// GPT-2's own pre-tokenizer regex (ByteLevel use_regex).
extern const char* const kGpt2Pattern;

}  // namespace orchard
