#pragma once
// Pre-tokenizer regexes on PCRE2 (UTF + UCP, JIT-compiled once per pattern and shared), and
// the Hugging Face "Split" behaviours that turn matches into pieces.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace orchard {

class Regex {
 public:
  // Throws orchard::Error naming `pattern` if it does not compile. Compiled patterns are cached
  // process-wide, so building many tokenizers with the same regex compiles it once.
  explicit Regex(const std::string& pattern);
  const std::string& pattern() const;
  // Non-empty matches, left to right, as [begin, end) byte offsets. `text` must be valid UTF-8.
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;

  struct Compiled;

 private:
  std::shared_ptr<const Compiled> compiled_;
};

// What happens to the matched parts when a piece is split (HF SplitDelimiterBehavior).
enum class SplitBehavior { Isolated, Removed, MergedWithPrevious, MergedWithNext, Contiguous };
SplitBehavior parse_split_behavior(const std::string& name);  // "Isolated", ... ; Error otherwise

// Splits `text` at the given [begin, end) spans (sorted, non-overlapping). With `invert` the
// spans are the parts to keep and the gaps between them are the delimiters.
std::vector<std::string> split_at(std::string_view text, const std::vector<std::pair<size_t, size_t>>& spans,
                                  SplitBehavior behavior, bool invert = false);

}  // namespace orchard
