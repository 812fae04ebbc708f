#include "core/utf8.h"

namespace orchard::utf8 {

namespace {
// Bytes a sequence has given its first byte; 0 for a byte that cannot start one.
size_t sequence_length(uint8_t b) {
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) return 2;
  if (b >= 0xE0 && b <= 0xEF) return 3;
  if (b >= 0xF0 && b <= 0xF4) return 4;
  return 0;
}
bool is_continuation(uint8_t b) { return (b & 0xC0) == 0x80; }
}  // namespace

Decoded decode(std::string_view s, size_t pos) {
  const auto b0 = static_cast<uint8_t>(s[pos]);
  const size_t n = sequence_length(b0);
  if (n == 1) return {b0, 1, true};
  if (n == 0 || pos + n > s.size()) return {};
  char32_t cp = b0 & (0x7F >> n);
  for (size_t i = 1; i < n; ++i) {
    const auto b = static_cast<uint8_t>(s[pos + i]);
    if (!is_continuation(b)) return {};
    cp = (cp << 6) | (b & 0x3F);
  }
  const bool overlong = (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000);
  if (overlong || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return {};
  return {cp, n, true};
}

void append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string encode(char32_t cp) {
  std::string s;
  append(s, cp);
  return s;
}

bool is_valid(std::string_view s) {
  for (size_t pos = 0; pos < s.size();) {
    const Decoded d = decode(s, pos);
    if (!d.valid) return false;
    pos += d.length;
  }
  return true;
}

std::string sanitize(std::string_view s) {
  if (is_valid(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  for (size_t pos = 0; pos < s.size();) {
    const Decoded d = decode(s, pos);
    if (d.valid) out.append(s.substr(pos, d.length));
    else append(out, kReplacement);
    pos += d.length;
  }
  return out;
}

size_t complete_prefix(std::string_view s) {
  // Only the last three bytes can belong to an unfinished character.
  const size_t start = s.size() > 3 ? s.size() - 3 : 0;
  for (size_t pos = start; pos < s.size(); ++pos) {
    const auto b = static_cast<uint8_t>(s[pos]);
    const size_t n = sequence_length(b);
    if (n <= 1 || pos + n <= s.size()) continue;
    bool continuations_so_far = true;
    for (size_t i = pos + 1; i < s.size(); ++i) continuations_so_far &= is_continuation(s[i]);
    if (continuations_so_far) return pos;
  }
  return s.size();
}

}  // namespace orchard::utf8
