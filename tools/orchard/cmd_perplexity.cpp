// orchard perplexity: loss and perplexity of a model (optionally with adapters) on a text or
// jsonl file, as llama-perplexity reports it for text: the tokens cut into windows of --context,
// each window scored on every token after its first. The forward and loss are the trainer's
// own (train/trainer_eval.h), so this number and `finetune`'s validation loss are one measure.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "default_model.h"
#include "adapters/adapter_file.h"
#include "adapters/lora.h"
#include "core/error.h"
#include "core/threadpool.h"
#include "generate/loaded_model.h"
#include "subcommand.h"
#include "train/trainer_eval.h"

namespace orchard::cli {
namespace {

struct PerplexityFlags {
  std::string model, adapter_path, data;
  int64_t context = 512, batch_size = 4;
  int threads = 0;
  bool json = false;
};

int run_perplexity(const PerplexityFlags& f) {
  ModelLoadSettings settings;
  settings.threads = f.threads > 0 ? f.threads : default_thread_count();
  LoadedModel loaded = load_for_generation(f.model, settings);
  if (!f.adapter_path.empty()) {
    std::shared_ptr<const AdapterSet> adapters = load_adapters(*loaded.source, f.adapter_path);
    std::shared_ptr<Backend> base = make_cpu_backend(settings.threads);
    loaded.model = load_model(loaded.source, make_adapted_backend(base, adapters, *loaded.source));
  }
  train::TextFormat format{.tokenizer = loaded.tokenizer.get(),
                           .chat_template = loaded.chat_template ? &*loaded.chat_template : nullptr};
  const Tokenizer& tok = *loaded.tokenizer;
  if (tok.bos() >= 0) format.bos_token = tok.token_text(tok.bos());
  if (tok.eos() >= 0) format.eos_token = tok.token_text(tok.eos());
  const train::Dataset data = train::perplexity_dataset(f.data, format, f.context);
  train::BatchRunner runner(settings.threads);
  const train::EvalResult r = train::evaluate(*loaded.model, runner, data, f.batch_size, f.context, -1);
  if (f.json) {
    const nlohmann::json out = {{"loss", r.loss},
                                {"perplexity", r.perplexity()},
                                {"tokens", r.tokens},
                                {"windows", data.examples.size()},
                                {"context", f.context}};
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("%s: loss %.4f, perplexity %.4f over %lld tokens (%zu windows of at most %lld)\n", f.data.c_str(),
                r.loss, r.perplexity(), static_cast<long long>(r.tokens), data.examples.size(),
                static_cast<long long>(f.context));
  }
  return 0;
}

const Register registration{{"perplexity", "Loss and perplexity of a model on a text or jsonl file", [](CLI::App& cmd) {
  auto f = std::make_shared<PerplexityFlags>();
  f->model = default_model_path();
  cmd.add_option("-m,--model", f->model, "GGUF file or Hugging Face folder (default: the bundled model)")
      ->capture_default_str();
  cmd.add_option("--adapter-path", f->adapter_path, "folder of adapters written by orchard finetune");
  cmd.add_option("-f,--data", f->data,
                 "text file (scored in windows of --context tokens) or .jsonl in a fine-tuning format (one example a "
                 "record)")
      ->required();
  cmd.add_option("-c,--context", f->context, "tokens per window")->capture_default_str()->check(CLI::Range(int64_t{2}, INT64_MAX));
  cmd.add_option("-b,--batch-size", f->batch_size, "windows per forward pass")->capture_default_str()->check(CLI::PositiveNumber);
  cmd.add_option("-t,--threads", f->threads, "CPU threads (default: the physical cores this process may run on)")
      ->check(CLI::NonNegativeNumber);
  cmd.add_flag("--json", f->json, "print one JSON object {loss, perplexity, tokens, windows, context}");
  return [f] { return run_perplexity(*f); };
}}};

}  // namespace
}  // namespace orchard::cli
