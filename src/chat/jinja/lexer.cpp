#include "chat/jinja/lexer.h"

#include <array>
#include <cstdio>

#include "chat/jinja/pystr.h"
#include "core/utf8.h"
#include "core/error.h"

namespace orchard::jinja {

std::string describe_location(std::string_view source, std::size_t offset) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset && i < source.size(); ++i) {
    if (source[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

namespace {

// jinja2 joins lines with "\n" whatever the original line endings, and drops one final newline.
std::string normalize_newlines(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (std::size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

// Python str.rstrip() with no arguments.
std::string_view rstrip_space(std::string_view s) {
  const std::string stripped = pystr::strip(s, std::nullopt, false, true);
  return s.substr(0, stripped.size());
}

class Lexer {
 public:
  explicit Lexer(std::string source) : src_(std::move(source)) {}

  LexedTemplate run() {
    while (pos_ < src_.size()) {
      const std::size_t tag = next_tag(pos_);
      if (tag == std::string::npos) {
        data(src_.substr(pos_), pos_);
        break;
      }
      const char kind = src_[tag + 1];
      const char sign = tag + 2 < src_.size() && (src_[tag + 2] == '-' || src_[tag + 2] == '+') ? src_[tag + 2] : 0;
      data(strip_before(std::string_view(src_).substr(pos_, tag - pos_), sign, kind != '{'), pos_);
      pos_ = tag + 2 + (sign ? 1 : 0);
      if (kind == '#') {
        comment(tag);
      } else if (kind == '%' && raw_block(tag)) {
        continue;
      } else {
        expression(kind == '%' ? TokenType::BlockBegin : TokenType::VariableBegin, tag);
      }
    }
    tokens_.push_back({TokenType::End, "", 0, 0.0, src_.size()});
    return {std::move(src_), std::move(tokens_)};
  }

 private:
  [[noreturn]] void fail(std::size_t offset, const std::string& message) const {
    throw Error(describe_location(src_, offset) + ": " + message);
  }

  std::size_t next_tag(std::size_t from) const {
    for (std::size_t i = src_.find('{', from); i != std::string::npos; i = src_.find('{', i + 1)) {
      if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return std::string::npos;
  }

  // The whitespace control applied to text before a tag: "-" strips all whitespace;
  // lstrip_blocks removes indentation before block and comment tags (not "{{", not "{%+").
  std::string_view strip_before(std::string_view text, char sign, bool block_or_comment) const {
    if (sign == '-') return rstrip_space(text);
    if (sign == '+' || !block_or_comment) return text;
    const std::size_t line_begin = text.rfind('\n') == std::string_view::npos ? 0 : text.rfind('\n') + 1;
    if (line_begin == 0 && !line_starting_) return text;
    const std::string_view last_line = text.substr(line_begin);
    if (last_line.empty() || !rstrip_space(last_line).empty()) return text;
    return text.substr(0, line_begin);
  }

  void data(std::string_view text, std::size_t offset) {
    if (!text.empty()) tokens_.push_back({TokenType::Data, std::string(text), 0, 0.0, offset});
  }

  // After a tag end: "-" eats all following whitespace; a plain block/comment end eats one
  // newline (trim_blocks); "+" keeps everything.
  void after_tag_end(char sign, bool trims_newline) {
    if (sign == '-') {
      skip_whitespace();
    } else if (sign != '+' && trims_newline && pos_ < src_.size() && src_[pos_] == '\n') {
      ++pos_;
    }
    line_starting_ = pos_ > 0 && src_[pos_ - 1] == '\n';
  }

  // Python's \s: any Unicode whitespace, decoded so that UTF-8 continuation bytes never match.
  void skip_whitespace() {
    while (pos_ < src_.size()) {
      std::size_t next = pos_;
      if (!pystr::is_space(pystr::decode(src_, next))) break;
      pos_ = next;
    }
  }

  void comment(std::size_t tag) {
    const std::size_t end = src_.find("#}", pos_);
    if (end == std::string::npos) fail(tag, "missing end of comment tag");
    const char sign = end > pos_ && (src_[end - 1] == '-' || src_[end - 1] == '+') ? src_[end - 1] : 0;
    pos_ = end + 2;
    after_tag_end(sign, true);
  }

  // Matches `{%[-+]? raw [-]?%}` at `tag`; on success emits the raw text up to endraw.
  bool raw_block(std::size_t tag) {
    std::size_t p = skip_ascii_space(pos_);
    if (src_.compare(p, 3, "raw") != 0 || (p + 3 < src_.size() && is_name_char(src_[p + 3]))) return false;
    p = skip_ascii_space(p + 3);
    const bool strip_after = src_.compare(p, 3, "-%}") == 0;
    if (!strip_after && src_.compare(p, 2, "%}") != 0) return false;
    pos_ = p + (strip_after ? 3 : 2);
    if (strip_after) after_tag_end('-', false);
    for (std::size_t end = src_.find("{%", pos_); end != std::string::npos; end = src_.find("{%", end + 1)) {
      const char sign = end + 2 < src_.size() && (src_[end + 2] == '-' || src_[end + 2] == '+') ? src_[end + 2] : 0;
      std::size_t q = skip_ascii_space(end + 2 + (sign ? 1 : 0));
      if (src_.compare(q, 6, "endraw") != 0) continue;
      q = skip_ascii_space(q + 6);
      char end_sign = 0;
      if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) end_sign = src_[q++];
      if (src_.compare(q, 2, "%}") != 0) continue;
      line_starting_ = false;
      data(strip_before(std::string_view(src_).substr(pos_, end - pos_), sign, true), pos_);
      pos_ = q + 2;
      after_tag_end(end_sign, true);
      return true;
    }
    fail(tag, "missing end of raw directive");
  }

  std::size_t skip_ascii_space(std::size_t p) const {
    while (p < src_.size() && (src_[p] == ' ' || src_[p] == '\t' || src_[p] == '\n')) ++p;
    return p;
  }

  // Lexes the inside of {{ }} or {% %} up to the closing delimiter at bracket depth 0.
  void expression(TokenType begin, std::size_t tag) {
    const bool block = begin == TokenType::BlockBegin;
    tokens_.push_back({begin, "", 0, 0.0, tag});
    std::vector<char> brackets;
    while (true) {
      skip_whitespace();
      if (pos_ >= src_.size()) fail(tag, block ? "unexpected end of template, expected '%}'" : "unexpected end of template, expected '}}'");
      if (brackets.empty() && closes(block)) return;
      const char c = src_[pos_];
      if (is_digit(c)) {
        number();
      } else if (is_name_start(c)) {
        const std::size_t start = pos_;
        while (pos_ < src_.size() && is_name_char(src_[pos_])) ++pos_;
        tokens_.push_back({TokenType::Name, src_.substr(start, pos_ - start), 0, 0.0, start});
      } else if (c == '\'' || c == '"') {
        string_literal();
      } else {
        op(brackets);
      }
    }
  }

  bool closes(bool block) {
    const std::string_view rest = std::string_view(src_).substr(pos_);
    const char* end = block ? "%}" : "}}";
    const std::size_t at = pos_;
    if (rest.size() >= 3 && rest[0] == '-' && rest.substr(1, 2) == end) {
      pos_ += 3;
      after_tag_end('-', block);
    } else if (block && rest.size() >= 3 && rest[0] == '+' && rest.substr(1, 2) == end) {
      pos_ += 3;
      after_tag_end('+', block);
    } else if (rest.substr(0, 2) == end) {
      pos_ += 2;
      if (block) after_tag_end(0, true);
      else line_starting_ = false;
    } else {
      return false;
    }
    tokens_.push_back({block ? TokenType::BlockEnd : TokenType::VariableEnd, "", 0, 0.0, at});
    return true;
  }

  // Digits with optional underscores between them (jinja2 allows 1_000).
  std::size_t digits(std::size_t p) const {
    if (p >= src_.size() || !is_digit(src_[p])) return p;
    while (p < src_.size() && (is_digit(src_[p]) || (src_[p] == '_' && p + 1 < src_.size() && is_digit(src_[p + 1])))) ++p;
    return p;
  }

  void number() {
    const std::size_t start = pos_;
    std::size_t end = digits(pos_);
    bool is_float = false;
    const bool after_dot = start > 0 && src_[start - 1] == '.';  // `x.0.1` is attribute access
    if (!after_dot) {
      std::size_t p = end;
      if (p + 1 < src_.size() && src_[p] == '.' && is_digit(src_[p + 1])) {
        p = digits(p + 1);
        is_float = true;
      }
      if (p < src_.size() && (src_[p] == 'e' || src_[p] == 'E')) {
        std::size_t q = p + 1;
        if (q < src_.size() && (src_[q] == '+' || src_[q] == '-')) ++q;
        if (q < src_.size() && is_digit(src_[q])) {
          p = digits(q);
          is_float = true;
        }
      }
      if (is_float) end = p;
    }
    std::string text;
    for (std::size_t i = start; i < end; ++i)
      if (src_[i] != '_') text += src_[i];
    pos_ = end;
    Token tok{is_float ? TokenType::Float : TokenType::Integer, text, 0, 0.0, start};
    if (is_float) {
      tok.number = std::strtod(text.c_str(), nullptr);
    } else {
      errno = 0;
      const unsigned long long v = std::strtoull(text.c_str(), nullptr, 10);
      if (errno == ERANGE || v > static_cast<unsigned long long>(INT64_MAX)) fail(start, "integer literal too large");
      tok.integer = static_cast<std::int64_t>(v);
    }
    tokens_.push_back(std::move(tok));
  }

  // Decodes escapes the way Python's "unicode-escape" codec does (what jinja2 applies).
  void string_literal() {
    const std::size_t start = pos_;
    const char q = src_[pos_++];
    std::string value;
    while (true) {
      if (pos_ >= src_.size()) fail(start, "unterminated string literal");
      const char c = src_[pos_];
      if (c == q) {
        ++pos_;
        break;
      }
      if (c != '\\') {
        value += c;
        ++pos_;
        continue;
      }
      if (pos_ + 1 >= src_.size()) fail(start, "unterminated string literal");
      const char e = src_[pos_ + 1];
      pos_ += 2;
      switch (e) {
        case '\n': break;  // line continuation
        case '\\': value += '\\'; break;
        case '\'': value += '\''; break;
        case '"': value += '"'; break;
        case 'a': value += '\a'; break;
        case 'b': value += '\b'; break;
        case 'f': value += '\f'; break;
        case 'n': value += '\n'; break;
        case 'r': value += '\r'; break;
        case 't': value += '\t'; break;
        case 'v': value += '\v'; break;
        case 'x': utf8::append(value, hex_escape(start, 2)); break;
        case 'u': utf8::append(value, hex_escape(start, 4)); break;
        case 'U': utf8::append(value, hex_escape(start, 8)); break;
        default:
          if (e >= '0' && e <= '7') {
            std::uint32_t cp = e - '0';
            for (int k = 0; k < 2 && pos_ < src_.size() && src_[pos_] >= '0' && src_[pos_] <= '7'; ++k)
              cp = cp * 8 + (src_[pos_++] - '0');
            utf8::append(value, cp);
          } else {
            value += '\\';  // unknown escapes stay as written
            value += e;
          }
      }
    }
    tokens_.push_back({TokenType::String, std::move(value), 0, 0.0, start});
  }

  std::uint32_t hex_escape(std::size_t start, int width) {
    std::uint32_t cp = 0;
    for (int k = 0; k < width; ++k) {
      const char h = pos_ < src_.size() ? src_[pos_] : 0;
      const int d = is_digit(h) ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10 : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
      if (d < 0) fail(start, "truncated \\x, \\u or \\U escape in string literal");
      cp = cp * 16 + d;
      ++pos_;
    }
    if (cp > 0x10FFFF) fail(start, "illegal Unicode character in string literal");
    return cp;
  }

  void op(std::vector<char>& brackets) {
    static constexpr std::array<const char*, 6> two = {"//", "**", "==", "!=", ">=", "<="};
    const std::size_t start = pos_;
    for (const char* t : two) {
      if (src_.compare(pos_, 2, t) == 0) {
        pos_ += 2;
        tokens_.push_back({TokenType::Operator, t, 0, 0.0, start});
        return;
      }
    }
    const char c = src_[pos_];
    if (std::string_view("+-/*%~[](){}><=.:|,;").find(c) == std::string_view::npos) {
      char buf[48];
      std::snprintf(buf, sizeof buf, "unexpected character '%c' (0x%02x)", c >= 32 && c < 127 ? c : '?', static_cast<unsigned char>(c));
      fail(start, buf);
    }
    if (c == '(' || c == '[' || c == '{') brackets.push_back(c);
    if (c == ')' || c == ']' || c == '}') {
      const char open = c == ')' ? '(' : c == ']' ? '[' : '{';
      if (brackets.empty() || brackets.back() != open) fail(start, std::string("unexpected '") + c + "'");
      brackets.pop_back();
    }
    ++pos_;
    tokens_.push_back({TokenType::Operator, std::string(1, c), 0, 0.0, start});
  }

  std::string src_;
  std::size_t pos_ = 0;
  bool line_starting_ = true;
  std::vector<Token> tokens_;
};

}  // namespace

LexedTemplate tokenize(std::string_view source) { return Lexer(normalize_newlines(source)).run(); }

}  // namespace orchard::jinja
