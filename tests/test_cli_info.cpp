// `orchard info`: run the CLI on a generated GGUF file and check the numbers it reports
// against values computed by hand from the fixture's shapes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "io/gguf.h"
#include "support/paths.h"

namespace orchard {
namespace {

namespace fs = std::filesystem;

TEST(CliInfo, ReportsSizesHyperparametersAndMemory) {
  GgufWriter w;
  w.set("general.architecture", MetaValue::string("llama"));
  w.set("llama.context_length", MetaValue::u32(1024));
  w.set("llama.block_count", MetaValue::u32(2));
  w.set("llama.embedding_length", MetaValue::u32(64));
  w.set("llama.feed_forward_length", MetaValue::u32(128));
  w.set("llama.attention.head_count", MetaValue::u32(4));
  w.set("llama.attention.head_count_kv", MetaValue::u32(2));
  w.set("tokenizer.ggml.model", MetaValue::string("llama"));
  w.set("tokenizer.ggml.tokens", MetaValue::string_array({"<unk>", "<s>", "</s>", "a"}));
  w.set("tokenizer.chat_template", MetaValue::string("{{ x }}"));
  w.add_tensor("token_embd.weight", Tensor::zeros(DType::Q8_0, {4, 64}));  // 4 rows * 2 blocks * 34 bytes
  w.add_tensor("output_norm.weight", Tensor::zeros(DType::F32, {64}));
  w.add_tensor("blk.0.attn_q.weight", Tensor::zeros(DType::F16, {64, 64}));
  fs::path path = test::temp_dir("cli_info") / "m.gguf";
  w.write(path.string());

  auto r = test::run_command(test::orchard_bin().string() + " info --json " + path.string());
  ASSERT_EQ(r.status, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["architecture"], "llama");
  EXPECT_EQ(j["parameters"], 4 * 64 + 64 + 64 * 64);
  EXPECT_EQ(j["weight_bytes"], 4 * 2 * 34 + 64 * 4 + 64 * 64 * 2);
  EXPECT_EQ(j["file_bytes"], fs::file_size(path));
  EXPECT_EQ(j["tensor_types"]["q8_0"]["tensors"], 1);
  EXPECT_EQ(j["tensor_types"]["f16"]["bytes"], 64 * 64 * 2);
  EXPECT_EQ(j["context_length"], 1024);
  EXPECT_EQ(j["kv_heads"], 2);
  EXPECT_EQ(j["head_size"], 16);
  EXPECT_EQ(j["vocab_size"], 4);
  // K and V in f16 (the default cache): layers * tokens * kv_heads * head_size * 2 * 2 bytes
  EXPECT_EQ(j["kv_cache_type"], "f16");
  EXPECT_EQ(j["kv_cache_bytes_at_context"], 2 * 1024 * 2 * 16 * 2 * 2);
  EXPECT_EQ(j["kv_cache_bytes_at_4096"], 2 * 4096 * 2 * 16 * 2 * 2);
  auto f32 = test::run_command(test::orchard_bin().string() + " info --json --kv-type f32 " + path.string());
  ASSERT_EQ(f32.status, 0) << f32.out;
  EXPECT_EQ(nlohmann::json::parse(f32.out)["kv_cache_bytes_at_4096"], 2 * 4096 * 2 * 16 * 2 * 4);
  // A q8_0 cache needs heads of whole 32-blocks: unknown for head size 16.
  auto q8 = test::run_command(test::orchard_bin().string() + " info --json --kv-type q8_0 " + path.string());
  ASSERT_EQ(q8.status, 0) << q8.out;
  EXPECT_TRUE(nlohmann::json::parse(q8.out)["kv_cache_bytes_at_4096"].is_null());
  auto bad = test::run_command(test::orchard_bin().string() + " info --kv-type q4_0 " + path.string() + " 2>&1");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.out.find("f32"), std::string::npos) << bad.out;  // the choices are listed
  EXPECT_NE(bad.out.find("q8_0"), std::string::npos) << bad.out;
  EXPECT_EQ(j["tokenizer"], "llama");
  EXPECT_EQ(j["chat_template"], true);

  auto text = test::run_command(test::orchard_bin().string() + " info " + path.string());
  ASSERT_EQ(text.status, 0);
  EXPECT_NE(text.out.find("architecture   llama"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("q8_0: 1"), std::string::npos) << text.out;

  auto missing = test::run_command(test::orchard_bin().string() + " info " + (path.string() + ".none") + " 2>&1");
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.out.find("m.gguf.none"), std::string::npos) << missing.out;
}

// Without a model argument every command uses the bundled model (or $ORCHARD_DEFAULT_MODEL).
TEST(CliInfo, DefaultsToTheBundledModel) {
  const fs::path bundled = test::source_dir() / "assets" / "orchard-kjv" / "model.gguf";
  ASSERT_TRUE(fs::exists(bundled)) << bundled;
  auto r = test::run_command("env -u ORCHARD_DEFAULT_MODEL " + test::orchard_bin().string() + " info --json");
  ASSERT_EQ(r.status, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["architecture"], "llama");
  EXPECT_EQ(j["file_bytes"], fs::file_size(bundled));

  auto missing = test::run_command("ORCHARD_DEFAULT_MODEL=/nonexistent/m.gguf " + test::orchard_bin().string() +
                                   " info 2>&1");
  EXPECT_NE(missing.status, 0);
  EXPECT_NE(missing.out.find("/nonexistent/m.gguf"), std::string::npos) << missing.out;
}

}  // namespace
}  // namespace orchard
