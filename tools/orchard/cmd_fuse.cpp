// orchard fuse --model M --adapter-path A --save-path OUT [--dequantize] [--gguf]: folds LoRA/DoRA
// adapters into the base weights (as mlx_lm.fuse), so the result runs without --adapter-path.
#include <cstdio>
#include <memory>
#include <string>

#include "default_model.h"
#include "adapters/adapter_file.h"
#include "adapters/fuse.h"
#include "core/error.h"
#include "io/model_source.h"
#include "subcommand.h"
#include "tokenizer/gguf_vocab.h"

namespace orchard::cli {
namespace {

struct FuseArgs {
  std::string model, adapter_path = "adapters", save_path = "fused_model";
  FuseOptions options;
};

const Register registration{{
    "fuse",
    "Fuse LoRA/DoRA adapters into the model's weights (as mlx_lm.fuse)",
    [](CLI::App& cmd) -> std::function<int()> {
      auto args = std::make_shared<FuseArgs>();
      args->model = default_model_path();
      cmd.add_option("-m,--model", args->model, "base model: GGUF file or Hugging Face folder (default: the bundled model)")
          ->capture_default_str();
      cmd.add_option("--adapter-path", args->adapter_path,
                     "adapters to fuse: a folder MLX LM (adapters.safetensors) or PEFT (adapter_model.safetensors) "
                     "wrote, with its adapter_config.json")
          ->capture_default_str();
      cmd.add_option("--save-path", args->save_path,
                     "where to write the fused model: a GGUF file for a GGUF base (same metadata), else a Hugging "
                     "Face folder (model.safetensors plus the base's config, tokenizer and generation files)")
          ->capture_default_str();
      cmd.add_flag("--dequantize,--de-quantize", args->options.dequantize,
                   "write every quantized tensor as f32; without it fused weights are re-quantized to their own type");
      cmd.add_flag("--gguf", args->options.gguf, "write a GGUF file (the default for a GGUF base)");
      return [args] {
        if (args->save_path == args->model) throw Error("--save-path must differ from --model (" + args->model + ")");
        const ModelSource base = open_model(args->model);
        const auto adapters = load_adapters(base, args->adapter_path);
        if (args->options.gguf && base.format == ModelFormat::HuggingFace && base.tokenizer_json) {
          const auto n_vocab = base.require("token_embd.weight").dim(0);
          args->options.gguf_tokenizer = gguf_tokenizer_metadata(
              *base.tokenizer_json, base.tokenizer_config ? &*base.tokenizer_config : nullptr, n_vocab);
        }
        std::printf("Fusing %zu adapters from %s into %s\n", adapters->adapters().size(), args->adapter_path.c_str(),
                    args->model.c_str());
        fuse_model(base, *adapters, args->save_path, args->options);
        std::printf("Saved the fused model to %s\n", args->save_path.c_str());
        return 0;
      };
    },
}};

}  // namespace
}  // namespace orchard::cli
