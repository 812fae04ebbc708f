#pragma once
// Unicode facts the tokenizers need (normalization forms, categories, case) on top of
// libutf8proc, and GPT-2's byte <-> printable-character map used by byte-level BPE.
#include <optional>
#include <string>
#include <string_view>

namespace orchard::unicode {

enum class Form { NFC, NFD, NFKC, NFKD };
// Input must be valid UTF-8 (encode() sanitizes first).
std::string normalize(std::string_view text, Form form);
std::string lowercase(std::string_view text);
// NFD, then drops combining marks (Mn): BERT's accent stripping.
std::string strip_accents(std::string_view text);

bool is_whitespace(char32_t cp);   // White_Space as Rust's char::is_whitespace
bool is_punctuation(char32_t cp);  // general category P*
bool is_control(char32_t cp);      // BERT's notion: Cc/Cf/Co/Cn except \t \n \r
bool is_cjk_ideograph(char32_t cp);  // BERT's "Chinese character" blocks
bool is_numeric(char32_t cp);      // general category N* (Rust's char::is_numeric)
bool is_alphanumeric(char32_t cp); // L* or N* (HF Whitespace pre-tokenizer's \w, with '_')

// GPT-2 byte-level alphabet: every byte maps to one printable code point.
const std::string& byte_to_symbol(unsigned char byte);
std::string bytes_to_symbols(std::string_view bytes);
// The byte a symbol stands for, or nullopt for a code point outside the alphabet.
std::optional<unsigned char> symbol_to_byte(char32_t cp);

}  // namespace orchard::unicode
