#include <queue>

#include "tokenizer/subword_model.h"
#include "core/utf8.h"

namespace orchard {

namespace {

class SpmModel final : public SubwordModel {
 public:
  explicit SpmModel(std::shared_ptr<const Vocab> vocab) : vocab_(std::move(vocab)) {}

  void encode(std::string_view word, std::vector<TokenId>& out) const override {
    std::vector<Symbol> symbols;
    for (size_t pos = 0; pos < word.size();) {
      const size_t n = utf8::decode(word, pos).length;
      const int index = static_cast<int>(symbols.size());
      symbols.push_back({pos, n, index - 1, pos + n < word.size() ? index + 1 : -1});
      pos += n;
    }
    std::priority_queue<Bigram> queue;
    for (int i = 1; i < static_cast<int>(symbols.size()); ++i) push_bigram(word, symbols, i - 1, i, queue);

    while (!queue.empty()) {
      const Bigram top = queue.top();
      queue.pop();
      Symbol& left = symbols[top.left];
      Symbol& right = symbols[top.right];
      // Stale entry: one side was merged since (sizes only grow, so a size change tells).
      if (left.length == 0 || right.length == 0 || left.length + right.length != top.length) continue;
      left.length += right.length;
      right.length = 0;
      left.next = right.next;
      if (right.next >= 0) symbols[right.next].prev = top.left;
      push_bigram(word, symbols, left.prev, top.left, queue);
      push_bigram(word, symbols, top.left, left.next, queue);
    }

    for (int i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[i].next) {
      const std::string_view piece = word.substr(symbols[i].begin, symbols[i].length);
      if (TokenId id = vocab_->find(piece); id >= 0) {
        out.push_back(id);
        continue;
      }
      for (unsigned char byte : piece)
        if (TokenId id = byte_fallback(byte); id >= 0) out.push_back(id);
    }
  }

 private:
  struct Symbol {
    size_t begin, length;
    int prev, next;
  };
  struct Bigram {
    float score;
    int left, right;
    size_t length;
    // Highest score first; on a tie the leftmost pair (llama.cpp's order).
    bool operator<(const Bigram& o) const { return score < o.score || (score == o.score && left > o.left); }
  };

  void push_bigram(std::string_view word, const std::vector<Symbol>& symbols, int left, int right,
                   std::priority_queue<Bigram>& queue) const {
    if (left < 0 || right < 0) return;
    const size_t length = symbols[left].length + symbols[right].length;
    const TokenId id = vocab_->find(word.substr(symbols[left].begin, length));
    if (id < 0) return;
    queue.push({vocab_->scores[id], left, right, length});
  }

  TokenId byte_fallback(unsigned char byte) const {
    if (TokenId id = vocab_->byte_token(byte); id >= 0) return id;
    if (TokenId id = vocab_->find(std::string_view(reinterpret_cast<const char*>(&byte), 1)); id >= 0) return id;
    return vocab_->unk;  // -1 when the vocab has no unk either: the byte is dropped
  }

  std::shared_ptr<const Vocab> vocab_;
};

}  // namespace

std::unique_ptr<SubwordModel> make_spm_model(std::shared_ptr<const Vocab> vocab) {
  return std::make_unique<SpmModel>(std::move(vocab));
}

}  // namespace orchard
