// `orchard bench` on a tiny random-weight model: the JSON object parses and carries every
// field with a sensible value, the markdown table shows each test, bad flags are refused with
// a message naming the flag. Tiny -p/-n keep it fast; speed itself is never asserted here
// (bench/compare-llama-cpp.sh measures it).
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "models/kv_cache.h"
#include "models/testmodel.h"
#include "support/paths.h"

namespace orchard {
namespace {

namespace fs = std::filesystem;

test::CommandResult orchard_cli(const std::string& args) {
  return test::run_command(test::orchard_bin().string() + " " + args + " 2>&1");
}

class CliBench : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (test::shared_dir().empty()) return;
    model_ = test::temp_dir("cli_bench") / "tiny-q8_0.gguf";
    const fs::path spm = test::shared_dir() / "data/tokenizer-tests/ggml-vocab-llama-spm.gguf";
    auto r = orchard_cli("testmodel --preset tiny --dtype q8_0 --seed 3 --vocab " + spm.string() + " -o " +
                         model_.string());
    ASSERT_EQ(r.status, 0) << r.out;
  }
  void SetUp() override { ORCHARD_REQUIRE_SHARED(); }
  static std::string bench(const std::string& args) { return "bench -m " + model_.string() + " -t 2 " + args; }
  static inline fs::path model_;
};

TEST_F(CliBench, JsonIsOneObjectWithEveryField) {
  const auto r = test::run_command(test::orchard_bin().string() + " " + bench("-p 8 -n 4 -r 3 --json"));
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.is_object());
  for (const char* key : {"pp_tok_s", "tg_tok_s", "model_bytes", "file_bytes", "bytes_per_token", "params",
                          "read_bw_gb_s", "roofline_tok_s", "roofline_frac", "rss_bytes", "load_s", "kv_bytes"}) {
    ASSERT_TRUE(j.contains(key)) << key;
    EXPECT_GT(j[key].get<double>(), 0) << key;
  }
  for (const char* key : {"pp_stddev", "tg_stddev", "warmup_s"}) EXPECT_GE(j.at(key).get<double>(), 0) << key;
  EXPECT_EQ(j["threads"], 2);
  EXPECT_EQ(j["n_prompt"], 8);
  EXPECT_EQ(j["n_gen"], 4);
  EXPECT_FALSE(j.at("isa").get<std::string>().empty());
  // Untied embedding: decode gathers one row of it, so it reads less than the whole model.
  EXPECT_LT(j["bytes_per_token"].get<size_t>(), j["model_bytes"].get<size_t>());
  EXPECT_LE(j["model_bytes"].get<size_t>(), j["file_bytes"].get<size_t>());
  // f16 K and V (the default): 3 layers * 8 positions (the longest test) * 2 kv heads * 32 * 2 * 2 bytes.
  EXPECT_EQ(j["kv_type"], "f16");
  EXPECT_EQ(j["kv_bytes"], 3 * 8 * 2 * 32 * 2 * 2);
  ASSERT_EQ(j["tests"].size(), 2u);
  EXPECT_EQ(j["tests"][0]["test"], "pp8");
  EXPECT_EQ(j["tests"][0]["samples_ts"].size(), 3u);
  EXPECT_EQ(j["tests"][1]["test"], "tg4");

  // -o json is the same object; a q8_0 cache holds each head of 32 as one 34-byte block (4
  // positions: the warm-up is longer than -n 2).
  const auto o = test::run_command(test::orchard_bin().string() + " " + bench("-p 0 -n 2 -r 1 -o json --kv-type q8_0"));
  ASSERT_EQ(o.status, 0) << o.out;
  const auto oj = nlohmann::json::parse(o.out);
  EXPECT_FALSE(oj.contains("pp_tok_s"));  // -p 0 skips the prompt test
  EXPECT_GT(oj.at("tg_tok_s").get<double>(), 0);
  EXPECT_EQ(oj["kv_type"], "q8_0");
  EXPECT_EQ(oj["kv_bytes"], 3 * 4 * 2 * 34 * 2);
}

TEST_F(CliBench, MarkdownShowsTestsRooflineAndMemory) {
  const auto r = orchard_cli(bench("-p 4 -n 2 -r 1"));
  ASSERT_EQ(r.status, 0) << r.out;
  for (const char* text : {"| pp4 |", "| tg2 |", "read bandwidth", "roofline", "peak RSS", "KV cache", "load "})
    EXPECT_NE(r.out.find(text), std::string::npos) << text << " in\n" << r.out;
}

TEST_F(CliBench, BadFlagsAreRefusedClearly) {
  struct Case {
    std::string args, says;
  };
  for (const auto& c : {Case{bench("-o xml"), "--output"}, Case{bench("-r 0"), "--repetitions"},
                        Case{bench("-p -3"), "--n-prompt"}, Case{bench("--bogus"), "--bogus"},
                        Case{bench("-p 0 -n 0"), "nothing to measure"},
                        Case{"bench -m " + (model_.string() + ".none") + " -p 1 -n 1", "tiny-q8_0.gguf.none"}}) {
    const auto r = orchard_cli(c.args);
    EXPECT_NE(r.status, 0) << c.args;
    EXPECT_NE(r.out.find(c.says), std::string::npos) << c.args << " said:\n" << r.out;
  }
}

}  // namespace
}  // namespace orchard
