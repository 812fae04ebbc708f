#pragma once
// UTF-8 helpers shared by the tokenizers and the chat templates: decoding one code point without ever reading past the
// end, repairing invalid input, and finding where the last complete character ends (streaming).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace orchard::utf8 {

inline constexpr char32_t kReplacement = 0xFFFD;

struct Decoded {
  char32_t cp = kReplacement;
  size_t length = 1;   // bytes consumed (1 for an invalid byte)
  bool valid = false;
};

// Decodes the character starting at `pos` (rejects overlongs, surrogates, > U+10FFFF).
Decoded decode(std::string_view s, size_t pos);
void append(std::string& out, char32_t cp);
std::string encode(char32_t cp);

// Every invalid byte becomes U+FFFD, as llama.cpp does before tokenizing.
std::string sanitize(std::string_view s);
bool is_valid(std::string_view s);

// Length of the longest prefix of `s` that does not end inside an incomplete (but so far
// valid) multi-byte character. Invalid bytes count as complete (they print as U+FFFD).
size_t complete_prefix(std::string_view s);

}  // namespace orchard::utf8
