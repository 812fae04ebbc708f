#include "tokenizer/regex.h"

#include <algorithm>
#include <map>
#include <mutex>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/error.h"
#include "core/utf8.h"

namespace orchard {

struct Regex::Compiled {
  std::string pattern;
  pcre2_code* code = nullptr;
  ~Compiled() { pcre2_code_free(code); }
};

namespace {

std::shared_ptr<const Regex::Compiled> compile(const std::string& pattern) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const Regex::Compiled>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = cache.find(pattern); it != cache.end()) return it->second;

  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
  if (!code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof(message));
    throw Error("pre-tokenizer regex '" + pattern + "' does not compile at offset " + std::to_string(offset) +
                ": " + reinterpret_cast<const char*>(message));
  }
  // JIT is an optimisation only: if it is unavailable the interpreter gives the same matches.
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  auto compiled = std::make_shared<Regex::Compiled>();
  compiled->pattern = pattern;
  compiled->code = code;
  // Real tokenizers use a handful of patterns; the bound only matters for hostile input.
  if (cache.size() < 256) cache.emplace(pattern, compiled);
  return compiled;
}

// One match context + JIT stack per thread: long whitespace runs under lookahead patterns
// need more than PCRE2's default 32 KiB JIT stack.
struct MatchResources {
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  pcre2_jit_stack* stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
  MatchResources() { pcre2_jit_stack_assign(context, nullptr, stack); }
  ~MatchResources() {
    pcre2_jit_stack_free(stack);
    pcre2_match_context_free(context);
  }
};

}  // namespace

Regex::Regex(const std::string& pattern) : compiled_(compile(pattern)) {}

const std::string& Regex::pattern() const { return compiled_->pattern; }

std::vector<std::pair<size_t, size_t>> Regex::find_all(std::string_view text) const {
  thread_local MatchResources resources;
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> match(
      pcre2_match_data_create_from_pattern(compiled_->code, nullptr), &pcre2_match_data_free);
  std::vector<std::pair<size_t, size_t>> spans;
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t start = 0;
  while (start < text.size()) {
    const int rc = pcre2_match(compiled_->code, subject, text.size(), start, PCRE2_NO_UTF_CHECK, match.get(),
                               resources.context);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof(message));
      throw Error("pre-tokenizer regex '" + compiled_->pattern + "' failed: " + reinterpret_cast<const char*>(message));
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.get());
    const size_t begin = ovector[0], end = ovector[1];
    if (end > begin) {
      spans.emplace_back(begin, end);
      start = end;
    } else {
      start = begin + utf8::decode(text, begin).length;  // step over an empty match
    }
  }
  return spans;
}

SplitBehavior parse_split_behavior(const std::string& name) {
  if (name == "Isolated") return SplitBehavior::Isolated;
  if (name == "Removed") return SplitBehavior::Removed;
  if (name == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (name == "Contiguous") return SplitBehavior::Contiguous;
  throw Error("unknown split behavior '" + name + "'");
}

std::vector<std::string> split_at(std::string_view text, const std::vector<std::pair<size_t, size_t>>& spans,
                                  SplitBehavior behavior, bool invert) {
  // The text as alternating parts, each flagged as delimiter or not (HF's find_matches).
  struct Part {
    size_t begin, end;
    bool delimiter;
  };
  std::vector<Part> parts;
  size_t prev = 0;
  for (auto [b, e] : spans) {
    if (b > prev) parts.push_back({prev, b, invert});
    parts.push_back({b, e, !invert});
    prev = e;
  }
  if (prev < text.size()) parts.push_back({prev, text.size(), invert});

  std::vector<std::pair<size_t, size_t>> pieces;
  bool previous_delimiter = false;
  switch (behavior) {
    case SplitBehavior::Isolated:
      for (const Part& p : parts) pieces.emplace_back(p.begin, p.end);
      break;
    case SplitBehavior::Removed:
      for (const Part& p : parts)
        if (!p.delimiter) pieces.emplace_back(p.begin, p.end);
      break;
    case SplitBehavior::MergedWithPrevious:
      for (const Part& p : parts) {
        if (p.delimiter && !previous_delimiter && !pieces.empty()) pieces.back().second = p.end;
        else pieces.emplace_back(p.begin, p.end);
        previous_delimiter = p.delimiter;
      }
      break;
    case SplitBehavior::MergedWithNext:
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        if (it->delimiter && !previous_delimiter && !pieces.empty()) pieces.back().first = it->begin;
        else pieces.emplace_back(it->begin, it->end);
        previous_delimiter = it->delimiter;
      }
      std::reverse(pieces.begin(), pieces.end());
      break;
    case SplitBehavior::Contiguous:
      for (const Part& p : parts) {
        if (p.delimiter == previous_delimiter && !pieces.empty()) pieces.back().second = p.end;
        else pieces.emplace_back(p.begin, p.end);
        previous_delimiter = p.delimiter;
      }
      break;
  }
  std::vector<std::string> out;
  out.reserve(pieces.size());
  for (auto [b, e] : pieces)
    if (e > b) out.emplace_back(text.substr(b, e - b));
  return out;
}

}  // namespace orchard
