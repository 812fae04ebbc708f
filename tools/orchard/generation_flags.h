#pragma once
// Flags shared by `orchard generate`, `chat` and `bench`, spelled as llama.cpp / mlx_lm users
// know them (-m, -t, -c, -b, -n, --temp, --top-k, ...), and turning them into a loaded model
// and sampling parameters. Sampling flags only override what is given: the rest comes from
// the model's defaults (see LoadedModel::default_sampling).
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "generate/generator.h"
#include "generate/loaded_model.h"
#include "models/kv_cache.h"

namespace orchard::cli {

struct ModelFlags {
  std::string model;
  int threads = 0;      // 0: every hardware thread
  std::string quantize;  // "" or a block type orchard encodes (q8_0, q4_k, ...): quantize on load
  int ctx_size = 0;     // 0: the model's context length, at most 4096
  int batch_size = 512;
  std::string kv_type = "f16";  // KV cache element type: f32, f16 or q8_0
  std::string adapter_path;     // LoRA/DoRA adapter folder applied on top of the model
};
void add_model_flags(CLI::App& cmd, ModelFlags& flags);
// --kv-type f32|f16|q8_0 into `kv_type` (also used by `orchard info` for its memory estimate).
void add_kv_type_option(CLI::App& cmd, std::string& kv_type);
LoadedModel load_model_from_flags(const ModelFlags& flags, bool need_tokenizer = true);
// The context to allocate: --ctx-size, else min(model context length, 4096).
int64_t context_size(const ModelFlags& flags, const Model& model);
// The KV cache for one sequence of context_size() positions, in --kv-type.
KvCache make_kv_cache(const ModelFlags& flags, const Model& model);

class SamplingFlags {
 public:
  void add_to(CLI::App& cmd);
  // The model's defaults with every given flag applied; --logit-bias parsed here.
  SamplingParams resolve(const SamplingParams& defaults) const;

 private:
  float temperature_ = 0, top_p_ = 0, min_p_ = 0, repeat_penalty_ = 0, presence_ = 0, frequency_ = 0;
  int top_k_ = 0, repeat_last_n_ = 0;
  uint64_t seed_ = 0;
  std::vector<std::string> logit_bias_;
  CLI::Option *temperature_opt_ = nullptr, *top_p_opt_ = nullptr, *min_p_opt_ = nullptr, *top_k_opt_ = nullptr,
              *repeat_penalty_opt_ = nullptr, *repeat_last_n_opt_ = nullptr, *presence_opt_ = nullptr,
              *frequency_opt_ = nullptr, *seed_opt_ = nullptr;
};

// "ID=BIAS" or llama.cpp's "ID+BIAS" / "ID-BIAS"; BIAS may be "-inf" to ban the token.
std::pair<TokenId, float> parse_logit_bias(const std::string& spec);

// Ctrl-C handling for generation: the first SIGINT sets the flag (so the running answer
// stops at the next token) instead of killing the process.
const std::atomic<bool>& install_interrupt_flag();
void clear_interrupt_flag();

// "prompt: 12 tokens, 150.3 tokens/s | generation: 64 tokens, 21.2 tokens/s" on stderr.
void print_speed(const Sequence& sequence);

}  // namespace orchard::cli
