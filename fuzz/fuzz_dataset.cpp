// libFuzzer: arbitrary bytes as one line of a fine-tuning JSONL file must either parse into a
// record or throw orchard::Error naming the line; a parsed record must become an Example
// (through a small tokenizer and chat template, with and without prompt masking) or throw
// orchard::Error, and batch, by length and packed, without reading out of bounds.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "chat/chat_template.h"
#include "core/error.h"
#include "tokenizer/tokenizer.h"
#include "train/dataset_record.h"

namespace {

const char* const kTokenizer = R"({
  "added_tokens": [{"id": 6, "content": "<|end|>", "special": true}],
  "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
  "decoder": {"type": "ByteLevel"},
  "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "Ġ": 3, "Ġa": 4, "Ġab": 5}, "merges": ["a b", "Ġ a", "Ġa b"]}
})";

const char* const kTemplate =
    "{{ bos_token }}{% if tools %}{{ tools | tojson }}\n{% endif %}"
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}assistant: {% else %}{{ eos_token }}{% endif %}";

struct Fixture {
  std::unique_ptr<orchard::Tokenizer> tokenizer =
      orchard::tokenizer_from_json(nlohmann::json::parse(kTokenizer), nullptr, "fuzz");
  orchard::ChatTemplate chat_template{kTemplate};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Fixture fixture;
  using namespace orchard::train;
  Record record;
  try {
    record = parse_record(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.jsonl:1");
  } catch (const orchard::Error&) {
    return 0;  // rejecting a malformed line with a message is the expected outcome
  }
  for (bool with_template : {false, true})
    for (bool mask : {false, true}) {
      TextFormat format;
      format.tokenizer = fixture.tokenizer.get();
      format.chat_template = with_template ? &fixture.chat_template : nullptr;
      format.eos_token = "<|end|>";
      DatasetOptions options;
      options.mask_prompt = mask;
      Dataset d;
      try {
        d.examples = {make_example(record, format, options, "fuzz.jsonl:1")};
      } catch (const orchard::Error&) {
        continue;
      }
      for (bool pack : {false, true}) {
        BatchIterator batches(d, 1, 16, 0, pack);
        (void)batches.next().target_tokens();
      }
    }
  return 0;
}
