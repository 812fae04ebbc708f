// The bundled model's tokenizer (assets/orchard-kjv/tokenizer, trained by tools/train_tokenizer.py):
// the recipe reproduces it byte for byte from the Debian package, and orchard's tokenizer.json
// loader gives the same ids as transformers.js (@lenml/tokenizers, tests/js/encode.mjs) on the
// validation corpus, on the multilingual text set (byte-level fallback) and on chat-formatted
// text with the special tokens; decoding gives every text back.
#include <gtest/gtest.h>

#include <fstream>

#include "support/paths.h"
#include "tokenizer/tokenizer.h"

namespace orchard {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path tokenizer_dir() { return test::source_dir() / "assets" / "orchard-kjv" / "tokenizer"; }

// Writes the King James corpus (scripts/make-kjv-data.sh) once per test binary; empty if the
// bible-kjv package is not installed.
fs::path kjv_data() {
  static const fs::path dir = [] {
    if (test::run_command("command -v bible > /dev/null 2>&1").status != 0) return fs::path();
    const fs::path out = test::temp_dir("bundled_tokenizer_kjv");
    const std::string cmd = "bash '" + (test::source_dir() / "scripts" / "make-kjv-data.sh").string() + "' '" +
                            out.string() + "' > /dev/null";
    return test::run_command(cmd).status == 0 ? out : fs::path();
  }();
  return dir;
}

#define REQUIRE_KJV()                                                                                   \
  if (kjv_data().empty()) GTEST_SKIP() << "the 'bible' program is missing (apt-get install bible-kjv)"

TEST(BundledTokenizer, TheRecipeReproducesTheCommittedTokenizer) {
  REQUIRE_KJV();
  const std::string python = test::reference_python("json");
  if (python.empty()) GTEST_SKIP() << "no python3";
  const fs::path out = test::temp_dir("bundled_tokenizer_trained");
  const std::string cmd = python + " '" + (test::source_dir() / "tools" / "train_tokenizer.py").string() +
                          "' --data '" + kjv_data().string() + "' --vocab-size 4096 --out '" + out.string() + "' > /dev/null";
  ASSERT_EQ(test::run_command(cmd).status, 0) << cmd;
  for (const char* file : {"tokenizer.json", "tokenizer_config.json"})
    EXPECT_TRUE(test::read_file(out / file) == test::read_file(tokenizer_dir() / file)) << file << " differs";
}

TEST(BundledTokenizer, MatchesTheJsReferenceAndRoundTrips) {
  if (test::run_command("node --version > /dev/null 2>&1").status != 0) GTEST_SKIP() << "node is not installed";
  const fs::path js = test::source_dir() / "tests" / "js";
  if (!fs::exists(js / "node_modules" / "@lenml" / "tokenizers")) GTEST_SKIP() << "run npm ci in tests/js";

  std::vector<std::string> texts =
      json::parse(test::read_file(test::source_dir() / "tests" / "data" / "tokenizer-texts.json"));
  texts.push_back("<|user|>\nWho made the heaven?<|eos|>\n<|assistant|>\nGod made the heaven.<|eos|>\n");
  if (!kjv_data().empty()) {
    std::ifstream valid(kjv_data() / "valid.jsonl");
    for (std::string line; std::getline(valid, line);) texts.push_back(json::parse(line)["text"]);
  }
  ASSERT_GE(texts.size(), 250u);
  const fs::path texts_file = test::temp_dir("bundled_tokenizer_texts") / "texts.json";
  std::ofstream(texts_file) << json(texts).dump();

  const json tokenizer_json = json::parse(test::read_file(tokenizer_dir() / "tokenizer.json"));
  const json config = json::parse(test::read_file(tokenizer_dir() / "tokenizer_config.json"));
  auto tok = tokenizer_from_json(tokenizer_json, &config, "orchard-kjv/tokenizer.json");
  for (bool add_special : {false, true}) {
    const std::string cmd = "cd '" + js.string() + "' && node encode.mjs '" + tokenizer_dir().string() + "'" +
                            (add_special ? " --add-special" : "") + " < '" + texts_file.string() + "'";
    const test::CommandResult r = test::run_command(cmd);
    ASSERT_EQ(r.status, 0) << cmd;
    const json expected = json::parse(r.out);
    ASSERT_EQ(expected.size(), texts.size());
    int mismatches = 0;
    for (size_t i = 0; i < texts.size(); ++i) {
      const std::vector<TokenId> got = tok->encode(texts[i], {.add_special = add_special, .parse_special = true});
      if (got != expected[i].get<std::vector<TokenId>>()) {
        if (++mismatches <= 5) ADD_FAILURE() << json(texts[i]).dump() << (add_special ? " (add_special)" : "");
      }
      if (!add_special) EXPECT_EQ(tok->decode(got, /*render_special=*/true), texts[i]);
    }
    EXPECT_EQ(mismatches, 0) << (add_special ? "with" : "without") << " add_special";
  }
}

}  // namespace
}  // namespace orchard
