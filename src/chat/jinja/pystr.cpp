#include "chat/jinja/pystr.h"

#include "core/utf8.h"

#include <algorithm>
#include <cstdio>

namespace orchard::jinja::pystr {

std::uint32_t decode(std::string_view s, std::size_t& pos) {
  const unsigned char lead = static_cast<unsigned char>(s[pos]);
  const utf8::Decoded d = utf8::decode(s, pos);
  pos += d.length;
  // An invalid byte maps to a lone surrogate like Python's surrogateescape, so it can never
  // be mistaken for a real character such as U+0085 or U+00A0.
  return d.valid ? static_cast<std::uint32_t>(d.cp) : 0xDC00u | lead;
}

std::vector<std::size_t> char_offsets(std::string_view s) {
  std::vector<std::size_t> offsets;
  std::size_t pos = 0;
  while (pos < s.size()) {
    offsets.push_back(pos);
    decode(s, pos);
  }
  offsets.push_back(s.size());
  return offsets;
}

std::size_t length(std::string_view s) { return char_offsets(s).size() - 1; }

bool is_space(std::uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 ||
         cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

namespace {

// The characters of `s` as (code point, byte range) so stripping keeps invalid bytes intact.
struct Char {
  std::uint32_t cp;
  std::size_t begin, end;
};

std::vector<Char> chars_of(std::string_view s) {
  std::vector<Char> out;
  std::size_t pos = 0;
  while (pos < s.size()) {
    const std::size_t begin = pos;
    const std::uint32_t cp = decode(s, pos);
    out.push_back({cp, begin, pos});
  }
  return out;
}

}  // namespace

std::string strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right) {
  const std::vector<Char> cs = chars_of(s);
  std::vector<std::uint32_t> set;
  if (chars) {
    for (const Char& c : chars_of(*chars)) set.push_back(c.cp);
  }
  const auto strippable = [&](std::uint32_t cp) {
    return chars ? std::find(set.begin(), set.end(), cp) != set.end() : is_space(cp);
  };
  std::size_t first = 0, last = cs.size();
  if (left)
    while (first < last && strippable(cs[first].cp)) ++first;
  if (right)
    while (last > first && strippable(cs[last - 1].cp)) --last;
  if (first == last) return {};
  return std::string(s.substr(cs[first].begin, cs[last - 1].end - cs[first].begin));
}

namespace {

std::vector<std::string> split_whitespace(std::string_view s, std::int64_t maxsplit, bool reverse) {
  std::vector<Char> cs = chars_of(s);
  std::vector<std::string> parts;
  if (!reverse) {
    std::size_t i = 0;
    while (i < cs.size()) {
      while (i < cs.size() && is_space(cs[i].cp)) ++i;
      if (i == cs.size()) break;
      if (maxsplit >= 0 && static_cast<std::int64_t>(parts.size()) == maxsplit) {
        std::size_t end = cs.size();
        while (end > i && is_space(cs[end - 1].cp)) --end;
        parts.emplace_back(s.substr(cs[i].begin, cs[end - 1].end - cs[i].begin));
        break;
      }
      std::size_t j = i;
      while (j < cs.size() && !is_space(cs[j].cp)) ++j;
      parts.emplace_back(s.substr(cs[i].begin, cs[j - 1].end - cs[i].begin));
      i = j;
    }
    return parts;
  }
  std::size_t i = cs.size();
  while (i > 0) {
    while (i > 0 && is_space(cs[i - 1].cp)) --i;
    if (i == 0) break;
    if (maxsplit >= 0 && static_cast<std::int64_t>(parts.size()) == maxsplit) {
      std::size_t begin = 0;
      while (begin < i && is_space(cs[begin].cp)) ++begin;
      parts.emplace_back(s.substr(cs[begin].begin, cs[i - 1].end - cs[begin].begin));
      break;
    }
    std::size_t j = i;
    while (j > 0 && !is_space(cs[j - 1].cp)) --j;
    parts.emplace_back(s.substr(cs[j].begin, cs[i - 1].end - cs[j].begin));
    i = j;
  }
  std::reverse(parts.begin(), parts.end());
  return parts;
}

}  // namespace

std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep, std::int64_t maxsplit) {
  if (!sep) return split_whitespace(s, maxsplit, false);
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (maxsplit < 0 || static_cast<std::int64_t>(parts.size()) < maxsplit) {
    const std::size_t at = s.find(*sep, start);
    if (at == std::string_view::npos) break;
    parts.emplace_back(s.substr(start, at - start));
    start = at + sep->size();
  }
  parts.emplace_back(s.substr(start));
  return parts;
}

std::vector<std::string> rsplit(std::string_view s, const std::optional<std::string>& sep, std::int64_t maxsplit) {
  if (!sep) return split_whitespace(s, maxsplit, true);
  std::vector<std::string> parts;
  std::size_t end = s.size();
  while (maxsplit < 0 || static_cast<std::int64_t>(parts.size()) < maxsplit) {
    if (end < sep->size()) break;
    const std::size_t at = s.rfind(*sep, end - sep->size());
    if (at == std::string_view::npos) break;
    parts.emplace_back(s.substr(at + sep->size(), end - at - sep->size()));
    end = at;
  }
  parts.emplace_back(s.substr(0, end));
  std::reverse(parts.begin(), parts.end());
  return parts;
}

std::string replace(std::string_view s, std::string_view old, std::string_view with, std::int64_t count) {
  std::string out;
  if (old.empty()) {
    // Python inserts `with` before every character and at the end.
    const std::vector<std::size_t> offsets = char_offsets(s);
    std::int64_t done = 0;
    for (std::size_t i = 0; i + 1 < offsets.size(); ++i) {
      if (count < 0 || done < count) {
        out += with;
        ++done;
      }
      out += s.substr(offsets[i], offsets[i + 1] - offsets[i]);
    }
    if (count < 0 || done < count) out += with;
    return out;
  }
  std::size_t start = 0;
  std::int64_t done = 0;
  while (count < 0 || done < count) {
    const std::size_t at = s.find(old, start);
    if (at == std::string_view::npos) break;
    out += s.substr(start, at - start);
    out += with;
    start = at + old.size();
    ++done;
  }
  out += s.substr(start);
  return out;
}

std::int64_t count(std::string_view s, std::string_view sub) {
  if (sub.empty()) return static_cast<std::int64_t>(length(s)) + 1;
  std::int64_t n = 0;
  for (std::size_t at = s.find(sub); at != std::string_view::npos; at = s.find(sub, at + sub.size())) ++n;
  return n;
}

std::int64_t find(std::string_view s, std::string_view sub, bool reverse) {
  const std::size_t at = reverse ? s.rfind(sub) : s.find(sub);
  if (at == std::string_view::npos) return -1;
  return static_cast<std::int64_t>(length(s.substr(0, at)));
}

namespace {
bool is_ascii_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_ascii_lower(char c) { return c >= 'a' && c <= 'z'; }
char to_upper(char c) { return is_ascii_lower(c) ? static_cast<char>(c - 32) : c; }
char to_lower(char c) { return is_ascii_upper(c) ? static_cast<char>(c + 32) : c; }
}  // namespace

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = to_upper(c);
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = to_lower(c);
  return out;
}

std::string title(std::string_view s) {
  std::string out(s);
  bool previous_cased = false;
  for (char& c : out) {
    const bool cased = is_ascii_upper(c) || is_ascii_lower(c);
    if (cased) c = previous_cased ? to_lower(c) : to_upper(c);
    previous_cased = cased;
  }
  return out;
}

std::string capitalize(std::string_view s) {
  std::string out = lower(s);
  if (!out.empty()) out[0] = to_upper(out[0]);
  return out;
}

namespace {

// Characters CPython's repr() prints as escapes: controls, the Latin-1 controls/NBSP/soft
// hyphen, separators other than the space, format characters and surrogates.
bool unprintable(std::uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0xA0) || cp == 0xAD || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200F) ||
         (cp >= 0x2028 && cp <= 0x202F) || (cp >= 0x205F && cp <= 0x206F) || cp == 0x3000 || cp == 0xFEFF ||
         (cp >= 0xD800 && cp <= 0xDFFF) || (cp >= 0xE000 && cp <= 0xF8FF) || (cp >= 0xFFF9 && cp <= 0xFFFB);
}

}  // namespace

std::string quote(std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char q = has_single && !has_double ? '"' : '\'';
  std::string out(1, q);
  std::size_t pos = 0;
  while (pos < s.size()) {
    const std::size_t begin = pos;
    const std::uint32_t cp = decode(s, pos);
    char buf[16];
    if (cp == static_cast<std::uint32_t>(q) || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (unprintable(cp)) {
      std::snprintf(buf, sizeof buf, cp < 0x100 ? "\\x%02x" : "\\u%04x", static_cast<unsigned>(cp));
      out += buf;
    } else {
      out += s.substr(begin, pos - begin);
    }
  }
  out += q;
  return out;
}

}  // namespace orchard::jinja::pystr
