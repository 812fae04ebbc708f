#pragma once
// Python str semantics on UTF-8 text: indexing, slicing and len() count code points, strip()
// and split() use Python's notion of whitespace. Invalid UTF-8 bytes count as one character
// each so no input can make these functions read out of bounds.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace orchard::jinja::pystr {

// Byte offsets of every character start, plus the total size at the end.
std::vector<std::size_t> char_offsets(std::string_view s);
std::size_t length(std::string_view s);
// Decodes the character at byte offset `pos` (advancing it); an invalid byte b decodes as
// U+DC00+b (Python's surrogateescape) and advances by one.
std::uint32_t decode(std::string_view s, std::size_t& pos);

bool is_space(std::uint32_t cp);  // str.isspace() for one character

// str.strip/lstrip/rstrip: chars == nullopt strips whitespace, otherwise any of `chars`.
std::string strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right);
// str.split(sep, maxsplit): sep == nullopt splits on whitespace runs and drops empty parts.
std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep, std::int64_t maxsplit);
std::vector<std::string> rsplit(std::string_view s, const std::optional<std::string>& sep, std::int64_t maxsplit);
std::string replace(std::string_view s, std::string_view old, std::string_view with, std::int64_t count);
// Number of non-overlapping occurrences (str.count); "" occurs len+1 times.
std::int64_t count(std::string_view s, std::string_view sub);
// str.find / str.rfind in code points, -1 when absent.
std::int64_t find(std::string_view s, std::string_view sub, bool reverse);

// Case mappings. Only ASCII letters change case (non-ASCII text passes through unchanged).
std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string title(std::string_view s);       // str.title(): words start after non-letters
std::string capitalize(std::string_view s);  // str.capitalize()

// Python repr of a str: quotes chosen like CPython, escapes for control/unprintable chars.
std::string quote(std::string_view s);

}  // namespace orchard::jinja::pystr
