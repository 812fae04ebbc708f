#include "tokenizer/text_pipeline.h"

#include <cctype>
#include <optional>

#include "core/utf8.h"

namespace orchard {

const char* const kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

namespace {

// Applies `split` to every piece and flattens the result.
template <typename Fn>
void split_each(std::vector<std::string>& pieces, Fn split) {
  std::vector<std::string> out;
  out.reserve(pieces.size());
  for (const std::string& piece : pieces)
    for (std::string& part : split(piece)) out.push_back(std::move(part));
  pieces = std::move(out);
}

// Spans of the characters for which `pred` holds (each char its own span).
template <typename Pred>
std::vector<std::pair<size_t, size_t>> char_spans(std::string_view text, Pred pred) {
  std::vector<std::pair<size_t, size_t>> spans;
  for (size_t pos = 0; pos < text.size();) {
    const utf8::Decoded d = utf8::decode(text, pos);
    if (pred(d.cp)) spans.emplace_back(pos, pos + d.length);
    pos += d.length;
  }
  return spans;
}

template <typename Pred>
PreTokenizer char_split(Pred pred, SplitBehavior behavior) {
  return [pred, behavior](std::vector<std::string>& pieces, bool) {
    split_each(pieces, [&](const std::string& p) { return split_at(p, char_spans(p, pred), behavior); });
  };
}

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  if (from.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  for (size_t hit; (hit = text.find(from, pos)) != std::string_view::npos; pos = hit + from.size()) {
    out.append(text.substr(pos, hit - pos));
    out.append(to);
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace

Normalizer unicode_normalizer(unicode::Form form) {
  return [form](std::string_view text) { return unicode::normalize(text, form); };
}

Normalizer lowercase_normalizer() {
  return [](std::string_view text) { return unicode::lowercase(text); };
}

Normalizer strip_accents_normalizer() {
  return [](std::string_view text) { return unicode::strip_accents(text); };
}

Normalizer prepend_normalizer(std::string prefix) {
  return [prefix](std::string_view text) { return text.empty() ? std::string() : prefix + std::string(text); };
}

Normalizer replace_normalizer(std::string from, std::string to) {
  return [from, to](std::string_view text) { return replace_all(text, from, to); };
}

Normalizer replace_regex_normalizer(Regex pattern, std::string to) {
  return [pattern, to](std::string_view text) {
    std::string out;
    size_t pos = 0;
    for (auto [b, e] : pattern.find_all(text)) {
      out.append(text.substr(pos, b - pos));
      out.append(to);
      pos = e;
    }
    out.append(text.substr(pos));
    return out;
  };
}

Normalizer strip_normalizer(bool left, bool right) {
  return [left, right](std::string_view text) {
    size_t begin = 0, end = text.size();
    if (left)
      while (begin < end) {
        const utf8::Decoded d = utf8::decode(text, begin);
        if (!unicode::is_whitespace(d.cp)) break;
        begin += d.length;
      }
    if (right)
      while (end > begin) {
        size_t start = end - 1;
        while (start > begin && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
        if (!unicode::is_whitespace(utf8::decode(text, start).cp)) break;
        end = start;
      }
    return std::string(text.substr(begin, end - begin));
  };
}

Normalizer bert_normalizer(bool clean_text, bool handle_chinese_chars, bool strip_accents, bool lowercase) {
  return [=](std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t pos = 0; pos < text.size();) {
      const utf8::Decoded d = utf8::decode(text, pos);
      pos += d.length;
      if (clean_text) {
        if (d.cp == 0 || d.cp == utf8::kReplacement || unicode::is_control(d.cp)) continue;
        if (unicode::is_whitespace(d.cp)) {
          out += ' ';
          continue;
        }
      }
      if (handle_chinese_chars && unicode::is_cjk_ideograph(d.cp)) {
        out += ' ';
        utf8::append(out, d.cp);
        out += ' ';
        continue;
      }
      utf8::append(out, d.cp);
    }
    if (strip_accents) out = unicode::strip_accents(out);
    if (lowercase) out = unicode::lowercase(out);
    return out;
  };
}

PreTokenizer regex_split(Regex pattern, SplitBehavior behavior, bool invert) {
  return [pattern, behavior, invert](std::vector<std::string>& pieces, bool) {
    split_each(pieces, [&](const std::string& p) { return split_at(p, pattern.find_all(p), behavior, invert); });
  };
}

PreTokenizer literal_split(std::string delimiter, SplitBehavior behavior, bool invert) {
  return [delimiter, behavior, invert](std::vector<std::string>& pieces, bool) {
    split_each(pieces, [&](const std::string& p) {
      std::vector<std::pair<size_t, size_t>> spans;
      if (!delimiter.empty())
        for (size_t hit = p.find(delimiter); hit != std::string::npos; hit = p.find(delimiter, hit + delimiter.size()))
          spans.emplace_back(hit, hit + delimiter.size());
      return split_at(p, spans, behavior, invert);
    });
  };
}

PreTokenizer byte_level(bool add_prefix_space, bool use_regex) {
  std::optional<Regex> gpt2;
  if (use_regex) gpt2.emplace(kGpt2Pattern);
  return [add_prefix_space, gpt2](std::vector<std::string>& pieces, bool) {
    split_each(pieces, [&](const std::string& p) {
      std::string text = add_prefix_space && (p.empty() || p[0] != ' ') ? " " + p : p;
      std::vector<std::string> parts =
          gpt2 ? split_at(text, gpt2->find_all(text), SplitBehavior::Isolated) : std::vector<std::string>{text};
      for (std::string& part : parts) part = unicode::bytes_to_symbols(part);
      return parts;
    });
  };
}

PreTokenizer metaspace(std::string replacement, PrependScheme scheme, bool split) {
  return [replacement, scheme, split](std::vector<std::string>& pieces, bool first_fragment) {
    for (size_t i = 0; i < pieces.size(); ++i) {
      std::string& p = pieces[i];
      p = replace_all(p, " ", replacement);
      const bool prepend = scheme == PrependScheme::Always || (scheme == PrependScheme::First && first_fragment && i == 0);
      if (prepend && p.compare(0, replacement.size(), replacement) != 0) p = replacement + p;
    }
    if (split) {
      split_each(pieces, [&](const std::string& p) {
        std::vector<std::pair<size_t, size_t>> spans;
        for (size_t hit = p.find(replacement); hit != std::string::npos; hit = p.find(replacement, hit + replacement.size()))
          spans.emplace_back(hit, hit + replacement.size());
        return split_at(p, spans, SplitBehavior::MergedWithNext);
      });
    }
  };
}

PreTokenizer digits(bool individual) {
  return char_split(unicode::is_numeric,
                    individual ? SplitBehavior::Isolated : SplitBehavior::Contiguous);
}

PreTokenizer whitespace_words() {
  return regex_split(Regex(R"(\w+|[^\w\s]+)"), SplitBehavior::Removed, /*invert=*/true);
}

PreTokenizer whitespace_split() { return char_split(unicode::is_whitespace, SplitBehavior::Removed); }

PreTokenizer punctuation(SplitBehavior behavior) {
  return char_split([](char32_t cp) { return (cp < 0x80 && std::ispunct(static_cast<int>(cp))) || unicode::is_punctuation(cp); },
                    behavior);
}

PreTokenizer bert_pre_tokenizer() {
  PreTokenizer on_whitespace = whitespace_split();
  PreTokenizer on_punctuation = punctuation(SplitBehavior::Isolated);
  return [on_whitespace, on_punctuation](std::vector<std::string>& pieces, bool first) {
    on_whitespace(pieces, first);
    on_punctuation(pieces, first);
  };
}

}  // namespace orchard
