// orchard bench: prompt-processing and generation speed, measured like llama-bench. ppN
// evaluates N random tokens from an empty cache (in --batch-size chunks, logits for the last
// only); tgN decodes N tokens one at a time from an empty cache, logits every step. Each test
// runs -r times after one warm-up pass; reported are the median and standard deviation.
//
// Besides speed it reports what explains it: the bytes decode must read per token, the
// machine's measured read bandwidth and so the decode roofline (bandwidth / bytes per token),
// how far tg is from it, load time, peak RSS and the KV cache size.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/read_bandwidth.h"
#include "generation_flags.h"
#include "human_units.h"
#include "kernels/cpu/isa.h"
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
  bool json = false;
};

struct TestResult {
  std::string name;  // "pp512", "tg128"
  int n_prompt = 0, n_gen = 0;
  std::vector<double> tokens_per_second;
  double median() const {
    std::vector<double> v = tokens_per_second;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }
  double stddev() const {
    const size_t n = tokens_per_second.size();
    if (n < 2) return 0;
    double mean = 0;
    for (double v : tokens_per_second) mean += v / static_cast<double>(n);
    double sq = 0;
    for (double v : tokens_per_second) sq += (v - mean) * (v - mean);
    return std::sqrt(sq / static_cast<double>(n - 1));
  }
};

// What the run measured about the model and the machine, beside the tests.
struct RunFacts {
  std::string model_path, architecture, backend, isa, kv_type;
  size_t file_bytes = 0, model_bytes = 0, bytes_per_token = 0, kv_bytes = 0, rss_bytes = 0;
  int64_t params = 0;
  int threads = 0;
  double load_s = 0, warmup_s = 0, read_bw = 0;  // read_bw in bytes/s
  double roofline_tok_s() const { return read_bw / static_cast<double>(bytes_per_token); }
};

class Bench {
 public:
  Bench(Model& model, int batch_size, int64_t n_ctx, DType kv_type)
      : model_(model), cache_(model.config(), n_ctx, 1, kv_type), batch_size_(batch_size), rng_(1234) {}

  const KvCache& cache() const { return cache_; }

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

  static double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

 private:
  TokenId random_token() {
    return std::uniform_int_distribution<TokenId>(0, static_cast<TokenId>(model_.config().n_vocab - 1))(rng_);
  }

  Model& model_;
  KvCache cache_;
  int batch_size_;
  std::mt19937 rng_;
  std::vector<float> logits_;
};

// VmHWM of /proc/self/status: the most resident memory this process has had (0 if unknown,
// e.g. not Linux).
size_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.starts_with("VmHWM:")) return static_cast<size_t>(std::stoull(line.substr(6))) * 1024;
  return 0;
}

// Weights one decode step reads: every tensor, except that of the token embedding only one
// row is gathered (unless it is also the LM head, which reads all of it).
size_t bytes_per_token(const Model& model) {
  size_t bytes = 0;
  for (const auto& [name, t] : model.source().tensors) {
    const bool gathered = name == "token_embd.weight" && !model.config().tied_embeddings;
    bytes += gathered ? t.row_bytes() : t.nbytes();
  }
  return bytes;
}

const TestResult* first(const std::vector<TestResult>& results, const char* prefix) {
  for (const auto& r : results)
    if (r.name.starts_with(prefix)) return &r;
  return nullptr;
}

void print_markdown(const RunFacts& f, const std::vector<TestResult>& results) {
  const std::string model = f.architecture + " " + human_bytes(f.model_bytes);
  std::printf("| model | params | isa | threads | test | t/s (median ± sd) | of roofline |\n");
  std::printf("|---|---:|---|---:|---:|---:|---:|\n");
  for (const auto& r : results) {
    const std::string roofline =
        r.n_gen > 0 ? std::to_string(static_cast<int>(std::lround(100 * r.median() / f.roofline_tok_s()))) + " %" : "";
    std::printf("| %s | %s | %s | %d | %s | %.2f ± %.2f | %s |\n", model.c_str(), human_count(f.params).c_str(),
                f.isa.c_str(), f.threads, r.name.c_str(), r.median(), r.stddev(), roofline.c_str());
  }
  std::printf("\nread bandwidth %.1f GB/s (%d threads); decode reads %s/token: roofline %.1f tokens/s\n",
              f.read_bw / 1e9, f.threads, human_bytes(f.bytes_per_token).c_str(), f.roofline_tok_s());
  std::printf("load %.2f s, warm-up %.2f s, KV cache %s %s, peak RSS %s\n", f.load_s, f.warmup_s, f.kv_type.c_str(),
              human_bytes(f.kv_bytes).c_str(), human_bytes(f.rss_bytes).c_str());
}

// One object: the first pp and tg test at the top level (the usual single -p/-n run), every
// test with its samples under "tests".
void print_json(const RunFacts& f, const std::vector<TestResult>& results) {
  nlohmann::json out = {{"model", f.model_path},
                        {"architecture", f.architecture},
                        {"backend", f.backend},
                        {"isa", f.isa},
                        {"threads", f.threads},
                        {"params", f.params},
                        {"file_bytes", f.file_bytes},
                        {"model_bytes", f.model_bytes},
                        {"bytes_per_token", f.bytes_per_token},
                        {"kv_bytes", f.kv_bytes},
                        {"kv_type", f.kv_type},
                        {"load_s", f.load_s},
                        {"warmup_s", f.warmup_s},
                        {"rss_bytes", f.rss_bytes},
                        {"read_bw_gb_s", f.read_bw / 1e9},
                        {"roofline_tok_s", f.roofline_tok_s()}};
  if (const TestResult* pp = first(results, "pp")) {
    out["n_prompt"] = pp->n_prompt;
    out["pp_tok_s"] = pp->median();
    out["pp_stddev"] = pp->stddev();
  }
  if (const TestResult* tg = first(results, "tg")) {
    out["n_gen"] = tg->n_gen;
    out["tg_tok_s"] = tg->median();
    out["tg_stddev"] = tg->stddev();
    out["roofline_frac"] = tg->median() / f.roofline_tok_s();
  }
  out["tests"] = nlohmann::json::array();
  for (const auto& r : results)
    out["tests"].push_back({{"test", r.name}, {"n_prompt", r.n_prompt}, {"n_gen", r.n_gen}, {"median_ts", r.median()},
                            {"stddev_ts", r.stddev()}, {"samples_ts", r.tokens_per_second}});
  std::printf("%s\n", out.dump(2).c_str());
}

constexpr int kWarmupTokens = 4;

int run_bench(const BenchFlags& flags) {
  const auto positive = [](int n) { return n > 0; };
  if (std::none_of(flags.n_prompt.begin(), flags.n_prompt.end(), positive) &&
      std::none_of(flags.n_gen.begin(), flags.n_gen.end(), positive))
    throw Error("bench: nothing to measure (-p and -n are both 0)");
  RunFacts facts;
  const auto load_start = std::chrono::steady_clock::now();
  LoadedModel loaded = load_model_from_flags(flags.model, /*need_tokenizer=*/false);
  facts.load_s = Bench::seconds_since(load_start);

  int64_t n_ctx = std::max(kWarmupTokens, flags.model.ctx_size);
  for (int n : flags.n_prompt) n_ctx = std::max<int64_t>(n_ctx, n);
  for (int n : flags.n_gen) n_ctx = std::max<int64_t>(n_ctx, n);
  Bench bench(*loaded.model, flags.model.batch_size, n_ctx, kv_type_from_name(flags.model.kv_type));
  facts.warmup_s = bench.generate(kWarmupTokens);  // page in the weights, spin up the threads

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

  const Model& model = *loaded.model;
  facts.model_path = loaded.source->path;
  facts.architecture = loaded.source->architecture;
  facts.backend = model.backend().name();
  facts.isa = std::string(cpu::isa_name(cpu::selected_isa()));
  facts.threads = model.backend().n_threads();
  facts.params = model.parameter_count();
  facts.file_bytes = loaded.source->file_bytes;
  for (const auto& [name, t] : loaded.source->tensors) facts.model_bytes += t.nbytes();
  facts.bytes_per_token = bytes_per_token(model);
  facts.kv_bytes = bench.cache().bytes();
  facts.kv_type = std::string(dtype_name(bench.cache().type()));
  facts.rss_bytes = peak_rss_bytes();  // before the bandwidth buffer raises the high-water mark
  facts.read_bw = cached_read_bandwidth(facts.threads);

  if (flags.json || flags.output == "json") print_json(facts, results);
  else print_markdown(facts, results);
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
  cmd.add_option("-r,--repetitions", flags->repetitions, "runs per test (after one warm-up)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd.add_option("-o,--output", flags->output, "md or json")->capture_default_str()->check(CLI::IsMember({"md", "json"}));
  cmd.add_flag("--json", flags->json, "same as -o json: one JSON object on stdout");
  return [flags] { return run_bench(*flags); };
}}};

}  // namespace
}  // namespace orchard::cli
