// llama.cpp's tokenizer golden files (ids produced by the original Hugging Face tokenizers):
// every case of every shared vocab must match exactly, and decoding must give the text back.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>

#include "io/gguf.h"
#include "support/paths.h"
#include "tokenizer/tokenizer.h"

namespace orchard {
namespace {

namespace fs = std::filesystem;

// The .inp file is the cases, each followed by "\n__ggml_vocab_test__\n" (so a case may be
// empty or end in newlines); the .out file has one line of space-separated ids per case.
struct GoldenCase {
  std::string text;
  std::vector<TokenId> ids;
};

std::vector<GoldenCase> read_cases(const fs::path& vocab) {
  const std::string inp = test::read_file(vocab.string() + ".inp");
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<GoldenCase> cases;
  for (size_t pos = 0; pos < inp.size();) {
    size_t next = inp.find(sep, pos);
    if (next == std::string::npos) next = inp.size();
    cases.push_back({inp.substr(pos, next - pos), {}});
    pos = next + sep.size();
  }
  std::istringstream out(test::read_file(vocab.string() + ".out"));
  std::string line;
  for (GoldenCase& c : cases) {
    if (!std::getline(out, line)) break;
    std::istringstream ids(line);
    for (TokenId id; ids >> id;) c.ids.push_back(id);
  }
  return cases;
}

std::string escaped(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '\n' ? "\\n" : c == '\t' ? "\\t" : std::string(1, c);
  return out;
}

class Golden : public testing::TestWithParam<const char*> {};

TEST_P(Golden, EveryCaseMatches) {
  ORCHARD_REQUIRE_SHARED();
  const fs::path vocab = test::shared_dir() / "data" / "tokenizer-tests" / (std::string(GetParam()) + ".gguf");
  if (!fs::exists(vocab)) GTEST_SKIP() << vocab << " not found";
  auto gguf = GgufFile::open(vocab.string());
  auto tok = tokenizer_from_gguf_metadata(gguf->metadata(), vocab.string());
  const auto cases = read_cases(vocab);
  ASSERT_EQ(cases.size(), 46u) << "unexpected number of cases in " << vocab;
  int mismatches = 0;
  for (const GoldenCase& c : cases) {
    const std::vector<TokenId> got = tok->encode(c.text);
    if (got != c.ids) {
      ++mismatches;
      ADD_FAILURE() << GetParam() << ": '" << escaped(c.text) << "'\n  expected " << testing::PrintToString(c.ids)
                    << "\n  got      " << testing::PrintToString(got);
    }
    // Byte-level BPE and SentencePiece keep every byte; BERT lowercases, so only they round-trip.
    if (tok->kind() != "wordpiece") EXPECT_EQ(escaped(tok->decode(c.ids)), escaped(c.text)) << GetParam();
  }
  EXPECT_EQ(mismatches, 0);
}

// Long inputs (one 100k-character word, and 200 KB of mixed text) take the merge loops'
// worst paths; they must round-trip (and a quadratic merge loop would stall this test).
TEST(GoldenVocab, LongTextsRoundTrip) {
  ORCHARD_REQUIRE_SHARED();
  std::string mixed;
  for (const GoldenCase& c : read_cases(test::shared_dir() / "data" / "tokenizer-tests" / "ggml-vocab-gpt-2.gguf"))
    mixed += c.text + " ";
  while (mixed.size() < 200000) mixed += mixed;
  const std::string word(100000, 'a');
  for (const char* name : {"ggml-vocab-llama-spm", "ggml-vocab-gpt-2", "ggml-vocab-deepseek-llm"}) {
    const fs::path vocab = test::shared_dir() / "data" / "tokenizer-tests" / (std::string(name) + ".gguf");
    auto gguf = GgufFile::open(vocab.string());
    auto tok = tokenizer_from_gguf_metadata(gguf->metadata(), vocab.string());
    for (const std::string* text : {&word, static_cast<const std::string*>(&mixed)}) {
      const auto ids = tok->encode(*text);
      EXPECT_LE(ids.size(), text->size()) << name;  // never more than one token per byte
      EXPECT_TRUE(tok->decode(ids) == *text) << name;
    }
  }
}

TEST(GoldenVocab, StreamingNeverSplitsACharacter) {
  ORCHARD_REQUIRE_SHARED();
  const fs::path vocab = test::shared_dir() / "data" / "tokenizer-tests" / "ggml-vocab-llama-spm.gguf";
  auto gguf = GgufFile::open(vocab.string());
  auto tok = tokenizer_from_gguf_metadata(gguf->metadata(), vocab.string());
  // Emoji and CJK fall back to <0xXX> byte tokens, so single tokens carry partial characters.
  const std::string text = "a 🦙 b 😶\u200d🌫️ 我想 ½";
  const std::vector<TokenId> ids = tok->encode(text);
  ASSERT_GT(ids.size(), 10u);
  StreamingDetokenizer stream(*tok);
  std::string streamed;
  int partial_tokens = 0;
  for (TokenId id : ids) {
    const std::string bytes = tok->token_bytes(id);
    if (bytes.size() == 1 && static_cast<unsigned char>(bytes[0]) >= 0x80) ++partial_tokens;
    const std::string piece = stream.feed(id);
    EXPECT_EQ(piece.find("\xEF\xBF\xBD"), std::string::npos) << "U+FFFD in a streamed piece";
    streamed += piece;
  }
  streamed += stream.flush();
  EXPECT_GT(partial_tokens, 4);
  EXPECT_EQ(streamed, " " + text);  // the stream keeps SentencePiece's leading space
  EXPECT_EQ(tok->decode(ids), text);
}

TEST(GoldenVocab, SpecialTokensNeedParseSpecialAndBosIsAdded) {
  ORCHARD_REQUIRE_SHARED();
  const fs::path vocab = test::shared_dir() / "data" / "tokenizer-tests" / "ggml-vocab-llama-spm.gguf";
  auto gguf = GgufFile::open(vocab.string());
  auto tok = tokenizer_from_gguf_metadata(gguf->metadata(), vocab.string());
  const TokenId eos = tok->eos();
  ASSERT_EQ(tok->token_text(eos), "</s>");
  const auto plain = tok->encode("a</s>");
  EXPECT_EQ(std::count(plain.begin(), plain.end(), eos), 0);
  const auto parsed = tok->encode("a</s>", {.add_special = true, .parse_special = true});
  ASSERT_EQ(parsed.size(), 3u);
  EXPECT_EQ(parsed[0], tok->bos());
  EXPECT_EQ(parsed[2], eos);
  EXPECT_TRUE(tok->is_end_of_generation(eos));
  EXPECT_EQ(tok->decode(parsed), "a");
  // Only the very first piece loses its space marker (llama.cpp and HF both print "<s> a</s>").
  EXPECT_EQ(tok->decode(parsed, /*render_special=*/true), "<s> a</s>");
}

INSTANTIATE_TEST_SUITE_P(Vocabs, Golden,
                         testing::Values("ggml-vocab-llama-spm", "ggml-vocab-phi-3", "ggml-vocab-gpt-2",
                                         "ggml-vocab-falcon", "ggml-vocab-deepseek-llm", "ggml-vocab-bert-bge"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

}  // namespace
}  // namespace orchard
