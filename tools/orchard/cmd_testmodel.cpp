// orchard testmodel: write a model with seeded random weights and the exact shapes of a real
// one (or a tiny one), as a GGUF file or a Hugging Face folder, for tests and speed work.
// The tokenizer comes from a vocab GGUF or a tokenizer.json (+ tokenizer_config.json beside it).
#include <cstdio>
#include <filesystem>
#include <string>

#include "core/error.h"
#include "io/json_file.h"
#include "models/testmodel.h"
#include "subcommand.h"
#include "tokenizer/gguf_vocab.h"

namespace orchard::cli {
namespace {

namespace fs = std::filesystem;

// What --dtype takes for GGUF output: one type for every matrix, or llama.cpp's Q4_K_M mixture.
constexpr const char* kDTypes = "f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, iq4_nl, q2_k, q3_k, q4_k, q5_k, q6_k, q4_k_m";

struct TestModelFlags {
  std::string architecture;
  std::string preset = "tiny";
  std::string dtype = "f32";
  std::string vocab;
  uint64_t seed = 0;
  std::string output;
};

TestVocab load_vocab(const std::string& path) {
  if (path.ends_with(".gguf")) return vocab_from_gguf(path);
  TestVocab vocab;
  vocab.source = path;
  vocab.tokenizer_json_path = path;
  const fs::path config = fs::path(path).parent_path() / "tokenizer_config.json";
  std::optional<nlohmann::json> tokenizer_config;
  if (fs::exists(config)) {
    vocab.tokenizer_config_path = config.string();
    tokenizer_config = read_json_file(config.string());
  }
  vocab.tokenizer = gguf_tokenizer_metadata(read_json_file(path), tokenizer_config ? &*tokenizer_config : nullptr);
  if (tokenizer_config && tokenizer_config->contains("chat_template") && (*tokenizer_config)["chat_template"].is_string())
    vocab.tokenizer.set("tokenizer.chat_template", MetaValue::string((*tokenizer_config)["chat_template"].get<std::string>()));
  return vocab;
}

int run(const TestModelFlags& flags) {
  const bool gguf = flags.output.ends_with(".gguf");
  const auto file_type = gguf_file_type_from_name(flags.dtype);  // a dtype, or llama.cpp's q4_k_m mixture
  if (!file_type) throw Error("--dtype: unknown type '" + flags.dtype + "' (" + kDTypes + ")");
  if (file_type->q4_k_m && !gguf) throw Error("--dtype q4_k_m: a llama.cpp mixture, for .gguf output only");
  const TestModelSpec spec = test_model_preset(flags.preset, flags.architecture);
  const TestVocab vocab = load_vocab(flags.vocab);
  const ModelConfig config = resolve_test_config(spec, vocab);
  if (gguf)
    write_test_gguf(spec, vocab, *file_type, flags.seed, flags.output);
  else
    write_test_hf(spec, vocab, file_type->base, flags.seed, flags.output);
  std::printf("wrote %s: %s '%s', %lld layers, embd %lld, vocab %lld, %s, seed %llu (%s)\n", flags.output.c_str(),
              config.architecture.c_str(), spec.name.c_str(), static_cast<long long>(config.n_layer),
              static_cast<long long>(config.n_embd), static_cast<long long>(config.n_vocab), flags.dtype.c_str(),
              static_cast<unsigned long long>(flags.seed), gguf ? "GGUF" : "Hugging Face folder");
  return 0;
}

const Register registration{{"testmodel", "Write a model with random weights and a real model's shapes (GGUF or HF folder)",
                             [](CLI::App& cmd) {
  auto flags = std::make_shared<TestModelFlags>();
  cmd.add_option("--arch", flags->architecture, "llama, qwen2 or qwen3 (default: the preset's)");
  cmd.add_option("--preset", flags->preset, "tiny, tinyllama-1.1b, llama-3.2-1b or qwen3-0.6b")->capture_default_str();
  cmd.add_option("--dtype", flags->dtype, std::string("weight type: ") + kDTypes + " (HF folders: f32/f16/bf16, mlx_*)")
      ->capture_default_str();
  cmd.add_option("--vocab", flags->vocab, "vocab GGUF or tokenizer.json (use the vocab of the model the preset imitates)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd.add_option("--seed", flags->seed, "weights seed (same seed = same weights in GGUF and HF layout)")->capture_default_str();
  cmd.add_option("-o,--output", flags->output, "OUT.gguf, or a folder for the Hugging Face layout")->required();
  return [flags] { return run(*flags); };
}}};

}  // namespace
}  // namespace orchard::cli
