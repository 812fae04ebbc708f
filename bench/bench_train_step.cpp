// One training step's forward + backward through the tape (train/tape_backend.h) on a
// ~28M-parameter Llama shape (embd 512, 4 layers, 8 heads / 4 KV heads of 64, ffn 1408, the
// 32000-token SentencePiece vocab, tied embeddings; f32 weights): full fine-tuning, with
// gradient checkpointing, and LoRA (rank 8 on every linear layer), as tokens/s, with the peak
// tape bytes. The model is written once to a temporary file from the shared vocab
// (ORCHARD_SHARED_DIR, default ../shared). Threads: ORCHARD_BENCH_THREADS (default: all cores).
//   bench_train_step --benchmark_filter='train_step/full/.*'
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "adapters/lora.h"
#include "core/threadpool.h"
#include "io/model_source.h"
#include "kernels/cpu/backward.h"
#include "models/kv_cache.h"
#include "models/model.h"
#include "models/testmodel.h"
#include "train/tape_backend.h"

namespace orchard {
namespace {

namespace fs = std::filesystem;

int bench_threads() {
  if (const char* env = std::getenv("ORCHARD_BENCH_THREADS")) return std::max(1, std::atoi(env));
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

const std::string& model_path() {
  static const std::string path = [] {
    const char* env = std::getenv("ORCHARD_SHARED_DIR");
    const fs::path shared = env ? fs::path(env) : fs::path(__FILE__).parent_path() / ".." / ".." / "shared";
    TestModelSpec spec = test_model_preset("tiny", "llama");
    ModelConfig& c = spec.config;
    c.n_embd = 512, c.n_layer = 4, c.n_head = 8, c.n_head_kv = 4, c.head_dim = 64, c.n_ff = 1408;
    c.tied_embeddings = true;
    const TestVocab vocab = vocab_from_gguf((shared / "data/tokenizer-tests/ggml-vocab-llama-spm.gguf").string());
    const fs::path out = fs::temp_directory_path() / "orchard_bench_train_step.gguf";
    write_test_gguf(spec, vocab, DType::F32, 1, out.string());
    return out.string();
  }();
  return path;
}

enum Mode { kFull, kCheckpoint, kLora };

// Args: mode, sequences, tokens per sequence.
void train_step(benchmark::State& state) {
  const Mode mode = static_cast<Mode>(state.range(0));
  const int n_seq = static_cast<int>(state.range(1)), length = static_cast<int>(state.range(2));
  auto source = std::make_shared<const ModelSource>(open_model(model_path()));
  auto tape = std::make_shared<train::TapeBackend>(bench_threads());
  auto model = load_model(source, tape);
  std::vector<std::vector<float>> grads;
  grads.reserve(source->tensors.size() + 1);
  AdapterSet adapters;
  std::vector<std::vector<float>> adapter_grads;
  if (mode == kLora) {
    adapters = AdapterSet::create(*source, {.rank = 8, .targets = {"all"}}, 1);
    adapter_grads.resize(3 * adapters.adapters().size());
    std::vector<std::vector<float>*> pointers;
    for (auto& g : adapter_grads) pointers.push_back(&g);
    tape->set_adapters(&adapters, pointers);
  } else {
    for (const auto& [name, tensor] : source->tensors) {
      grads.emplace_back(tensor.numel(), 0.0f);
      tape->add_trainable(&tensor, grads.back().data());
    }
  }
  tape->set_grad_checkpoint(mode == kCheckpoint);
  tape->set_recording(true);

  Batch batch;
  std::vector<int32_t> targets;
  for (int s = 0; s < n_seq; ++s)
    for (int i = 0; i < length; ++i) {
      batch.add((s * 7919 + i * 104729) % model->config().n_vocab, i, s, true);
      targets.push_back((s * 7919 + (i + 1) * 104729) % static_cast<int32_t>(model->config().n_vocab));
    }
  KvCache cache(model->config(), length, n_seq, DType::F32);
  std::vector<float> logits, dlogits;
  ThreadPool pool(1);
  for (auto _ : state) {
    tape->clear();
    model->forward(batch, cache, logits);
    dlogits.resize(logits.size());
    cpu::cross_entropy(pool, logits.data(), targets.data(), static_cast<int64_t>(targets.size()),
                       model->config().n_vocab, dlogits.data());
    tape->backward(logits.data(), dlogits.data());
  }
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * n_seq * length,
                                                  benchmark::Counter::kIsRate);
  state.counters["peak_tape_MB"] = static_cast<double>(tape->peak_tape_bytes()) / 1e6;
}

BENCHMARK(train_step)
    ->ArgNames({"mode", "seqs", "len"})
    ->Args({kFull, 2, 128})
    ->Args({kCheckpoint, 2, 128})
    ->Args({kLora, 2, 128})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace orchard

BENCHMARK_MAIN();
