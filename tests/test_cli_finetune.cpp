// `orchard finetune` and `orchard perplexity` end to end on a tiny random-weight Llama written by
// `orchard testmodel`: MLX LM's report lines, a SIGKILL after a checkpoint and a rerun with
// --resume-adapter-file ending with the same adapters as an uninterrupted run, --config YAML
// with flags overriding it, --test against `orchard perplexity`, and errors for bad data and flags.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "support/paths.h"

namespace orchard {
namespace {

namespace fs = std::filesystem;

test::CommandResult orchard_cli(const std::string& args) {
  return test::run_command(test::orchard_bin().string() + " " + args + " 2>&1");
}

void write_qa_jsonl(const fs::path& path, int first, int count) {
  std::ofstream out(path);
  for (int i = first; i < first + count; ++i) {
    const int a = i % 10, b = (i * 7) % 10;
    out << "{\"prompt\": \"Q: what is " << a << " plus " << b << "?\", \"completion\": \" A: " << a + b << ".\"}\n";
  }
}

class CliFinetune : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (test::shared_dir().empty() || !dir_.empty()) return;
    dir_ = test::temp_dir("cli_finetune");
    const fs::path spm = test::shared_dir() / "data/tokenizer-tests/ggml-vocab-llama-spm.gguf";
    auto r = orchard_cli("testmodel --seed 5 --preset tiny --vocab " + spm.string() + " -o " + model().string());
    ASSERT_EQ(r.status, 0) << r.out;
    fs::create_directories(data());
    write_qa_jsonl(data() / "train.jsonl", 0, 40);
    write_qa_jsonl(data() / "valid.jsonl", 100, 8);
    write_qa_jsonl(data() / "test.jsonl", 200, 8);
  }
  void SetUp() override { ORCHARD_REQUIRE_SHARED(); }

  static fs::path model() { return dir_ / "tiny.gguf"; }
  static fs::path data() { return dir_ / "data"; }
  static std::string base_args() {
    return "finetune -t 2 --model " + model().string() + " --data " + data().string() +
           " --batch-size 4 --learning-rate 1e-2 --lora-keys all --num-layers -1 --val-batches -1";
  }
  static inline fs::path dir_;
};

double max_difference(const fs::path& a, const fs::path& b) {
  const auto fa = SafetensorsFile::open(a.string()), fb = SafetensorsFile::open(b.string());
  EXPECT_EQ(fa->tensors().size(), fb->tensors().size());
  double worst = 0;
  for (const auto& [name, ta] : fa->tensors()) {
    const auto it = fb->tensors().find(name);
    if (it == fb->tensors().end()) return INFINITY;
    for (int64_t i = 0; i < ta.numel(); ++i)
      worst = std::max<double>(worst, std::fabs(ta.f32()[i] - it->second.f32()[i]));
  }
  return worst;
}

TEST_F(CliFinetune, TrainsWithMlxReportLinesAndTests) {
  const fs::path out = dir_ / "run";
  auto r = orchard_cli(base_args() + " --iters 12 --steps-per-report 4 --steps-per-eval 6 --save-every 6 --test --train" +
                       " --adapter-path " + out.string());
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("Trainable parameters: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Starting training..., iters: 12"), std::string::npos) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("Iter 1: Val loss [0-9.]+, Val took [0-9.]+s"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("Iter 4: Train loss [0-9.]+, Learning Rate 1.000e-02, It/sec [0-9.]+, "
                                                  "Tokens/sec [0-9.]+, Trained Tokens [0-9]+, Peak mem [0-9.]+ GB")))
      << r.out;
  EXPECT_NE(r.out.find("Iter 6: Saved adapter weights to "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Saved final weights to "), std::string::npos) << r.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex("Test loss ([0-9.]+), Test ppl ([0-9.]+)\\."))) << r.out;
  EXPECT_NEAR(std::exp(std::stod(m[1])), std::stod(m[2]), 0.02 * std::stod(m[2]));
  EXPECT_TRUE(fs::exists(out / "adapters.safetensors"));
  EXPECT_TRUE(fs::exists(out / "adapter_config.json"));

  // orchard perplexity with the adapters scores test.jsonl as finetune --test did (one evaluation code).
  auto p = orchard_cli("perplexity -t 2 --json -b 4 -m " + model().string() + " --adapter-path " + out.string() +
                       " --data " + (data() / "test.jsonl").string());
  ASSERT_EQ(p.status, 0) << p.out;
  const auto j = nlohmann::json::parse(p.out);
  EXPECT_NEAR(j["loss"].get<double>(), std::stod(m[1]), 1.5e-3);
}

// Kill -9 after the checkpoint of iteration 6, resume: the final adapters equal an uninterrupted run's.
TEST_F(CliFinetune, ResumeAfterSigkillEndsWithTheSameAdapters) {
  const std::string args = base_args() + " --iters 14 --save-every 6 --steps-per-eval 100 --dropout 0.05 --seed 9";
  const fs::path whole = dir_ / "whole", killed = dir_ / "killed";
  ASSERT_EQ(orchard_cli(args + " --adapter-path " + whole.string()).status, 0);

  const fs::path log = dir_ / "killed.log";
  const std::string script = test::orchard_bin().string() + " " + args + " --adapter-path " + killed.string() + " > " +
                             log.string() + " 2>&1 & pid=$!; " +
                             "for i in $(seq 1 600); do grep -q 'Iter 6: Saved' " + log.string() +
                             " && break; kill -0 $pid 2>/dev/null || break; sleep 0.1; done; kill -9 $pid; wait $pid; " +
                             "grep -q 'Saved final' " + log.string() + " && echo finished-before-kill; true";
  const fs::path script_file = dir_ / "kill.sh";
  std::ofstream(script_file) << script << "\n";
  auto k = test::run_command("bash " + script_file.string());
  ASSERT_EQ(k.out.find("finished-before-kill"), std::string::npos) << "the run ended before it was killed";
  ASSERT_TRUE(fs::exists(killed / "training_state.safetensors")) << test::read_file(log);

  auto r = orchard_cli(args + " --adapter-path " + killed.string() + " --resume-adapter-file " +
                       (killed / "adapters.safetensors").string());
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out.find("Iter 1: Val loss"), std::string::npos) << "a resumed run starts at its checkpoint";
  EXPECT_LT(max_difference(whole / "adapters.safetensors", killed / "adapters.safetensors"), 1e-5);
}

// Ctrl-C: the run saves where it is and exits cleanly; the rerun continues from there.
TEST_F(CliFinetune, InterruptSavesAndExitsCleanly) {
  const fs::path out = dir_ / "interrupted", log = dir_ / "interrupted.log";
  const std::string args = base_args() + " --iters 40 --steps-per-report 1 --steps-per-eval 100 --adapter-path " + out.string();
  const fs::path script_file = dir_ / "interrupt.sh";
  std::ofstream(script_file) << test::orchard_bin().string() << " " << args << " > " << log.string() << " 2>&1 & pid=$!\n"
                             << "for i in $(seq 1 600); do grep -q 'Iter 3: Train loss' " << log.string()
                             << " && break; sleep 0.1; done\nkill -INT $pid; wait $pid; echo status=$?\n";
  auto r = test::run_command("bash " + script_file.string());
  EXPECT_NE(r.out.find("status=0"), std::string::npos) << r.out << test::read_file(log);
  const std::string text = test::read_file(log);
  EXPECT_NE(text.find("Interrupted at iter"), std::string::npos) << text;
  EXPECT_EQ(text.find("Saved final weights"), std::string::npos) << text;
  ASSERT_TRUE(fs::exists(out / "training_state.safetensors"));
  auto resumed = orchard_cli(args + " --resume-adapter-file " + out.string());
  ASSERT_EQ(resumed.status, 0) << resumed.out;
  EXPECT_NE(resumed.out.find("Iter 40: Train loss"), std::string::npos) << resumed.out;
}

TEST_F(CliFinetune, ConfigFileWithFlagsWinning) {
  const fs::path config = dir_ / "config.yaml";
  std::ofstream(config) << "model: " << model().string() << "\ndata: " << data().string()
                        << "\nbatch_size: 4\niters: 3\nval_batches: 1\nlearning_rate: 1e-3\n"
                        << "lora_parameters:\n  rank: 4\n  scale: 10.0\n  dropout: 0.0\n  keys: [self_attn.q_proj, mlp.down_proj]\n"
                        << "lr_schedule:\n  name: cosine_decay\n  warmup: 1\n  arguments: [1e-3, 3, 1e-5]\n";
  const fs::path out = dir_ / "from-config";
  auto r = orchard_cli("finetune -t 2 --config " + config.string() + " --iters 2 --adapter-path " + out.string());
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("Starting training..., iters: 2"), std::string::npos) << r.out;
  const auto cfg = nlohmann::json::parse(test::read_file(out / "adapter_config.json"));
  EXPECT_EQ(cfg["lora_parameters"]["rank"], 4);

  std::ofstream(dir_ / "typo.yaml") << "model: " << model().string() << "\nbatch_sise: 4\n";
  auto bad = orchard_cli("finetune --config " + (dir_ / "typo.yaml").string());
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.out.find("unknown setting 'batch_sise'"), std::string::npos) << bad.out;
}

TEST_F(CliFinetune, BadDataAndFlagsGiveClearErrors) {
  const fs::path broken = dir_ / "broken";
  fs::create_directories(broken);
  fs::copy_file(data() / "valid.jsonl", broken / "valid.jsonl", fs::copy_options::overwrite_existing);
  std::ofstream(broken / "train.jsonl") << "{\"text\": \"fine\"}\n{\"text\": oops}\n";
  auto r = orchard_cli("finetune -t 2 --model " + model().string() + " --data " + broken.string() + " --iters 1");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("train.jsonl:2"), std::string::npos) << r.out;

  r = orchard_cli("finetune --model " + model().string() + " --data " + (dir_ / "nowhere").string());
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("train.jsonl"), std::string::npos) << r.out;

  r = orchard_cli("finetune --model " + model().string() + " --data " + data().string() + " --fine-tune-type qlora");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("fine-tune-type"), std::string::npos) << r.out;

  r = orchard_cli("finetune --model " + model().string() + " --data " + data().string() + " --from-scratch --iters 1");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("--fine-tune-type full"), std::string::npos) << r.out;

  r = orchard_cli("finetune --help");
  EXPECT_EQ(r.status, 0);
  for (const char* flag : {"--fine-tune-type", "--num-layers", "--rank", "--scale", "--dropout", "--lora-keys", "--batch-size",
                           "--iters", "--epochs", "--learning-rate", "--lr-schedule", "--warmup", "--grad-accum",
                           "--grad-clip", "--grad-checkpoint", "--max-seq-length", "--mask-prompt", "--val-batches",
                           "--steps-per-eval", "--steps-per-report", "--save-every", "--adapter-path",
                           "--resume-adapter-file", "--seed", "--threads", "--test", "--test-batches", "--from-scratch",
                           "--config"})
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
}

TEST_F(CliFinetune, PerplexityOfTextInWindows) {
  const fs::path text = dir_ / "text.txt";
  std::ofstream(text) << "The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog.\n";
  auto small = orchard_cli("perplexity -t 2 --json -c 8 -m " + model().string() + " --data " + text.string());
  ASSERT_EQ(small.status, 0) << small.out;
  const auto j = nlohmann::json::parse(small.out);
  EXPECT_GT(j["windows"].get<int>(), 1);
  EXPECT_NEAR(j["perplexity"].get<double>(), std::exp(j["loss"].get<double>()), 1e-6 * j["perplexity"].get<double>());
  auto missing = orchard_cli("perplexity -m " + model().string() + " --data " + (dir_ / "absent.txt").string());
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.out.find("absent.txt"), std::string::npos) << missing.out;
}

}  // namespace
}  // namespace orchard
