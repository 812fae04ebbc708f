#pragma once
// One line of a fine-tuning JSONL file: parsed and checked (parse_record), then turned into
// tokens (make_example). load_jsonl runs both per line; the fuzz target drives them directly.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "train/dataset.h"

namespace orchard::train {

struct Record {
  enum class Format { text, completion, chat };
  Format format = Format::text;
  std::string text;                // text
  std::string prompt, completion;  // completion
  nlohmann::ordered_json messages;  // chat: array of message objects, passed to the template as they are
  nlohmann::ordered_json tools;     // completion or chat: null or an array of tool definitions
};

// `where` ("train.jsonl:17") prefixes every error: malformed JSON, not an object, no format
// key or two of them, a field of the wrong type.
Record parse_record(std::string_view line, const std::string& where);

// Tokens as mlx_lm.tuner.datasets makes them (not yet truncated), prompt_length set only with
// options.mask_prompt. Template and format errors are prefixed with `where`.
Example make_example(const Record& record, const TextFormat& format, const DatasetOptions& options,
                     const std::string& where);

}  // namespace orchard::train
