#include "tokenizer/special_tokens.h"

#include <algorithm>

#include "tokenizer/unicode.h"
#include "core/utf8.h"

namespace orchard {

int SpecialTokenSplitter::child(int node, unsigned char byte) const {
  const auto& children = nodes_[node].children;
  auto it = std::lower_bound(children.begin(), children.end(), byte,
                             [](const auto& c, unsigned char b) { return c.first < b; });
  return it != children.end() && it->first == byte ? it->second : -1;
}

void SpecialTokenSplitter::add(std::string_view text, TokenId id, Options options) {
  if (text.empty()) return;
  int node = 0;
  for (unsigned char byte : text) {
    int next = child(node, byte);
    if (next < 0) {
      next = static_cast<int>(nodes_.size());
      nodes_.emplace_back();
      auto& children = nodes_[node].children;
      auto it = std::lower_bound(children.begin(), children.end(), byte,
                                 [](const auto& c, unsigned char b) { return c.first < b; });
      children.insert(it, {byte, next});
    }
    node = next;
  }
  if (nodes_[node].token < 0) {  // the first id registered for a text wins
    nodes_[node].token = id;
    nodes_[node].options = options;
  }
}

namespace {

size_t whitespace_suffix_start(std::string_view text) {
  size_t end = text.size();
  while (end > 0) {
    size_t begin = end - 1;
    while (begin > 0 && (static_cast<unsigned char>(text[begin]) & 0xC0) == 0x80) --begin;
    if (!unicode::is_whitespace(utf8::decode(text, begin).cp)) break;
    end = begin;
  }
  return end;
}

size_t whitespace_prefix_end(std::string_view text, size_t pos) {
  while (pos < text.size()) {
    const utf8::Decoded d = utf8::decode(text, pos);
    if (!unicode::is_whitespace(d.cp)) break;
    pos += d.length;
  }
  return pos;
}

}  // namespace

std::vector<SpecialTokenSplitter::Fragment> SpecialTokenSplitter::split(std::string_view text,
                                                                        bool parse_special) const {
  std::vector<Fragment> fragments;
  size_t raw_begin = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    int best = -1;
    size_t best_end = 0;
    for (int node = child(0, text[pos]), end = static_cast<int>(pos) + 1; node >= 0;
         node = end < static_cast<int>(text.size()) ? child(node, text[end]) : -1, ++end) {
      const Node& n = nodes_[node];
      if (n.token >= 0 && (parse_special || !n.options.control)) {
        best = node;
        best_end = end;
      }
    }
    if (best < 0) {
      ++pos;
      continue;
    }
    const Node& match = nodes_[best];
    std::string_view raw = text.substr(raw_begin, pos - raw_begin);
    if (match.options.lstrip) raw = raw.substr(0, whitespace_suffix_start(raw));
    if (!raw.empty()) fragments.push_back({raw, -1});
    fragments.push_back({text.substr(pos, best_end - pos), match.token});
    pos = match.options.rstrip ? whitespace_prefix_end(text, best_end) : best_end;
    raw_begin = pos;
  }
  if (raw_begin < text.size()) fragments.push_back({text.substr(raw_begin), -1});
  return fragments;
}

}  // namespace orchard
