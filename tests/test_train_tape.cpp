// The training tape differentiates the unchanged Transformer: on tiny random models (llama,
// qwen2 with qkv biases, qwen3 with q/k norms and tied embeddings) the gradient of the mean
// cross-entropy with respect to every weight, and to LoRA / DoRA adapters (also on a frozen
// Q4_0 base), agrees with PyTorch autograd of an independent implementation
// (tools/reference/model_grad_ref.py on llama_ref.py's model, float64). Agreement is
// test::relative_error: max |orchard - torch| / max |torch| per tensor, within 1e-3. A few
// scalars are also checked against float64 central finite differences of the reference loss,
// and gradient checkpointing must give the same gradients with a smaller tape.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "adapters/lora.h"
#include "core/error.h"
#include "core/threadpool.h"
#include "io/hf_tensor_names.h"
#include "io/model_source.h"
#include "io/safetensors.h"
#include "kernels/cpu/backward.h"
#include "models/kv_cache.h"
#include "models/model.h"
#include "models/rope.h"
#include "models/testmodel.h"
#include "quant/quant.h"
#include "support/grad_reference.h"
#include "support/paths.h"
#include "train/tape_backend.h"

namespace orchard {
namespace {

namespace fs = std::filesystem;
using test::Floats;

constexpr double kTolerance = 1e-3;

struct Sequence {
  std::vector<int32_t> tokens, targets;
};

// Two sequences of different lengths, with a repeated token and some ignored targets.
std::vector<Sequence> training_batch(int64_t n_vocab) {
  std::vector<Sequence> seqs(2);
  uint32_t x = 977;
  for (int s = 0; s < 2; ++s) {
    const int length = s == 0 ? 11 : 7;
    for (int i = 0; i < length; ++i) {
      x = x * 1664525u + 1013904223u;
      seqs[s].tokens.push_back(static_cast<int32_t>((x >> 8) % n_vocab));
    }
    for (int i = 0; i < length; ++i)
      seqs[s].targets.push_back(i + 1 < length && i % 4 != 2 ? seqs[s].tokens[i + 1] : cpu::kIgnoreIndex);
  }
  seqs[1].tokens[3] = seqs[0].tokens[5];
  return seqs;
}

std::string json_ints(const std::vector<int32_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

// The model's GGUF weight names for the HF names of its safetensors file.
std::map<std::string, std::string> hf_to_gguf(const fs::path& hf_dir) {
  std::map<std::string, std::string> names;
  const auto file = SafetensorsFile::open((hf_dir / "model.safetensors").string());
  for (const auto& [hf, tensor] : file->tensors())
    if (const auto g = gguf_tensor_name(hf)) names[hf] = g->name;
  return names;
}

// One training forward + backward through the tape.
struct StepResult {
  double loss = 0;
  std::map<std::string, Floats> grads;  // by GGUF name: trainable weights, or "<weight>.lora_a" ...
  size_t peak_tape_bytes = 0;
};

struct Setup {
  bool full = true;                 // every weight trainable
  AdapterSet* adapters = nullptr;   // LoRA / DoRA
  bool checkpoint = false;
};

StepResult train_step(const std::shared_ptr<const ModelSource>& source, const std::vector<Sequence>& seqs, const Setup& setup) {
  auto tape = std::make_shared<train::TapeBackend>(2);
  auto model = load_model(source, tape);
  StepResult run;
  if (setup.full)
    for (const auto& [name, tensor] : source->tensors) {
      run.grads[name].assign(tensor.numel(), 0.0f);
      tape->add_trainable(&tensor, run.grads[name].data());
    }
  if (setup.adapters) {
    std::vector<std::vector<float>*> grads;
    for (const LoraAdapter& a : setup.adapters->adapters()) {
      grads.push_back(&run.grads[a.weight_name + ".lora_a"]);
      grads.push_back(&run.grads[a.weight_name + ".lora_b"]);
      grads.push_back(&run.grads[a.weight_name + ".dora_m"]);
    }
    tape->set_adapters(setup.adapters, grads);
  }
  tape->set_grad_checkpoint(setup.checkpoint);
  tape->set_recording(true);
  tape->clear();

  Batch batch;
  std::vector<int32_t> targets;
  for (size_t s = 0; s < seqs.size(); ++s)
    for (size_t i = 0; i < seqs[s].tokens.size(); ++i) {
      batch.add(seqs[s].tokens[i], static_cast<int32_t>(i), static_cast<int32_t>(s), true);
      targets.push_back(seqs[s].targets[i]);
    }
  KvCache cache(model->config(), 64, static_cast<int>(seqs.size()), DType::F32);
  std::vector<float> logits;
  model->forward(batch, cache, logits);
  std::vector<float> dlogits(logits.size());
  ThreadPool pool(1);
  run.loss = cpu::cross_entropy(pool, logits.data(), targets.data(), static_cast<int64_t>(targets.size()),
                                model->config().n_vocab, dlogits.data());
  tape->backward(logits.data(), dlogits.data());
  run.peak_tape_bytes = tape->peak_tape_bytes();
  for (auto it = run.grads.begin(); it != run.grads.end();) it = it->second.empty() ? run.grads.erase(it) : std::next(it);
  return run;
}

// The reference's spec and inputs; run() calls model_grad_ref.py on it.
class ModelReference {
 public:
  ModelReference(const std::string& python, const fs::path& model_dir, const std::vector<Sequence>& seqs,
                 const std::string& name)
      : python_(python), model_dir_(model_dir), dir_(test::temp_dir("train_tape_ref_" + name)) {
    for (const Sequence& s : seqs) {
      sequences_ += (sequences_.empty() ? "" : ",") + json_ints(s.tokens);
      targets_ += (targets_.empty() ? "" : ",") + json_ints(s.targets);
    }
  }
  void adapter(const LoraAdapter& a, const std::string& hf_weight) {
    write(a.weight_name + ".lora_a", a.a);
    write(a.weight_name + ".lora_b", a.b);
    if (!a.magnitude.empty()) write(a.weight_name + ".dora_m", a.magnitude);
    char scale[32];
    std::snprintf(scale, sizeof scale, "%.9g", static_cast<double>(a.scale));
    adapters_ += std::string(adapters_.empty() ? "" : ",") + "{\"name\":\"" + a.weight_name + "\",\"hf_weight\":\"" +
                 hf_weight + "\",\"scale\":" + scale + ",\"dora\":" + (a.magnitude.empty() ? "false" : "true") + "}";
  }
  // A base weight multiplied against q8_0-rounded activations (a block-quantized matmul).
  void q8_0_input(const std::string& hf_name) {
    q8_0_ += (q8_0_.empty() ? "\"" : ",\"") + hf_name + "\"";
  }
  void finite_difference(const std::string& hf_name, int64_t index) {
    fd_ += (fd_.empty() ? "" : ",") + ("[\"" + hf_name + "\"," + std::to_string(index) + "]");
    ++n_fd_;
  }
  bool run() const {
    std::ofstream(dir_ / "spec.json") << "{\"model_dir\":\"" << model_dir_.string() << "\",\"sequences\":["
                                      << sequences_ << "],\"targets\":[" << targets_ << "],\"adapters\":["
                                      << adapters_ << "],\"fd\":[" << fd_ << "],\"q8_0_inputs\":[" << q8_0_ << "]}";
    const std::string cmd =
        python_ + " " + (test::source_dir() / "tools/reference/model_grad_ref.py").string() + " " + dir_.string();
    const int status = test::run_command(cmd).status;
    EXPECT_EQ(status, 0) << cmd;
    return status == 0;
  }
  double loss() const { return read<double>("loss", 1)[0]; }
  Floats grad(const std::string& name, size_t n) const { return read<float>("grad_" + name, n); }
  std::vector<double> fd() const { return read<double>("fd", n_fd_); }

 private:
  void write(const std::string& name, const Tensor& t) {
    std::ofstream(dir_ / (name + ".bin"), std::ios::binary).write(static_cast<const char*>(t.data()), t.nbytes());
  }
  template <class T>
  std::vector<T> read(const std::string& name, size_t n) const {
    std::vector<T> v(n);
    std::ifstream in(dir_ / (name + ".bin"), std::ios::binary);
    in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(n * sizeof(T)));
    EXPECT_TRUE(in.good()) << "short reference output " << (dir_ / name).string();
    return v;
  }
  std::string python_;
  fs::path model_dir_, dir_;
  std::string sequences_, targets_, adapters_, fd_, q8_0_;
  size_t n_fd_ = 0;
};

struct Family {
  std::string name, architecture;
  bool qkv_bias = false;
};
void PrintTo(const Family& f, std::ostream* os) { *os << f.name; }

fs::path write_model(const Family& f, DType dtype = DType::F32) {
  TestModelSpec spec = test_model_preset("tiny", f.architecture);
  if (f.qkv_bias) spec.config.qkv_bias = true;
  const TestVocab vocab =
      vocab_from_gguf((test::shared_dir() / "data/tokenizer-tests/ggml-vocab-llama-spm.gguf").string());
  const fs::path dir = test::temp_dir("train_tape_" + f.name) / "hf";
  write_test_hf(spec, vocab, dtype, 7, dir.string());
  return dir;
}

std::string python_or_skip() { return test::reference_python("torch,numpy"); }

class TrainTapeFull : public ::testing::TestWithParam<Family> {};

TEST_P(TrainTapeFull, EveryWeightsGradientMatchesAutograd) {
  ORCHARD_REQUIRE_SHARED();
  const std::string python = python_or_skip();
  if (python.empty()) GTEST_SKIP() << "no Python with torch and numpy for model_grad_ref.py (Debian: python3-torch)";
  const fs::path hf = write_model(GetParam());
  auto source = std::make_shared<const ModelSource>(open_model(hf.string()));
  const auto seqs = training_batch(source->require("token_embd.weight").dim(0));
  const StepResult run = train_step(source, seqs, {});

  ModelReference ref(python, hf, seqs, GetParam().name);
  const auto names = hf_to_gguf(hf);
  // Finite differences of a few scalars with large gradients (float64, in the reference).
  const std::vector<std::pair<std::string, int64_t>> probes = {
      {"model.layers.0.mlp.up_proj.weight", 0}, {"model.layers.2.self_attn.q_proj.weight", 0}, {"model.norm.weight", 0}};
  std::vector<int64_t> probe_index;
  for (const auto& [hf_name, unused] : probes) {
    const Floats& g = run.grads.at(names.at(hf_name));
    int64_t best = 0;
    for (size_t i = 0; i < g.size(); ++i)
      if (std::abs(g[i]) > std::abs(g[best])) best = static_cast<int64_t>(i);
    ref.finite_difference(hf_name, best);
    probe_index.push_back(best);
  }
  ASSERT_TRUE(ref.run());
  EXPECT_NEAR(run.loss, ref.loss(), 1e-5 * ref.loss());
  ASSERT_FALSE(names.empty());
  for (const auto& [hf_name, gguf_name] : names) {
    const Floats& got = run.grads.at(gguf_name);
    const Floats want = ref.grad(hf_name, got.size());
    EXPECT_LE(test::relative_error(got, want), kTolerance) << hf_name;
    double norm = 0;
    for (float w : want) norm = std::max(norm, std::abs(static_cast<double>(w)));
    EXPECT_GT(norm, 0.0) << hf_name << ": the check needs a nonzero gradient";
  }
  const std::vector<double> fd = ref.fd();
  for (size_t i = 0; i < probes.size(); ++i) {
    const double got = run.grads.at(names.at(probes[i].first))[probe_index[i]];
    EXPECT_NEAR(got, fd[i], kTolerance * std::abs(fd[i])) << probes[i].first << " [" << probe_index[i] << "]";
  }

  if (GetParam().architecture != "llama") return;
  // The GGUF layout of the same weights: Q/K rows permuted for the interleaved rope. Its
  // gradients are the reference's with the same rows permuted.
  SCOPED_TRACE("GGUF layout");
  const fs::path gguf = hf.parent_path() / "model.gguf";
  TestModelSpec spec = test_model_preset("tiny", "llama");
  spec.config.qkv_bias = GetParam().qkv_bias;
  write_test_gguf(spec, vocab_from_gguf((test::shared_dir() / "data/tokenizer-tests/ggml-vocab-llama-spm.gguf").string()),
                  DType::F32, 7, gguf.string());
  auto gguf_source = std::make_shared<const ModelSource>(open_model(gguf.string()));
  const StepResult gguf_run = train_step(gguf_source, seqs, {});
  const ModelConfig& c = spec.config;
  for (const auto& [hf_name, gguf_name] : names) {
    const Floats& got = gguf_run.grads.at(gguf_name);
    Floats want = ref.grad(hf_name, got.size());
    const bool q = gguf_name.find("attn_q.") != std::string::npos, k = gguf_name.find("attn_k.") != std::string::npos;
    if (q || k) {
      const std::vector<int64_t> order = interleave_rope_rows(q ? c.n_head : c.n_head_kv, c.head_dim);
      const size_t row = want.size() / order.size();
      Floats permuted(want.size());
      for (size_t r = 0; r < order.size(); ++r)
        std::copy_n(want.begin() + order[r] * row, row, permuted.begin() + r * row);
      want = permuted;
    }
    EXPECT_LE(test::relative_error(got, want), kTolerance) << gguf_name;
  }
}

INSTANTIATE_TEST_SUITE_P(Families, TrainTapeFull,
                         ::testing::Values(Family{"llama", "llama"}, Family{"llama_qkv_bias", "llama", true},
                                           Family{"qwen2", "qwen2"}, Family{"qwen3", "qwen3"}),
                         [](const auto& info) { return info.param.name; });

// Fresh adapters with B (and m) moved off their initial values, so every gradient is exercised.
AdapterSet test_adapters(const ModelSource& source, bool dora, uint64_t seed, float dropout = 0.0f) {
  LoraConfig config{.rank = 4, .scale = 2.0f, .dropout = dropout, .dora = dora, .targets = {"all"}};
  AdapterSet set = AdapterSet::create(source, config, seed);
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::normal_distribution<float> normal(0.0f, 0.05f);
  for (LoraAdapter& a : set.adapters()) {
    for (int64_t i = 0; i < a.b.numel(); ++i) a.b.f32()[i] = normal(rng);
    if (!a.magnitude.empty())
      for (int64_t i = 0; i < a.magnitude.numel(); ++i) a.magnitude.f32()[i] *= 1.0f + normal(rng);
  }
  return set;
}

TEST(TrainTape, CheckpointingGivesTheSameGradientsWithASmallerTape) {
  ORCHARD_REQUIRE_SHARED();
  for (const Family& f : {Family{"ckpt_llama", "llama"}, Family{"ckpt_qwen3", "qwen3"}}) {
    SCOPED_TRACE(f.name);
    const fs::path hf = write_model(f);
    auto source = std::make_shared<const ModelSource>(open_model(hf.string()));
    const auto seqs = training_batch(source->require("token_embd.weight").dim(0));
    const StepResult plain = train_step(source, seqs, {});
    const StepResult checkpointed = train_step(source, seqs, {.checkpoint = true});
    EXPECT_EQ(plain.loss, checkpointed.loss);
    ASSERT_EQ(plain.grads.size(), checkpointed.grads.size());
    for (const auto& [name, g] : plain.grads) EXPECT_EQ(g, checkpointed.grads.at(name)) << name;
    EXPECT_LT(checkpointed.peak_tape_bytes, plain.peak_tape_bytes);
    std::printf("[ %s ] peak tape: %zu bytes without checkpointing, %zu with\n", f.name.c_str(), plain.peak_tape_bytes,
                checkpointed.peak_tape_bytes);
  }
}

// Adapter dropout is drawn per element from the seed; a checkpointed block's replay must draw the
// same mask, so DoRA with dropout gives the same gradients either way (and dropout is applied).
TEST(TrainTape, CheckpointReplayRedrawsTheSameDropoutMask) {
  ORCHARD_REQUIRE_SHARED();
  const fs::path hf = write_model({"ckpt_dropout", "qwen2"});
  auto source = std::make_shared<const ModelSource>(open_model(hf.string()));
  AdapterSet dropped = test_adapters(*source, true, 3, 0.25f), kept = test_adapters(*source, true, 3);
  dropped.bind(*source);
  kept.bind(*source);
  const auto seqs = training_batch(source->require("token_embd.weight").dim(0));
  const StepResult plain = train_step(source, seqs, {.full = false, .adapters = &dropped});
  const StepResult checkpointed = train_step(source, seqs, {.full = false, .adapters = &dropped, .checkpoint = true});
  const StepResult no_dropout = train_step(source, seqs, {.full = false, .adapters = &kept});
  EXPECT_EQ(plain.loss, checkpointed.loss);
  EXPECT_NE(plain.loss, no_dropout.loss);
  ASSERT_EQ(plain.grads.size(), checkpointed.grads.size());
  for (const auto& [name, g] : plain.grads) EXPECT_EQ(g, checkpointed.grads.at(name)) << name;
  EXPECT_LT(checkpointed.peak_tape_bytes, plain.peak_tape_bytes);
}

void expect_adapter_gradients(const std::string& python, const fs::path& reference_model,
                              const ModelSource& source, const StepResult& run, AdapterSet& adapters,
                              const std::vector<Sequence>& seqs, const std::string& name) {
  ModelReference ref(python, reference_model, seqs, name);
  std::map<std::string, std::string> gguf_to_hf;
  for (const auto& [hf, gguf] : hf_to_gguf(reference_model)) gguf_to_hf[gguf] = hf;
  for (const LoraAdapter& a : adapters.adapters()) ref.adapter(a, gguf_to_hf.at(a.weight_name));
  for (const auto& [gguf, hf] : gguf_to_hf)
    if (source.require(gguf).dtype() == DType::Q4_0) ref.q8_0_input(hf);
  ASSERT_TRUE(ref.run());
  EXPECT_NEAR(run.loss, ref.loss(), 1e-5 * ref.loss());
  size_t checked = 0;
  for (const auto& [param, got] : run.grads) {
    EXPECT_LE(test::relative_error(got, ref.grad(param, got.size())), kTolerance) << param;
    ++checked;
  }
  const size_t per = adapters.adapters().front().magnitude.empty() ? 2 : 3;
  EXPECT_EQ(checked, per * adapters.adapters().size());
}

class TrainTapeAdapters : public ::testing::TestWithParam<bool> {};

TEST_P(TrainTapeAdapters, LoraGradientsMatchAutograd) {
  ORCHARD_REQUIRE_SHARED();
  const std::string python = python_or_skip();
  if (python.empty()) GTEST_SKIP() << "no Python with torch and numpy for model_grad_ref.py (Debian: python3-torch)";
  const bool dora = GetParam();
  const Family f{dora ? "dora_qwen2" : "lora_qwen2", "qwen2"};
  const fs::path hf = write_model(f);
  auto source = std::make_shared<const ModelSource>(open_model(hf.string()));
  AdapterSet adapters = test_adapters(*source, dora, 5);
  adapters.bind(*source);
  const auto seqs = training_batch(source->require("token_embd.weight").dim(0));
  const StepResult run = train_step(source, seqs, {.full = false, .adapters = &adapters});
  expect_adapter_gradients(python, hf, *source, run, adapters, seqs, f.name);
}

INSTANTIATE_TEST_SUITE_P(Kinds, TrainTapeAdapters, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "DoRA" : "LoRA"; });

// QLoRA: the base is quantized to Q4_0 in memory; the reference runs on its dequantized values,
// rounding those matmuls' inputs to q8_0 blocks as orchard's (and llama.cpp's) Q4_0 kernels do,
// with the straight-through gradient the tape uses for that rounding.
TEST(TrainTape, LoraOnAFrozenQ4_0BaseMatchesAutogradOnTheDequantizedWeights) {
  ORCHARD_REQUIRE_SHARED();
  const std::string python = python_or_skip();
  if (python.empty()) GTEST_SKIP() << "no Python with torch and numpy for model_grad_ref.py (Debian: python3-torch)";
  const Family f{"qlora_llama", "llama"};
  const fs::path hf = write_model(f);
  auto source = std::make_shared<const ModelSource>(open_model(hf.string(), {.quantize = DType::Q4_0}));
  ASSERT_EQ(source->require("blk.0.attn_q.weight").dtype(), DType::Q4_0);

  const fs::path dequantized = hf.parent_path() / "dequantized";
  fs::create_directories(dequantized);
  fs::copy_file(hf / "config.json", dequantized / "config.json", fs::copy_options::overwrite_existing);
  std::map<std::string, Tensor> f32;
  for (const auto& [hf_name, gguf] : hf_to_gguf(hf)) {
    const Tensor& t = source->require(gguf);
    Tensor copy = Tensor::zeros(DType::F32, t.shape());
    dequantize_row(t.dtype(), t.data(), copy.f32(), t.numel());
    f32[hf_name] = copy;
  }
  write_safetensors((dequantized / "model.safetensors").string(), f32);

  AdapterSet adapters = test_adapters(*source, false, 9);
  adapters.bind(*source);
  const auto seqs = training_batch(source->require("token_embd.weight").dim(0));
  const StepResult run = train_step(source, seqs, {.full = false, .adapters = &adapters});
  expect_adapter_gradients(python, dequantized, *source, run, adapters, seqs, f.name);
}

// Recording or not, the tape's forward is the CPU backend's: evaluation (recording off) runs the
// inference kernels exactly; the training attention (over the batch's own K/V) agrees closely.
TEST(TrainTape, ForwardMatchesTheCpuBackend) {
  ORCHARD_REQUIRE_SHARED();
  const fs::path hf = write_model({"forward", "qwen3"});
  auto source = std::make_shared<const ModelSource>(open_model(hf.string()));
  const auto seqs = training_batch(source->require("token_embd.weight").dim(0));
  Batch batch;
  for (size_t s = 0; s < seqs.size(); ++s)
    for (size_t i = 0; i < seqs[s].tokens.size(); ++i)
      batch.add(seqs[s].tokens[i], static_cast<int32_t>(i), static_cast<int32_t>(s), true);
  auto logits_of = [&](std::shared_ptr<Backend> backend) {
    auto model = load_model(source, backend);
    KvCache cache(model->config(), 64, 2, DType::F32);
    std::vector<float> logits;
    model->forward(batch, cache, logits);
    return logits;
  };
  const std::vector<float> want = logits_of(make_cpu_backend(2));
  auto tape = std::make_shared<train::TapeBackend>(2);
  EXPECT_EQ(logits_of(tape), want);
  EXPECT_EQ(tape->peak_tape_bytes(), 0u);
  tape->set_recording(true);
  tape->clear();
  EXPECT_LE(test::relative_error(logits_of(tape), want), 1e-5);
  EXPECT_GT(tape->tape_bytes(), 0u);
}

TEST(TrainTape, TrainingAttentionNeedsWholeSequences) {
  ORCHARD_REQUIRE_SHARED();
  const fs::path hf = write_model({"whole_sequences", "llama"});
  auto source = std::make_shared<const ModelSource>(open_model(hf.string()));
  auto tape = std::make_shared<train::TapeBackend>(1);
  auto model = load_model(source, tape);
  tape->set_recording(true);
  tape->clear();
  KvCache cache(model->config(), 64, 2, DType::F32);
  Batch batch;  // two sequences interleaved
  batch.add(1, 0, 0, true), batch.add(2, 0, 1, true), batch.add(3, 1, 0, true);
  std::vector<float> logits;
  try {
    model->forward(batch, cache, logits);
    FAIL() << "interleaved sequences were accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("consecutive"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace orchard
