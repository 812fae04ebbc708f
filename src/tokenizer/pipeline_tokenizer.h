#pragma once
// The one concrete Tokenizer: special-token split -> normalizers -> pre-tokenizers -> subword
// model -> BOS/EOS, and per-token decoding rules. The GGUF and tokenizer.json loaders only
// differ in how they fill a TokenizerSpec.
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/special_tokens.h"
#include "tokenizer/subword_model.h"
#include "tokenizer/text_pipeline.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace orchard {

// How a token id turns back into bytes.
struct DecodeRules {
  bool byte_level = false;          // GPT-2 symbols -> bytes
  bool byte_tokens = false;         // "<0xXX>" -> that byte
  std::string space_marker;         // e.g. "▁" -> " "
  std::string continuation_prefix;  // WordPiece "##": removed; other word pieces get a leading space
  bool strip_leading_space = false; // decode() drops the space the encoder prepended
  // HF runs its decoder over added tokens too ("▁▁" added to Gemma's vocab prints as two
  // spaces); llama.cpp prints control/user-defined token text as stored.
  bool rules_apply_to_added_tokens = false;
};

struct TokenizerSpec {
  std::string kind;          // "spm", "bpe", "wordpiece"
  std::string pretokenizer;  // "llama3", "qwen2", "default", ...
  std::shared_ptr<Vocab> vocab = std::make_shared<Vocab>();
  SpecialTokenSplitter specials;
  std::vector<Normalizer> normalizers;
  std::vector<PreTokenizer> pre_tokenizers;
  std::unique_ptr<SubwordModel> model;
  std::vector<TokenId> prefix, suffix;  // added around the text by add_special
  DecodeRules decode;
};

class PipelineTokenizer final : public Tokenizer {
 public:
  // Throws orchard::Error naming `source_name` if the spec is incomplete.
  PipelineTokenizer(TokenizerSpec spec, const std::string& source_name);

  std::vector<TokenId> encode(std::string_view text, const EncodeOptions& options = {}) const override;
  std::string token_bytes(TokenId id, bool render_special = false) const override;
  int32_t n_vocab() const override { return vocab_->size(); }
  std::string kind() const override { return spec_.kind; }
  std::string pretokenizer() const override { return spec_.pretokenizer; }
  const std::string& token_text(TokenId id) const override;
  TokenId bos() const override { return vocab_->bos; }
  TokenId eos() const override { return vocab_->eos; }
  bool is_special(TokenId id) const override;
  bool is_end_of_generation(TokenId id) const override;
  std::vector<TokenId> end_of_generation_ids() const override { return vocab_->end_of_generation; }
  TokenId find_token(std::string_view text) const override { return vocab_->find(text); }

 protected:
  bool decode_strips_leading_space() const override { return spec_.decode.strip_leading_space; }

 private:
  void encode_fragment(std::string_view text, bool first_fragment, std::vector<TokenId>& out) const;
  void check_id(TokenId id) const;
  std::string apply_rules(const std::string& text) const;  // the DecodeRules on a token's text

  TokenizerSpec spec_;
  std::shared_ptr<const Vocab> vocab_;
  std::string source_name_;
};

}  // namespace orchard
