// orchard bench: prompt-processing and generation speed, measured like llama-bench. ppN
// evaluates N random tokens from an empty cache (in --batch-size chunks, logits for the last
// only); tgN decodes N tokens one at a time from an empty cache, logits every step. Each test
// runs -r times after one warm-up pass; the table shows mean ± standard deviation.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "generation_flags.h"
#include "human_units.h"
#include "models/kv_cache.h"
#include "subcommand.h"

namespace orchard::cli {
namespace {

struct BenchFlags {
  ModelFlags model;
  std::vector<int> n_prompt{512};
  std::vector<int> n_gen{128};
  int repetitions = 5;
  std::string output = "md";
};

struct TestResult {
  std::string name;  // "pp512", "tg128"
  int n_prompt = 0, n_gen = 0;
  std::vector<double> tokens_per_second;
  double mean() const {
    double sum = 0;
    for (double v : tokens_per_second) sum += v;
    return sum / static_cast<double>(tokens_per_second.size());
  }
  double stddev() const {
    if (tokens_per_second.size() < 2) return 0;
    const double m = mean();
    double sq = 0;
    for (double v : tokens_per_second) sq += (v - m) * (v - m);
    return std::sqrt(sq / static_cast<double>(tokens_per_second.size() - 1));
  }
};

class Bench {
 public:
  Bench(Model& model, int batch_size, int64_t n_ctx)
      : model_(model), cache_(model.config(), n_ctx, 1), batch_size_(batch_size), rng_(1234) {}

  // Seconds to evaluate n random tokens from an empty cache.
  double prompt(int n) {
    cache_.clear(0);
    const auto start = std::chrono::steady_clock::now();
    for (int begin = 0; begin < n; begin += batch_size_) {
      Batch batch;
      const int end = std::min(n, begin + batch_size_);
      for (int pos = begin; pos < end; ++pos) batch.add(random_token(), pos, 0, pos == n - 1);
      model_.forward(batch, cache_, logits_);
      cache_.set_length(0, end);
    }
    return seconds_since(start);
  }

  // Seconds to decode n tokens one per forward pass from an empty cache.
  double generate(int n) {
    cache_.clear(0);
    const auto start = std::chrono::steady_clock::now();
    for (int pos = 0; pos < n; ++pos) {
      Batch batch;
      batch.add(random_token(), pos, 0, true);
      model_.forward(batch, cache_, logits_);
      cache_.set_length(0, pos + 1);
    }
    return seconds_since(start);
  }

 private:
  TokenId random_token() {
    return std::uniform_int_distribution<TokenId>(0, static_cast<TokenId>(model_.config().n_vocab - 1))(rng_);
  }
  static double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  Model& model_;
  KvCache cache_;
  int batch_size_;
  std::mt19937 rng_;
  std::vector<float> logits_;
};

void print_markdown(const LoadedModel& loaded, int threads, const std::vector<TestResult>& results) {
  const std::string model = loaded.source->architecture + " " + human_bytes(loaded.source->file_bytes);
  const double params = static_cast<double>(loaded.model->parameter_count()) / 1e9;
  std::printf("| model | params | backend | threads | test | t/s |\n|---|---:|---|---:|---:|---:|\n");
  for (const auto& r : results)
    std::printf("| %s | %.2f B | %s | %d | %s | %.2f ± %.2f |\n", model.c_str(), params,
                loaded.model->backend().name().c_str(), threads, r.name.c_str(), r.mean(), r.stddev());
}

void print_json(const LoadedModel& loaded, int threads, const std::vector<TestResult>& results) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : results)
    out.push_back({{"model", loaded.source->path}, {"backend", loaded.model->backend().name()},
                   {"threads", threads}, {"test", r.name}, {"n_prompt", r.n_prompt}, {"n_gen", r.n_gen},
                   {"avg_ts", r.mean()}, {"stddev_ts", r.stddev()}, {"samples_ts", r.tokens_per_second}});
  std::printf("%s\n", out.dump(2).c_str());
}

int run_bench(const BenchFlags& flags) {
  LoadedModel loaded = load_model_from_flags(flags.model, /*need_tokenizer=*/false);
  int64_t n_ctx = std::max(1, flags.model.ctx_size);
  for (int n : flags.n_prompt) n_ctx = std::max<int64_t>(n_ctx, n);
  for (int n : flags.n_gen) n_ctx = std::max<int64_t>(n_ctx, n);
  Bench bench(*loaded.model, flags.model.batch_size, n_ctx);
  bench.generate(4);  // warm-up: page in the weights, spin up the threads

  std::vector<TestResult> results;
  for (int n : flags.n_prompt) {
    if (n <= 0) continue;
    TestResult r{"pp" + std::to_string(n), n, 0, {}};
    for (int i = 0; i < flags.repetitions; ++i) r.tokens_per_second.push_back(n / bench.prompt(n));
    results.push_back(std::move(r));
  }
  for (int n : flags.n_gen) {
    if (n <= 0) continue;
    TestResult r{"tg" + std::to_string(n), 0, n, {}};
    for (int i = 0; i < flags.repetitions; ++i) r.tokens_per_second.push_back(n / bench.generate(n));
    results.push_back(std::move(r));
  }
  const int threads = loaded.model->backend().n_threads();
  if (flags.output == "json") print_json(loaded, threads, results);
  else print_markdown(loaded, threads, results);
  return 0;
}

const Register registration{{"bench", "Measure prompt and generation tokens/s (like llama-bench)", [](CLI::App& cmd) {
  auto flags = std::make_shared<BenchFlags>();
  add_model_flags(cmd, flags->model);
  cmd.add_option("-p,--n-prompt", flags->n_prompt, "prompt lengths to test (comma-separated, 0 = skip)")
      ->delimiter(',')
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("-n,--n-gen", flags->n_gen, "generation lengths to test (comma-separated, 0 = skip)")
      ->delimiter(',')
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("-r,--repetitions", flags->repetitions, "runs per test")->capture_default_str()->check(CLI::PositiveNumber);
  cmd.add_option("-o,--output", flags->output, "md or json")->capture_default_str()->check(CLI::IsMember({"md", "json"}));
  return [flags] { return run_bench(*flags); };
}}};

}  // namespace
}  // namespace orchard::cli
