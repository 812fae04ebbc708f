#include "generate/stop.h"

#include <algorithm>

#include "io/model_source.h"

namespace orchard {

StopStrings::StopStrings(std::vector<std::string> stops) : stops_(std::move(stops)) {
  std::erase_if(stops_, [](const std::string& s) { return s.empty(); });
}

size_t StopStrings::partial_match_length() const {
  size_t longest = 0;
  const std::string_view held = held_;
  for (const std::string& stop : stops_) {
    for (size_t len = std::min(stop.size() - 1, held.size()); len > longest; --len) {
      if (held.ends_with(std::string_view(stop).substr(0, len))) {
        longest = len;
        break;
      }
    }
  }
  return longest;
}

std::string StopStrings::feed(std::string_view text) {
  if (stopped_) return {};
  held_.append(text);

  size_t first = std::string::npos;
  for (const std::string& stop : stops_) {
    const size_t at = held_.find(stop);
    if (at < first) {
      first = at;
      matched_ = stop;
    }
  }
  if (first != std::string::npos) {
    stopped_ = true;
    std::string before = held_.substr(0, first);
    held_.clear();
    return before;
  }

  // Never cut inside a UTF-8 character, even for a stop string that starts mid-character.
  size_t cut = held_.size() - partial_match_length();
  while (cut > 0 && cut < held_.size() && (static_cast<unsigned char>(held_[cut]) & 0xC0) == 0x80) --cut;
  std::string ready = held_.substr(0, cut);
  held_.erase(0, cut);
  return ready;
}

std::string StopStrings::flush() {
  std::string rest;
  rest.swap(held_);
  return rest;
}

std::vector<TokenId> end_of_generation_ids(const Tokenizer& tokenizer, const ModelSource& source) {
  std::vector<TokenId> ids = tokenizer.end_of_generation_ids();
  if (source.generation_config && source.generation_config->is_object()) {
    const auto it = source.generation_config->find("eos_token_id");
    if (it != source.generation_config->end()) {
      if (it->is_number_integer()) ids.push_back(it->get<TokenId>());
      if (it->is_array())
        for (const auto& id : *it)
          if (id.is_number_integer()) ids.push_back(id.get<TokenId>());
    }
  }
  std::erase_if(ids, [&](TokenId id) { return id < 0 || id >= tokenizer.n_vocab(); });
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

}  // namespace orchard
