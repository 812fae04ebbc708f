#pragma once
// When generation ends. Stop strings may be split across tokens ("<|end" + "|>"), so text that
// could still turn into a stop string is held back until it is known either way; the stop
// string itself is never emitted. End-of-generation ids come from the tokenizer (EOS, EOT,
// <|im_end|>, ...) merged with the HF generation_config's eos_token_id (a number or a list).
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace orchard {

struct ModelSource;

class StopStrings {
 public:
  // Empty strings are ignored (they would match everywhere).
  explicit StopStrings(std::vector<std::string> stops = {});

  // Takes newly decoded text and returns the part that is safe to show now. Once a stop string
  // appears, returns the text before it, stopped() becomes true and later input is dropped.
  std::string feed(std::string_view text);
  // The held-back tail, for when generation ends for another reason.
  std::string flush();
  bool stopped() const { return stopped_; }
  const std::string& matched() const { return matched_; }  // the stop string that fired

 private:
  // Length of the longest suffix of held_ that is a proper prefix of some stop string.
  size_t partial_match_length() const;

  std::vector<std::string> stops_;
  std::string held_;
  std::string matched_;
  bool stopped_ = false;
};

// Sorted, deduplicated ids that end generation for this model.
std::vector<TokenId> end_of_generation_ids(const Tokenizer& tokenizer, const ModelSource& source);

}  // namespace orchard
