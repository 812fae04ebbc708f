// orchard tokenize --model M --text T [--add-special] [--parse-special]: prints the token ids
// as one JSON array. With --texts FILE (a JSON array of strings) it prints one array of id
// arrays, loading the tokenizer once. Needs only the tokenizer (a vocab-only GGUF works).
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "default_model.h"
#include "core/error.h"
#include "io/model_source.h"
#include "subcommand.h"
#include "tokenizer/tokenizer.h"

namespace orchard::cli {
namespace {

struct TokenizeArgs {
  std::string model;
  std::string text;
  std::string texts_file;
  bool add_special = false;
  bool parse_special = false;
};

std::vector<std::string> read_texts(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw file_error(path, "cannot open");
  const auto texts = nlohmann::json::parse(std::string(std::istreambuf_iterator<char>(in), {}), nullptr, false);
  if (!texts.is_array()) throw file_error(path, "expected a JSON array of strings");
  std::vector<std::string> out;
  for (const auto& t : texts) {
    if (!t.is_string()) throw file_error(path, "expected a JSON array of strings");
    out.push_back(t.get<std::string>());
  }
  return out;
}

const Register registration{{
    "tokenize",
    "Print the token ids of a text as a JSON array",
    [](CLI::App& cmd) -> std::function<int()> {
      auto args = std::make_shared<TokenizeArgs>();
      args->model = default_model_path();
      cmd.add_option("-m,--model", args->model, "GGUF file or Hugging Face folder (default: the bundled model)")
          ->capture_default_str();
      auto* text = cmd.add_option("-t,--text", args->text, "text to tokenize");
      auto* texts = cmd.add_option("--texts", args->texts_file, "JSON file with an array of texts to tokenize");
      text->excludes(texts);
      cmd.add_flag("--add-special", args->add_special, "add BOS/EOS the way the model's tokenizer does");
      cmd.add_flag("--parse-special", args->parse_special, "turn special-token text such as <|im_end|> into its id");
      return [args, text, texts] {
        if (text->count() == 0 && texts->count() == 0) throw Error("tokenize needs --text or --texts");
        const ModelSource source = open_model(args->model);
        const auto tokenizer = load_tokenizer(source);
        const EncodeOptions options{args->add_special, args->parse_special};
        nlohmann::json out;
        if (texts->count() == 0) {
          out = tokenizer->encode(args->text, options);
        } else {
          out = nlohmann::json::array();
          for (const std::string& t : read_texts(args->texts_file)) out.push_back(tokenizer->encode(t, options));
        }
        std::printf("%s\n", out.dump().c_str());
        return 0;
      };
    },
}};

}  // namespace
}  // namespace orchard::cli
