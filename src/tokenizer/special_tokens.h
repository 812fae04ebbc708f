#pragma once
// Splits text on special/added tokens before any normalization, like llama.cpp's
// tokenizer_st_partition and HF's added-token matching: the leftmost occurrence wins, the
// longest token at that position first. Control tokens ("<|eot_id|>") are only recognised
// with parse_special; user-defined added tokens always are.
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace orchard {

class SpecialTokenSplitter {
 public:
  struct Options {
    bool control = true;  // needs parse_special to be recognised
    bool lstrip = false;  // swallows whitespace before the token
    bool rstrip = false;  // swallows whitespace after the token
  };
  void add(std::string_view text, TokenId id, Options options);
  bool empty() const { return nodes_.size() <= 1; }

  struct Fragment {
    std::string_view text;  // raw text when token < 0
    TokenId token = -1;
  };
  std::vector<Fragment> split(std::string_view text, bool parse_special) const;

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int>> children;  // sorted by byte
    TokenId token = -1;
    Options options;
  };
  int child(int node, unsigned char byte) const;
  std::vector<Node> nodes_ = std::vector<Node>(1);
};

}  // namespace orchard
