#include "generate/loaded_model.h"

#include "adapters/adapter_file.h"
#include "adapters/lora.h"
#include "core/error.h"
#include "generate/stop.h"

namespace orchard {

namespace {

// The HF generation_config.json fields that map onto our sampler; absent ones keep the
// llama.cpp defaults.
void apply_generation_config(const nlohmann::json& config, SamplingParams& p) {
  if (!config.is_object()) return;
  auto number = [&](const char* key, auto& field) {
    const auto it = config.find(key);
    if (it != config.end() && it->is_number()) field = it->get<std::decay_t<decltype(field)>>();
  };
  number("temperature", p.temperature);
  number("top_k", p.top_k);
  number("top_p", p.top_p);
  number("min_p", p.min_p);
  number("repetition_penalty", p.repeat_penalty);
  const auto sample = config.find("do_sample");
  if (sample != config.end() && sample->is_boolean() && !sample->get<bool>()) p.temperature = 0.0f;
}

std::optional<std::string> chat_template_source(const ModelSource& source) {
  if (auto text = source.metadata.get_string("tokenizer.chat_template")) return text;
  if (source.tokenizer_config) {
    const auto it = source.tokenizer_config->find("chat_template");
    if (it != source.tokenizer_config->end() && it->is_string()) return it->get<std::string>();
  }
  return std::nullopt;
}

}  // namespace

LoadedModel load_for_generation(const std::string& path, const ModelLoadSettings& settings) {
  LoadedModel loaded;
  LoadOptions options;
  options.quantize = settings.quantize;
  loaded.source = std::make_shared<const ModelSource>(open_model(path, options));
  std::shared_ptr<Backend> backend = make_cpu_backend(settings.threads);
  if (!settings.adapter_path.empty())
    backend = make_adapted_backend(backend, load_adapters(*loaded.source, settings.adapter_path), *loaded.source);
  loaded.model = load_model(loaded.source, backend);
  if (settings.need_tokenizer) {
    loaded.tokenizer = load_tokenizer(*loaded.source);
    loaded.eog_ids = end_of_generation_ids(*loaded.tokenizer, *loaded.source);
    if (auto text = chat_template_source(*loaded.source)) {
      try {
        loaded.chat_template.emplace(*text);
      } catch (const Error& e) {
        throw file_error(path, std::string("chat template (tokenizer.chat_template): ") + e.what());
      }
    }
  }
  if (loaded.source->generation_config) apply_generation_config(*loaded.source->generation_config, loaded.default_sampling);
  return loaded;
}

std::vector<TokenId> tokenize_prompt(const Tokenizer& tokenizer, const std::string& text) {
  EncodeOptions options;
  options.parse_special = true;
  const TokenId bos = tokenizer.bos();
  options.add_special = bos < 0 || !text.starts_with(tokenizer.token_text(bos));
  return tokenizer.encode(text, options);
}

std::string render_chat(const LoadedModel& loaded, const nlohmann::json& messages) {
  if (!loaded.chat_template)
    throw file_error(loaded.source->path, "the model has no chat template (tokenizer.chat_template)");
  const Tokenizer& tok = *loaded.tokenizer;
  ChatOptions options;
  options.add_generation_prompt = true;
  if (tok.bos() >= 0) options.bos_token = tok.token_text(tok.bos());
  if (tok.eos() >= 0) options.eos_token = tok.token_text(tok.eos());
  return apply_chat_template(*loaded.chat_template, messages, options);
}

}  // namespace orchard
