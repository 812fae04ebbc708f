// The building blocks against their documented behaviour: HF's split behaviours (the examples
// of the tokenizers docs), GPT-2's lookahead regex, added-token stripping, byte fallback,
// WordPiece, streaming, and the errors malformed tokenizer files must raise.
#include <gtest/gtest.h>

#include "core/error.h"
#include "io/metadata.h"
#include "tokenizer/regex.h"
#include "tokenizer/special_tokens.h"
#include "tokenizer/text_pipeline.h"
#include "tokenizer/tokenizer.h"

namespace orchard {
namespace {

using nlohmann::json;
using Pieces = std::vector<std::string>;

Pieces split(const std::string& text, SplitBehavior behavior) {
  Pieces pieces{text};
  literal_split("-", behavior)(pieces, true);
  return pieces;
}

TEST(SplitBehavior, MatchesTheHuggingFaceDocumentation) {
  const std::string text = "the-final--countdown";
  EXPECT_EQ(split(text, SplitBehavior::Removed), (Pieces{"the", "final", "countdown"}));
  EXPECT_EQ(split(text, SplitBehavior::Isolated), (Pieces{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(split(text, SplitBehavior::MergedWithPrevious), (Pieces{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(split(text, SplitBehavior::MergedWithNext), (Pieces{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(split(text, SplitBehavior::Contiguous), (Pieces{"the", "-", "final", "--", "countdown"}));
  EXPECT_THROW(parse_split_behavior("Sideways"), Error);
}

TEST(Gpt2Regex, LookaheadLeavesTheLastSpaceForTheNextWord) {
  Pieces pieces{"a   b  "};
  regex_split(Regex(kGpt2Pattern), SplitBehavior::Isolated)(pieces, true);
  EXPECT_EQ(pieces, (Pieces{"a", "  ", " b", "  "}));
  // Unicode classes: \p{L} covers Cyrillic, \p{N} Devanagari digits.
  Pieces unicode{"мир ४२!"};
  regex_split(Regex(kGpt2Pattern), SplitBehavior::Isolated)(unicode, true);
  EXPECT_EQ(unicode, (Pieces{"мир", " ४२", "!"}));
  EXPECT_THROW(Regex("(unclosed"), Error);
}

TEST(SpecialTokens, LongestFirstWithStripAndParseSpecial) {
  SpecialTokenSplitter s;
  s.add("<a>", 1, {true, false, false});
  s.add("<a><b>", 2, {true, false, false});
  s.add("<x>", 3, {false, true, true});
  auto f = s.split("q<a><b>r <x>  t<a>", true);
  ASSERT_EQ(f.size(), 6u);
  EXPECT_EQ(f[0].text, "q");
  EXPECT_EQ(f[1].token, 2);
  EXPECT_EQ(f[2].text, "r");  // lstrip ate the space before <x>
  EXPECT_EQ(f[3].token, 3);
  EXPECT_EQ(f[4].text, "t");  // rstrip ate the spaces after it
  EXPECT_EQ(f[5].token, 1);
  // Without parse_special only the user-defined token is recognised.
  auto plain = s.split("q<a>r <x> t", false);
  ASSERT_EQ(plain.size(), 3u);
  EXPECT_EQ(plain[0].text, "q<a>r");
  EXPECT_EQ(plain[1].token, 3);
}

const char* const kByteFallback = R"({
  "added_tokens": [{"id": 0, "content": "<unk>", "special": true}, {"id": 1, "content": "<bos>", "special": true}],
  "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
  "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<bos>"}}, {"Sequence": {"id": "A"}}],
                     "special_tokens": {"<bos>": {"id": "<bos>", "ids": [1], "tokens": ["<bos>"]}}},
  "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
              {"type": "ByteFallback"}, {"type": "Fuse"}]},
  "model": {"type": "BPE", "byte_fallback": true, "fuse_unk": true, "unk_token": "<unk>",
            "vocab": {"<unk>": 0, "<bos>": 1, "<0xC3>": 2, "<0xA9>": 3, "▁": 4, "h": 5, "i": 6, "hi": 7, "▁hi": 8},
            "merges": [["h", "i"], ["▁", "hi"]]}
})";

TEST(ByteFallbackBpe, UnknownCharactersBecomeBytesAndStreamWhole) {
  auto tok = tokenizer_from_json(json::parse(kByteFallback), nullptr, "test");
  // "hi é" -> "hi▁é": h+i -> hi (rank 0); ▁ stays (▁+hi needs ▁ on the left of hi); é -> 2 bytes.
  const auto ids = tok->encode("hi é", {.add_special = true});
  EXPECT_EQ(ids, (std::vector<TokenId>{1, 7, 4, 2, 3}));
  EXPECT_EQ(tok->encode(" hi"), (std::vector<TokenId>{8}));
  // No byte token for 'z' (0x7A): unk, and consecutive unknowns fuse into one.
  EXPECT_EQ(tok->encode("zzhi"), (std::vector<TokenId>{0, 7}));
  EXPECT_EQ(tok->decode(ids), "hi é");

  StreamingDetokenizer stream(*tok);
  EXPECT_EQ(stream.feed(7), "hi");
  EXPECT_EQ(stream.feed(2), "");  // first byte of é is held back
  EXPECT_EQ(stream.feed(3), "é");
  EXPECT_EQ(stream.feed(2), "");
  EXPECT_EQ(stream.flush(), "\xEF\xBF\xBD");  // a dangling lead byte prints as U+FFFD
}

const char* const kWordPiece = R"({
  "added_tokens": [{"id": 0, "content": "[UNK]", "special": true}, {"id": 1, "content": "[CLS]", "special": true},
                   {"id": 2, "content": "[SEP]", "special": true}],
  "normalizer": {"type": "BertNormalizer", "lowercase": true},
  "pre_tokenizer": {"type": "BertPreTokenizer"},
  "post_processor": {"type": "BertProcessing", "cls": ["[CLS]", 1], "sep": ["[SEP]", 2]},
  "decoder": {"type": "WordPiece", "prefix": "##"},
  "model": {"type": "WordPiece", "unk_token": "[UNK]",
            "vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "un": 3, "##able": 4, ".": 5, "cafe": 6, "中": 7}}
})";

TEST(WordPiece, BertBasicTokenizerThenGreedyLongestMatch) {
  auto tok = tokenizer_from_json(json::parse(kWordPiece), nullptr, "test");
  EXPECT_EQ(tok->encode("UNABLE."), (std::vector<TokenId>{3, 4, 5}));
  EXPECT_EQ(tok->encode("Café中unx", {.add_special = true}), (std::vector<TokenId>{1, 6, 7, 0, 2}));
  EXPECT_EQ(tok->decode({3, 4, 6}), "unable cafe");
}

TEST(TokenizerJsonErrors, AreOrchardErrorsNamingTheProblem) {
  auto expect_error = [](const std::string& text, const std::string& needle) {
    try {
      tokenizer_from_json(json::parse(text), nullptr, "bad.json");
      ADD_FAILURE() << "no error for " << text;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error(R"({"pre_tokenizer": null})", "model");
  expect_error(R"({"model": {"type": "Unigram", "vocab": []}})", "Unigram");
  expect_error(R"({"model": {"type": "BPE", "vocab": {"a": 5}, "merges": []}})", "token id 5");
  expect_error(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [7]}})", "merge");
  expect_error(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "Magic"}})", "Magic");
  expect_error(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "normalizer": {"type": 3}})", "bad.json");
  std::string nested = R"({"type": "NFC"})";
  for (int i = 0; i < 40; ++i) nested = R"({"type": "Sequence", "normalizers": [)" + nested + "]}";
  expect_error(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "normalizer": )" + nested + "}", "nested");
}

TEST(GgufMetadataErrors, NameTheKey) {
  Metadata md;
  EXPECT_THROW(tokenizer_from_gguf_metadata(md, "x.gguf"), Error);
  md.set("tokenizer.ggml.model", MetaValue::string("gpt2"));
  md.set("tokenizer.ggml.tokens", MetaValue::string_array({"a", "b"}));
  md.set("tokenizer.ggml.scores", MetaValue::float_array({0.0}));
  try {
    tokenizer_from_gguf_metadata(md, "x.gguf");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.ggml.scores"), std::string::npos) << e.what();
  }
  md.set("tokenizer.ggml.scores", MetaValue::float_array({0.0, 0.0}));
  md.set("tokenizer.ggml.merges", MetaValue::string_array({"a b"}));
  md.set("tokenizer.ggml.pre", MetaValue::string("no-such-pre"));
  EXPECT_THROW(tokenizer_from_gguf_metadata(md, "x.gguf"), Error);
  md.set("tokenizer.ggml.model", MetaValue::string("rwkv"));
  EXPECT_THROW(tokenizer_from_gguf_metadata(md, "x.gguf"), Error);
}

}  // namespace
}  // namespace orchard
