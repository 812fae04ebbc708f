#pragma once
// Splits template source into tokens exactly as jinja2's lexer does with the settings chat
// templates are rendered with (trim_blocks, lstrip_blocks, no keep_trailing_newline): text
// between tags becomes Data tokens with the whitespace control already applied.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace orchard::jinja {

enum class TokenType { Data, VariableBegin, VariableEnd, BlockBegin, BlockEnd, Name, String, Integer, Float, Operator, End };

struct Token {
  TokenType type;
  std::string text;  // Data text, name, operator, or the decoded value of a string literal
  std::int64_t integer = 0;
  double number = 0.0;
  std::size_t offset = 0;  // byte offset in the (newline-normalized) source, for messages
};

struct LexedTemplate {
  std::string source;  // newline-normalized source the offsets refer to
  std::vector<Token> tokens;
};

// Throws orchard::Error "line L, column C: ..." on malformed input.
LexedTemplate tokenize(std::string_view source);

// "line L, column C" of a byte offset.
std::string describe_location(std::string_view source, std::size_t offset);

}  // namespace orchard::jinja
