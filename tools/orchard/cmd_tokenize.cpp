// orchard tokenize --model M --text T [--add-special] [--parse-special]: prints the token ids
// as one JSON array. Needs only the tokenizer (a vocab-only GGUF works).
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "io/model_source.h"
#include "subcommand.h"
#include "tokenizer/tokenizer.h"

namespace orchard::cli {
namespace {

struct TokenizeArgs {
  std::string model;
  std::string text;
  bool add_special = false;
  bool parse_special = false;
};

const Register registration{{
    "tokenize",
    "Print the token ids of a text as a JSON array",
    [](CLI::App& cmd) -> std::function<int()> {
      auto args = std::make_shared<TokenizeArgs>();
      cmd.add_option("-m,--model", args->model, "GGUF file or Hugging Face folder")->required();
      cmd.add_option("-t,--text", args->text, "text to tokenize")->required();
      cmd.add_flag("--add-special", args->add_special, "add BOS/EOS the way the model's tokenizer does");
      cmd.add_flag("--parse-special", args->parse_special, "turn special-token text such as <|im_end|> into its id");
      return [args] {
        const ModelSource source = open_model(args->model);
        const auto tokenizer = load_tokenizer(source);
        const auto ids = tokenizer->encode(args->text, {args->add_special, args->parse_special});
        std::printf("%s\n", nlohmann::json(ids).dump().c_str());
        return 0;
      };
    },
}};

}  // namespace
}  // namespace orchard::cli
