#include "tokenizer/subword_model.h"
#include "core/utf8.h"

namespace orchard {

namespace {

// BERT's greedy longest-match-first: the first piece carries word_prefix, every later piece
// continuation_prefix; a word with any unmatched part is a single unk.
class WordPieceModel final : public SubwordModel {
 public:
  WordPieceModel(std::shared_ptr<const Vocab> vocab, WordPieceOptions options)
      : vocab_(std::move(vocab)), options_(std::move(options)) {}

  void encode(std::string_view word, std::vector<TokenId>& out) const override {
    std::vector<size_t> boundaries;  // byte offset of every character start, plus the end
    for (size_t pos = 0; pos < word.size(); pos += utf8::decode(word, pos).length) boundaries.push_back(pos);
    boundaries.push_back(word.size());
    const size_t n_chars = boundaries.size() - 1;
    if (n_chars == 0) return;

    const size_t mark = out.size();
    if (n_chars <= options_.max_word_chars) {
      std::string candidate;
      for (size_t start = 0; start < n_chars;) {
        TokenId found = -1;
        size_t end = n_chars;
        for (; end > start; --end) {
          candidate = start == 0 ? options_.word_prefix : options_.continuation_prefix;
          candidate.append(word.substr(boundaries[start], boundaries[end] - boundaries[start]));
          if ((found = vocab_->find(candidate)) >= 0) break;
        }
        if (found < 0) {
          out.resize(mark);
          break;
        }
        out.push_back(found);
        start = end;
      }
    }
    if (out.size() == mark && vocab_->unk >= 0) out.push_back(vocab_->unk);
  }

 private:
  std::shared_ptr<const Vocab> vocab_;
  WordPieceOptions options_;
};

}  // namespace

std::unique_ptr<SubwordModel> make_wordpiece_model(std::shared_ptr<const Vocab> vocab, WordPieceOptions options) {
  return std::make_unique<WordPieceModel>(std::move(vocab), std::move(options));
}

}  // namespace orchard
