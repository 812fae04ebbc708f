#pragma once
// Everything needed to generate from one model path: the opened source, the model on a CPU
// backend, its tokenizer, its chat template (if it has one), its end-of-generation ids and
// its default sampling settings. Shared by `orchard generate`, `chat`, `bench` and the server.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chat/chat_template.h"
#include "generate/sampler.h"
#include "io/model_source.h"
#include "models/model.h"
#include "tokenizer/tokenizer.h"

namespace orchard {

struct LoadedModel {
  std::shared_ptr<const ModelSource> source;
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
  std::optional<ChatTemplate> chat_template;  // from "tokenizer.chat_template"
  std::vector<TokenId> eog_ids;
  // llama.cpp's defaults (temperature 0.8, top-k 40, top-p 0.95, min-p 0.05), overridden by
  // the fields an HF generation_config.json sets (do_sample false means greedy).
  SamplingParams default_sampling;
};

struct ModelLoadSettings {
  int threads = 0;                 // 0: all hardware threads
  std::optional<DType> quantize;   // HF folders only: q8_0 | q4_0 on load
  bool need_tokenizer = true;      // bench runs without one
  std::string adapter_path;        // LoRA/DoRA adapters (MLX LM or PEFT folder) on top of the base
};

LoadedModel load_for_generation(const std::string& path, const ModelLoadSettings& settings);

// Tokens for a plain-text prompt: BOS prepended if the tokenizer says so, unless the text
// already starts with the BOS token's text (as rendered chat templates often do).
std::vector<TokenId> tokenize_prompt(const Tokenizer& tokenizer, const std::string& text);

// Renders messages through the model's chat template with its BOS/EOS token strings.
std::string render_chat(const LoadedModel& loaded, const nlohmann::json& messages);

}  // namespace orchard
