#include "generation_flags.h"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <limits>

#include "core/error.h"
#include "core/threadpool.h"
#include "models/model.h"
#include "default_model.h"

namespace orchard::cli {

void add_model_flags(CLI::App& cmd, ModelFlags& flags) {
  flags.model = default_model_path();
  cmd.add_option("-m,--model", flags.model, "GGUF file or Hugging Face folder (default: the bundled model)")
      ->capture_default_str();
  cmd.add_option("-t,--threads", flags.threads, "CPU threads (default: the physical cores this process may run on)")->check(CLI::NonNegativeNumber);
  cmd.add_option("--quantize", flags.quantize,
                 "quantize the f32/f16/bf16 weight matrices on load (HF folders); matrices whose rows the "
                 "type's blocks do not tile stay as they are")
      ->check(CLI::IsMember({"q8_0", "q6_k", "q5_k", "q5_0", "q5_1", "q4_k", "q4_0", "q4_1", "iq4_nl", "q3_k", "q2_k"}));
  cmd.add_option("-c,--ctx-size", flags.ctx_size, "context size in tokens (default: the model's, at most 4096)")
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("-b,--batch-size", flags.batch_size, "most tokens per forward pass (prompt chunk size)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd.add_option("--adapter-path", flags.adapter_path,
                 "LoRA/DoRA adapters to apply: a folder MLX LM (adapters.safetensors) or PEFT "
                 "(adapter_model.safetensors) wrote, with its adapter_config.json, or a weights file in one");
  add_kv_type_option(cmd, flags.kv_type);
}

void add_kv_type_option(CLI::App& cmd, std::string& kv_type) {
  cmd.add_option("--kv-type", kv_type,
                 "KV cache element type: f16 (as llama.cpp's default), q8_0 (about half of f16's memory, blocks of 32 "
                 "along each head) or f32")
      ->capture_default_str()
      ->check(CLI::IsMember({"f32", "f16", "q8_0"}));
}

LoadedModel load_model_from_flags(const ModelFlags& flags, bool need_tokenizer) {
  ModelLoadSettings settings;
  settings.threads = flags.threads > 0 ? flags.threads : default_thread_count();
  if (!flags.quantize.empty()) settings.quantize = dtype_from_name(flags.quantize);
  settings.need_tokenizer = need_tokenizer;
  settings.adapter_path = flags.adapter_path;
  return load_for_generation(flags.model, settings);
}

int64_t context_size(const ModelFlags& flags, const Model& model) {
  if (flags.ctx_size > 0) return flags.ctx_size;
  const int64_t trained = model.config().context_length;
  return trained > 0 ? std::min<int64_t>(trained, 4096) : 4096;
}

KvCache make_kv_cache(const ModelFlags& flags, const Model& model) {
  return KvCache(model.config(), context_size(flags, model), 1, kv_type_from_name(flags.kv_type));
}

void SamplingFlags::add_to(CLI::App& cmd) {
  temperature_opt_ = cmd.add_option("--temp,--temperature", temperature_, "temperature; 0 = greedy (default 0.8)");
  top_k_opt_ = cmd.add_option("--top-k", top_k_, "keep the k most likely tokens; 0 = off (default 40)");
  top_p_opt_ = cmd.add_option("--top-p", top_p_, "nucleus sampling mass; 1 = off (default 0.95)");
  min_p_opt_ = cmd.add_option("--min-p", min_p_, "drop tokens below this fraction of the best; 0 = off (default 0.05)");
  repeat_penalty_opt_ = cmd.add_option("--repeat-penalty", repeat_penalty_, "repetition penalty; 1 = off (default 1)");
  repeat_last_n_opt_ =
      cmd.add_option("--repeat-last-n", repeat_last_n_, "tokens the penalties look back; -1 = all (default 64)");
  presence_opt_ = cmd.add_option("--presence-penalty", presence_, "OpenAI presence penalty (default 0)");
  frequency_opt_ = cmd.add_option("--frequency-penalty", frequency_, "OpenAI frequency penalty (default 0)");
  seed_opt_ = cmd.add_option("-s,--seed", seed_, "random seed (default: random)");
  cmd.add_option("-l,--logit-bias", logit_bias_, "ID=BIAS (or ID+BIAS, ID-BIAS; -inf bans), repeatable");
}

SamplingParams SamplingFlags::resolve(const SamplingParams& defaults) const {
  SamplingParams p = defaults;
  if (*temperature_opt_) p.temperature = temperature_;
  if (*top_k_opt_) p.top_k = top_k_;
  if (*top_p_opt_) p.top_p = top_p_;
  if (*min_p_opt_) p.min_p = min_p_;
  if (*repeat_penalty_opt_) p.repeat_penalty = repeat_penalty_;
  if (*repeat_last_n_opt_) p.repeat_last_n = repeat_last_n_;
  if (*presence_opt_) p.presence_penalty = presence_;
  if (*frequency_opt_) p.frequency_penalty = frequency_;
  if (*seed_opt_) p.seed = seed_;
  for (const auto& spec : logit_bias_) {
    const auto [id, bias] = parse_logit_bias(spec);
    p.logit_bias[id] = bias;
  }
  return p;
}

std::pair<TokenId, float> parse_logit_bias(const std::string& spec) {
  const auto bad = [&] {
    return Error("--logit-bias '" + spec + "': expected ID=BIAS, ID+BIAS or ID-BIAS (BIAS a number or -inf)");
  };
  size_t split = spec.find('=');
  std::string bias_text;
  if (split != std::string::npos) {
    bias_text = spec.substr(split + 1);
  } else {
    split = spec.find_first_of("+-", 1);
    if (split == std::string::npos) throw bad();
    bias_text = spec.substr(split);
  }
  const std::string id_text = spec.substr(0, split);
  if (id_text.empty() || !std::all_of(id_text.begin(), id_text.end(), ::isdigit) || id_text.size() > 9) throw bad();
  float bias = 0;
  if (bias_text == "-inf") {
    bias = -std::numeric_limits<float>::infinity();
  } else {
    size_t used = 0;
    try {
      bias = std::stof(bias_text, &used);
    } catch (const std::exception&) {
      throw bad();
    }
    if (used != bias_text.size() || !std::isfinite(bias)) throw bad();
  }
  return {static_cast<TokenId>(std::stol(id_text)), bias};
}

namespace {
std::atomic<bool> g_interrupted{false};
void on_sigint(int) { g_interrupted.store(true); }
}  // namespace

const std::atomic<bool>& install_interrupt_flag() {
  struct sigaction action {};
  action.sa_handler = on_sigint;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a blocking read returns EINTR so the REPL notices
  sigaction(SIGINT, &action, nullptr);
  return g_interrupted;
}

void clear_interrupt_flag() { g_interrupted.store(false); }

void print_speed(const Sequence& sequence) {
  const SequenceStats& s = sequence.stats();
  std::fprintf(stderr, "\nprompt: %lld tokens (%lld reused), %.2f tokens/s | generation: %zu tokens, %.2f tokens/s\n",
               static_cast<long long>(s.prompt_tokens), static_cast<long long>(s.reused_tokens),
               s.prompt_tokens_per_second(), sequence.generated().size(), s.decode_tokens_per_second());
}

}  // namespace orchard::cli
