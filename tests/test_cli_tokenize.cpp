// `orchard tokenize` on a shared vocab-only GGUF: ids must equal llama.cpp's golden ids.
#include <gtest/gtest.h>

#include "support/paths.h"

namespace orchard {
namespace {

std::string vocab(const char* name) {
  return (test::shared_dir() / "data" / "tokenizer-tests" / name).string();
}

test::CommandResult tokenize(const std::string& args) {
  return test::run_command("'" + test::orchard_bin().string() + "' tokenize " + args + " 2>&1");
}

TEST(CliTokenize, PrintsGoldenIdsForAVocabOnlyGguf) {
  ORCHARD_REQUIRE_SHARED();
  // From ggml-vocab-gpt-2.gguf.out: " Hello, world!" -> 18435 11 995 0.
  const auto r = tokenize("--model '" + vocab("ggml-vocab-gpt-2.gguf") + "' --text ' Hello, world!'");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "[18435,11,995,0]\n");
}

TEST(CliTokenize, AddSpecialAndParseSpecial) {
  ORCHARD_REQUIRE_SHARED();
  const std::string model = "--model '" + vocab("ggml-vocab-llama-spm.gguf") + "' ";
  // "Hello world" is 15043 3186 in the golden file; BOS is 1 and "</s>" is the control token 2.
  EXPECT_EQ(tokenize(model + "--text 'Hello world' --add-special").out, "[1,15043,3186]\n");
  EXPECT_EQ(tokenize(model + "--text 'Hello world</s>' --parse-special").out, "[15043,3186,2]\n");
}

TEST(CliTokenize, MissingModelIsAnError) {
  const auto r = tokenize("--model /nonexistent.gguf --text hi");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("/nonexistent.gguf"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace orchard
