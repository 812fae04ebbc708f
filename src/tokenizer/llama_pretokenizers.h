#pragma once
// llama.cpp's byte-level BPE pre-tokenizers, by the GGUF name in tokenizer.ggml.pre. Each is a
// list of regexes applied in sequence (every regex splits every piece of the previous one,
// keeping both matches and the text between them); the original tokenizer.json regexes are
// used where llama.cpp had to rewrite them for std::regex (PCRE2 handles (?i:) and lookahead).
#include <string>
#include <string_view>
#include <vector>

namespace orchard {

struct LlamaPreTokenizer {
  std::string family;                // canonical name, e.g. "llama3" for "llama-bpe"
  std::vector<std::string> regexes;
  bool ignore_merges = false;        // Llama 3 family: a word in the vocab is one token
  bool add_bos = false;              // default for tokenizer.ggml.add_bos_token
};

// Throws orchard::Error for a name llama.cpp knows but orchard does not implement (or an
// unknown one); an empty name means llama.cpp's "default".
LlamaPreTokenizer llama_pre_tokenizer(std::string_view name);
// The GGUF name ("llama-bpe", "qwen2", ...) whose single regex is exactly `regex` (a
// tokenizer.json Split pattern), empty if none: convert_hf_to_gguf's detection, by regex.
std::string llama_pre_tokenizer_name_for_regex(std::string_view regex);

}  // namespace orchard
