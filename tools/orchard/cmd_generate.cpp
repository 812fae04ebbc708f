// orchard generate: one prompt in, streamed text out (or one JSON object with --json).
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

#include "core/error.h"
#include "generate/generator.h"
#include "generation_flags.h"
#include "models/kv_cache.h"
#include "progress.h"
#include "subcommand.h"

namespace orchard::cli {
namespace {

struct GenerateFlags {
  ModelFlags model;
  SamplingFlags sampling;
  std::string prompt, prompt_file, prompt_ids, system;
  int max_tokens = 256;
  std::vector<std::string> stop;
  bool no_chat_template = false, json = false, ignore_eos = false;
};

std::vector<TokenId> parse_ids(const std::string& text) {
  std::vector<TokenId> ids;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    long value = -1;
    try {
      value = std::stol(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || value < 0 || value > INT32_MAX)
      throw Error("--prompt-ids: '" + item + "' is not a token id (expected comma-separated numbers like 1,450,4086)");
    ids.push_back(static_cast<TokenId>(value));
  }
  if (ids.empty()) throw Error("--prompt-ids: no ids given");
  return ids;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw file_error(path, "cannot read the prompt file");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Prompt ids by precedence: --prompt-ids verbatim; else the text through the chat template
// (as a user message, after --system) unless --no-chat-template; else the raw text.
std::vector<TokenId> prompt_tokens(const GenerateFlags& flags, const LoadedModel& loaded) {
  if (!flags.prompt_ids.empty()) return parse_ids(flags.prompt_ids);
  const std::string text = flags.prompt_file.empty() ? flags.prompt : read_file(flags.prompt_file);
  if (loaded.chat_template && !flags.no_chat_template) {
    nlohmann::json messages = nlohmann::json::array();
    if (!flags.system.empty()) messages.push_back({{"role", "system"}, {"content", flags.system}});
    messages.push_back({{"role", "user"}, {"content", text}});
    return tokenize_prompt(*loaded.tokenizer, render_chat(loaded, messages));
  }
  if (!flags.system.empty())
    std::fprintf(stderr, "orchard: warning: --system ignored: no chat template in use\n");
  return tokenize_prompt(*loaded.tokenizer, text);
}

int run_generate(const GenerateFlags& flags) {
  LoadedModel loaded = load_model_from_flags(flags.model);
  const std::vector<TokenId> prompt = prompt_tokens(flags, loaded);

  GenerationOptions options;
  options.sampling = flags.sampling.resolve(loaded.default_sampling);
  options.max_tokens = flags.max_tokens;
  options.stop = flags.stop;
  options.ignore_eos = flags.ignore_eos;
  options.cancel = &install_interrupt_flag();

  KvCache cache = make_kv_cache(flags.model, *loaded.model);
  Generator generator(*loaded.model, cache, flags.model.batch_size);
  Sequence sequence(0, prompt, options, *loaded.tokenizer, loaded.eog_ids);
  ProgressBar progress("prompt", "tokens", static_cast<int64_t>(prompt.size()));
  sequence.on_prefill_progress([&](int64_t done, int64_t) { progress.update(done); });
  if (!flags.json) {
    sequence.on_text([](std::string_view text) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
    });
  }
  generator.run(sequence);

  if (flags.json) {
    const nlohmann::json out = {{"prompt_ids", prompt},
                                {"ids", sequence.generated()},
                                {"text", sequence.text()},
                                {"finish_reason", finish_reason_name(sequence.finish_reason())}};
    std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::printf("\n");
  }
  std::fflush(stdout);
  print_speed(sequence);
  return 0;
}

const Register registration{{"generate", "Generate text from a prompt (streams to stdout)", [](CLI::App& cmd) {
  auto flags = std::make_shared<GenerateFlags>();
  add_model_flags(cmd, flags->model);
  flags->sampling.add_to(cmd);
  auto* prompt = cmd.add_option("-p,--prompt", flags->prompt, "prompt text");
  auto* file = cmd.add_option("-f,--file", flags->prompt_file, "read the prompt text from a file");
  auto* ids = cmd.add_option("--prompt-ids", flags->prompt_ids, "prompt as token ids, e.g. 1,450,4086 (no template, no BOS)");
  prompt->excludes(file)->excludes(ids);
  file->excludes(ids);
  cmd.add_option("--system", flags->system, "system message (with the chat template)");
  cmd.add_option("-n,--max-tokens,--n-predict", flags->max_tokens, "tokens to generate; -1 = until end or context full")
      ->capture_default_str()
      ->check(CLI::Range(-1, INT32_MAX));
  cmd.add_option("--stop", flags->stop, "stop at this text (repeatable; never printed)");
  cmd.add_flag("--no-chat-template", flags->no_chat_template, "feed the prompt as raw text");
  cmd.add_flag("--ignore-eos", flags->ignore_eos, "keep generating after end-of-generation tokens");
  cmd.add_flag("--json", flags->json, "print one JSON object {prompt_ids, ids, text, finish_reason}");
  return [flags, prompt, file, ids] {
    if (!*prompt && !*file && !*ids) throw Error("generate: give a prompt with --prompt, --file or --prompt-ids");
    return run_generate(*flags);
  };
}}};

}  // namespace
}  // namespace orchard::cli
