#pragma once
// Text <-> token ids. One Tokenizer type serves SentencePiece-style (score-based, byte
// fallback), byte-level BPE (with the pre-tokenizer regex of each model family) and WordPiece,
// built either from GGUF metadata ("tokenizer.ggml.*") or from a Hugging Face tokenizer.json.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace orchard {

class Metadata;
struct ModelSource;

using TokenId = int32_t;

struct EncodeOptions {
  bool add_special = false;    // add BOS/EOS (or CLS/SEP) the way the model's tokenizer does
  bool parse_special = false;  // turn special/added-token text ("<|eot_id|>") into its id
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  virtual std::vector<TokenId> encode(std::string_view text, const EncodeOptions& options = {}) const = 0;
  // The bytes a token stands for when printed (byte-fallback tokens give their byte, "▁"
  // becomes a space, byte-level BPE symbols map back to bytes). Special tokens give their text
  // only if `render_special`.
  virtual std::string token_bytes(TokenId id, bool render_special = false) const = 0;
  std::string decode(const std::vector<TokenId>& ids, bool render_special = false) const;

  virtual int32_t n_vocab() const = 0;
  virtual std::string kind() const = 0;          // "spm", "bpe", "wordpiece"
  virtual std::string pretokenizer() const = 0;  // "llama3", "qwen2", "gpt2", "default", ...
  virtual const std::string& token_text(TokenId id) const = 0;  // the vocab entry as stored
  virtual TokenId bos() const = 0;  // -1 when the model has none
  virtual TokenId eos() const = 0;
  virtual bool is_special(TokenId id) const = 0;      // control tokens (HF added tokens with special=true)
  virtual bool is_end_of_generation(TokenId id) const = 0;  // eos, eot, <|im_end|>, ...
  virtual std::vector<TokenId> end_of_generation_ids() const = 0;
  // Id of the token whose vocab text is exactly `text` ("<|im_end|>"), -1 if none.
  virtual TokenId find_token(std::string_view text) const = 0;

 protected:
  // True when encoding prepends a space marker (SentencePiece add_space_prefix, Metaspace,
  // WordPiece word starts) that decode() should not print.
  virtual bool decode_strips_leading_space() const { return false; }
};

// GGUF "tokenizer.ggml.*" keys: model "llama" (SentencePiece), "gpt2" (byte-level BPE with the
// llama.cpp pre-tokenizer named by tokenizer.ggml.pre) or "bert" (WordPiece). Throws
// orchard::Error naming `source_name` and the key on missing or inconsistent metadata.
std::unique_ptr<Tokenizer> tokenizer_from_gguf_metadata(const Metadata& md, const std::string& source_name);
// A Hugging Face tokenizer.json (BPE or WordPiece model) plus optional tokenizer_config.json
// (special-token names, add_bos_token/add_eos_token when there is no post-processor template).
std::unique_ptr<Tokenizer> tokenizer_from_json(const nlohmann::json& tokenizer_json,
                                               const nlohmann::json* tokenizer_config,
                                               const std::string& source_name);
// Picks tokenizer.json for an HF folder, GGUF metadata otherwise.
std::unique_ptr<Tokenizer> load_tokenizer(const ModelSource& source);

// Feeds ids one at a time and returns only complete UTF-8 text, holding back a partial
// multi-byte character until its remaining bytes arrive (so streaming never prints half of it).
class StreamingDetokenizer {
 public:
  explicit StreamingDetokenizer(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {}
  std::string feed(TokenId id);
  std::string flush();  // whatever is held back (invalid bytes become U+FFFD)

 private:
  const Tokenizer& tokenizer_;
  std::string pending_;
};

}  // namespace orchard
