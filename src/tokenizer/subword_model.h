#pragma once
// The three ways a pre-tokenized word becomes ids: SentencePiece-style score merges (llama.cpp's
// llm_tokenizer_spm), byte-level/byte-fallback BPE by merge rank, and WordPiece greedy
// longest match. Each keeps the vocab alive through a shared pointer.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/vocab.h"

namespace orchard {

class SubwordModel {
 public:
  virtual ~SubwordModel() = default;
  // Appends the ids of one word (already normalized and pre-tokenized) to `out`.
  virtual void encode(std::string_view word, std::vector<TokenId>& out) const = 0;
};

// Repeatedly merges the adjacent pair whose concatenation is the highest-scoring token;
// characters left without a token become <0xXX> byte tokens (or unk).
std::unique_ptr<SubwordModel> make_spm_model(std::shared_ptr<const Vocab> vocab);

struct BpeOptions {
  bool ignore_merges = false;  // a word that is itself a token is emitted whole (Llama 3)
  bool byte_fallback = false;  // a character without a token becomes its <0xXX> tokens (Gemma)
  bool fuse_unk = false;       // consecutive unknown characters give one unk
};
// `merges` in rank order; pairs whose parts or result are not tokens are ignored.
std::unique_ptr<SubwordModel> make_bpe_model(std::shared_ptr<const Vocab> vocab,
                                             const std::vector<std::pair<std::string, std::string>>& merges,
                                             BpeOptions options);

struct WordPieceOptions {
  std::string word_prefix;          // GGUF BERT vocabs mark word starts with "▁"
  std::string continuation_prefix;  // HF marks continuations with "##"
  size_t max_word_chars = 100;      // longer words become unk, as in HF
};
std::unique_ptr<SubwordModel> make_wordpiece_model(std::shared_ptr<const Vocab> vocab, WordPieceOptions options);

}  // namespace orchard
