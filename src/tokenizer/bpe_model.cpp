#include <algorithm>
#include <queue>
#include <unordered_map>

#include "tokenizer/subword_model.h"
#include "core/utf8.h"

namespace orchard {

namespace {

class BpeModel final : public SubwordModel {
 public:
  BpeModel(std::shared_ptr<const Vocab> vocab, const std::vector<std::pair<std::string, std::string>>& merges,
           BpeOptions options)
      : vocab_(std::move(vocab)), options_(options) {
    merges_.reserve(merges.size());
    for (size_t rank = 0; rank < merges.size(); ++rank) {
      const auto& [left, right] = merges[rank];
      const TokenId l = vocab_->find(left), r = vocab_->find(right), merged = vocab_->find(left + right);
      if (l < 0 || r < 0 || merged < 0) continue;
      merges_.emplace(pair_key(l, r), Merge{static_cast<int>(rank), merged});  // first rank wins
    }
  }

  void encode(std::string_view word, std::vector<TokenId>& out) const override {
    if (options_.ignore_merges)
      if (TokenId id = vocab_->find(word); id >= 0) {
        out.push_back(id);
        return;
      }

    std::vector<Symbol> symbols;
    for (size_t pos = 0; pos < word.size();) {
      const size_t n = utf8::decode(word, pos).length;
      const int index = static_cast<int>(symbols.size());
      symbols.push_back({vocab_->find(word.substr(pos, n)), pos, n, index - 1,
                         pos + n < word.size() ? index + 1 : -1});
      pos += n;
    }
    std::priority_queue<Candidate> queue;
    for (int i = 1; i < static_cast<int>(symbols.size()); ++i) push_candidate(symbols, i - 1, i, queue);

    while (!queue.empty()) {
      const Candidate top = queue.top();
      queue.pop();
      Symbol& left = symbols[top.left];
      Symbol& right = symbols[top.right];
      // Stale entry: a side was merged away or changed since it was queued.
      if (left.length == 0 || right.length == 0 || left.next != top.right || left.id != top.left_id ||
          right.id != top.right_id)
        continue;
      left.id = top.merged;
      left.length += right.length;
      right.length = 0;
      left.next = right.next;
      if (right.next >= 0) symbols[right.next].prev = top.left;
      push_candidate(symbols, left.prev, top.left, queue);
      push_candidate(symbols, top.left, left.next, queue);
    }

    bool previous_unknown = false;
    for (int i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[i].next) {
      const Symbol& s = symbols[i];
      const bool unknown = s.id < 0;
      if (!unknown) out.push_back(s.id);
      else emit_unknown(word.substr(s.begin, s.length), previous_unknown, out);
      previous_unknown = unknown;
    }
  }

 private:
  struct Symbol {
    TokenId id;  // -1: a character that is not a token (never merges)
    size_t begin, length;
    int prev, next;
  };
  struct Merge {
    int rank;
    TokenId merged;
  };
  struct Candidate {
    int rank, left, right;
    TokenId left_id, right_id, merged;
    // Lowest rank first; on a tie the leftmost pair.
    bool operator<(const Candidate& o) const { return rank > o.rank || (rank == o.rank && left > o.left); }
  };

  static uint64_t pair_key(TokenId l, TokenId r) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(l)) << 32) | static_cast<uint32_t>(r);
  }

  void push_candidate(const std::vector<Symbol>& symbols, int left, int right,
                      std::priority_queue<Candidate>& queue) const {
    if (left < 0 || right < 0 || symbols[left].id < 0 || symbols[right].id < 0) return;
    auto it = merges_.find(pair_key(symbols[left].id, symbols[right].id));
    if (it == merges_.end()) return;
    queue.push({it->second.rank, left, right, symbols[left].id, symbols[right].id, it->second.merged});
  }

  void emit_unknown(std::string_view character, bool previous_unknown, std::vector<TokenId>& out) const {
    if (options_.byte_fallback) {
      std::vector<TokenId> bytes;
      for (unsigned char b : character) bytes.push_back(vocab_->byte_token(b));
      if (std::find(bytes.begin(), bytes.end(), -1) == bytes.end()) {
        out.insert(out.end(), bytes.begin(), bytes.end());
        return;
      }
    }
    if (vocab_->unk < 0) return;  // no way to spell it: dropped, as llama.cpp does
    if (options_.fuse_unk && previous_unknown && !out.empty() && out.back() == vocab_->unk) return;
    out.push_back(vocab_->unk);
  }

  std::shared_ptr<const Vocab> vocab_;
  BpeOptions options_;
  std::unordered_map<uint64_t, Merge> merges_;
};

}  // namespace

std::unique_ptr<SubwordModel> make_bpe_model(std::shared_ptr<const Vocab> vocab,
                                             const std::vector<std::pair<std::string, std::string>>& merges,
                                             BpeOptions options) {
  return std::make_unique<BpeModel>(std::move(vocab), merges, options);
}

}  // namespace orchard
