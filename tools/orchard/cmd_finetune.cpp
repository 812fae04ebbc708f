// orchard finetune: LoRA, DoRA, QLoRA (LoRA on a quantized base, which stays quantized) and full
// fine-tuning, or training from scratch, on a folder of train/valid/test.jsonl files. Flag
// names and defaults are mlx_lm.lora's, and so are the report lines on stdout ("Iter 10: Train
// loss ..."), so scripts written for MLX LM read them; a live progress line goes to stderr when
// it is a terminal. --config reads the same settings from a YAML file (MLX LM's keys); flags
// given on the command line win over the file.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <unistd.h>

#include <yaml-cpp/yaml.h>

#include "default_model.h"
#include "adapters/adapter_file.h"
#include "core/error.h"
#include "generate/loaded_model.h"
#include "generation_flags.h"
#include "io/hf_tensor_names.h"
#include "human_units.h"
#include "progress.h"
#include "subcommand.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace orchard::cli {
namespace {

using train::TrainerConfig;

struct FinetuneFlags {
  std::string model, data = "data", fine_tune_type = "lora", optimizer = "adam", lr_schedule = "constant";
  std::vector<std::string> lora_keys;
  int num_layers = 16, rank = 8;
  float scale = 20.0f, dropout = 0.0f, learning_rate = 1e-5f, warmup_init = 0.0f, final_lr = 0.0f,
        weight_decay = 0.0f;
  int64_t batch_size = 4, iters = 1000, epochs = 0, warmup = 0, grad_accum = 1, max_seq_length = 2048, val_batches = 25,
          steps_per_eval = 200, steps_per_report = 10, save_every = 100, test_batches = 500, decay_steps = 0;
  double grad_clip = 0;
  bool grad_checkpoint = false, mask_prompt = false, train = false, test = false, from_scratch = false;
  std::string adapter_path = "adapters", resume_adapter_file, config;
  uint64_t seed = 0;
  int threads = 0;
};

// Report lines go to stdout; on a terminal they would land in the middle of the progress line
// (stderr), so it is wiped first and redrawn by the next step.
void clear_progress_line() {
  if (isatty(STDERR_FILENO)) std::fprintf(stderr, "\r\033[K");
}

// VmHWM of /proc/self/status: the most resident memory this process has had.
double peak_memory_gb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("VmHWM:")) return static_cast<double>(std::stoull(line.substr(6))) * 1024.0 / 1e9;
  return 0;
}

// --config FILE: MLX LM's YAML keys. Each key sets its flag's variable unless that flag was
// given on the command line. Unknown keys are errors (a typo would otherwise be ignored).
class YamlConfig {
 public:
  using Setter = std::function<void(const YAML::Node&)>;
  void bind(const std::string& key, CLI::Option* option, Setter set) { keys_[key] = {option, std::move(set)}; }

  void apply(const std::string& path) const {
    YAML::Node root;
    try {
      root = YAML::LoadFile(path);
    } catch (const YAML::BadFile&) {
      throw file_error(path, "cannot read the config file");
    } catch (const YAML::Exception& e) {
      throw file_error(path, "invalid YAML at line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    if (!root.IsMap()) throw file_error(path, "the config must be a mapping of settings (key: value)");
    for (const auto& item : root) {
      const std::string key = item.first.as<std::string>();
      const auto it = keys_.find(key);
      if (it == keys_.end()) throw file_error(path, "unknown setting '" + key + "'");
      if (it->second.first && it->second.first->count() > 0) continue;  // the command line wins
      try {
        it->second.second(item.second);
      } catch (const YAML::Exception& e) {
        throw file_error(path, "line " + std::to_string(item.second.Mark().line + 1) + ": '" + key +
                                   "' has the wrong type (" + e.msg + ")");
      }
    }
  }

 private:
  std::map<std::string, std::pair<CLI::Option*, Setter>> keys_;
};

template <class T>
YamlConfig::Setter assign(T& field) {
  return [&field](const YAML::Node& n) { field = n.as<T>(); };
}

// MLX LM's lr_schedule mapping: {name: cosine_decay | linear_schedule, warmup, warmup_init,
// arguments: [...]} (or just a name).
void apply_schedule(const YAML::Node& n, FinetuneFlags& f) {
  auto set_name = [&](const std::string& name) {
    if (name == "cosine_decay" || name == "cosine") f.lr_schedule = "cosine";
    else if (name == "linear_schedule" || name == "linear") f.lr_schedule = "linear";
    else if (name == "constant") f.lr_schedule = "constant";
    else throw Error("lr_schedule: unknown schedule '" + name + "' (cosine_decay, linear_schedule or constant)");
  };
  if (n.IsScalar()) return set_name(n.as<std::string>());
  set_name(n["name"].as<std::string>());
  if (n["warmup"]) f.warmup = n["warmup"].as<int64_t>();
  if (n["warmup_init"]) f.warmup_init = n["warmup_init"].as<float>();
  const YAML::Node args = n["arguments"];
  if (args && args.IsSequence()) {
    // cosine_decay(init, decay_steps, end); linear_schedule(init, end, steps)
    if (args.size() > 0) f.learning_rate = args[0].as<float>();
    if (f.lr_schedule == "cosine") {
      if (args.size() > 1) f.decay_steps = args[1].as<int64_t>();
      if (args.size() > 2) f.final_lr = args[2].as<float>();
    } else {
      if (args.size() > 1) f.final_lr = args[1].as<float>();
      if (args.size() > 2) f.decay_steps = args[2].as<int64_t>();
    }
  }
}

// MLX LM / PEFT module names ("self_attn.q_proj", "q_proj", "mlp.down_proj") to the GGUF name
// parts adapters use ("attn_q"); GGUF parts and "all" pass through, unknown names too (the
// adapter code's error lists the choices).
std::string lora_key(const std::string& key) {
  for (const char* prefix : {"", "self_attn.", "mlp."}) {
    const auto g = gguf_tensor_name("model.layers.0." + std::string(prefix) + key + ".weight");
    if (g && g->layer && g->name.starts_with("blk.0.") && g->name.ends_with(".weight"))
      return g->name.substr(6, g->name.size() - 6 - 7);
  }
  return key;
}

TrainerConfig trainer_config(const FinetuneFlags& f) {
  TrainerConfig c;
  c.type = train::fine_tune_type_from_name(f.fine_tune_type);
  c.lora.rank = f.rank;
  c.lora.scale = f.scale;
  c.lora.dropout = f.dropout;
  c.lora.num_layers = f.num_layers;
  for (const std::string& key : f.lora_keys) c.lora.targets.push_back(lora_key(key));
  c.from_scratch = f.from_scratch;
  c.batch_size = f.batch_size;
  c.iters = f.iters;
  c.epochs = f.epochs;
  c.grad_accum = f.grad_accum;
  c.grad_clip = f.grad_clip;
  c.grad_checkpoint = f.grad_checkpoint;
  c.max_seq_length = f.max_seq_length;
  c.val_batches = f.val_batches;
  c.steps_per_eval = f.steps_per_eval;
  c.steps_per_report = f.steps_per_report;
  c.save_every = f.save_every;
  c.seed = f.seed;
  c.threads = f.threads;
  // Adam is AdamW without decay (mlx_lm's default optimizer "adam").
  c.optimizer.name = f.optimizer == "adam" ? "adamw" : f.optimizer;
  c.optimizer.weight_decay = f.weight_decay;
  c.schedule.name = f.lr_schedule;
  c.schedule.learning_rate = f.learning_rate;
  c.schedule.warmup = f.warmup;
  c.schedule.warmup_init = f.warmup_init;
  c.schedule.final_lr = f.final_lr;
  c.schedule.decay_steps = f.decay_steps;
  c.adapter_path = f.adapter_path;
  c.resume_file = f.resume_adapter_file;
  learning_rate_at(c.schedule, 0, 1);  // an unknown schedule fails here, before loading anything
  return c;
}

int run_finetune(const FinetuneFlags& f) {
  const TrainerConfig config = trainer_config(f);
  const bool do_train = f.train || !f.test;  // --test alone only evaluates (as mlx_lm without --train)

  std::printf("Loading pretrained model\n");
  std::fflush(stdout);
  ModelLoadSettings settings;
  settings.threads = f.threads > 0 ? f.threads : default_thread_count();
  LoadedModel loaded = load_for_generation(f.model, settings);
  train::TrainableModel trainable(loaded.source, config);
  if (!f.resume_adapter_file.empty() && !do_train)
    throw Error("--resume-adapter-file is for training; to test adapters use --test with --train or orchard perplexity");
  const double total_params = static_cast<double>(trainable.model().parameter_count());
  const double trained = static_cast<double>(trainable.trainable_count());
  std::printf("Trainable parameters: %.3f%% (%.3fM/%.3fM)\n", 100.0 * trained / total_params, trained / 1e6,
              total_params / 1e6);

  std::printf("Loading datasets\n");
  std::fflush(stdout);
  train::TextFormat format{.tokenizer = loaded.tokenizer.get(),
                           .chat_template = loaded.chat_template ? &*loaded.chat_template : nullptr};
  const Tokenizer& tok = *loaded.tokenizer;
  if (tok.bos() >= 0) format.bos_token = tok.token_text(tok.bos());
  if (tok.eos() >= 0) format.eos_token = tok.token_text(tok.eos());
  const train::DataSplits data = train::load_data_folder(
      f.data, format, train::DatasetOptions{.mask_prompt = f.mask_prompt, .max_seq_length = f.max_seq_length});
  for (const train::Dataset* d : {&data.train, &data.valid})
    if (d->truncated > 0)
      std::fprintf(stderr, "orchard: warning: %s: %lld examples longer than --max-seq-length %lld were truncated\n",
                   d->path.c_str(), static_cast<long long>(d->truncated), static_cast<long long>(f.max_seq_length));

  if (do_train) {
    std::printf("Training\n");
    const std::atomic<bool>& interrupted = install_interrupt_flag();
    std::optional<ProgressBar> progress;
    double last_val = NAN;
    int64_t first_step = -1;
    train::TrainerCallbacks callbacks;
    callbacks.on_eval = [&](int64_t step, const train::EvalResult& val, double seconds) {
      last_val = val.loss;
      clear_progress_line();
      std::printf("Iter %lld: Val loss %.3f, Val took %.3fs\n", static_cast<long long>(std::max<int64_t>(step, 1)),
                  val.loss, seconds);
      std::fflush(stdout);
    };
    callbacks.on_report = [&](const train::StepReport& r) {
      clear_progress_line();
      std::printf("Iter %lld: Train loss %.3f, Learning Rate %.3e, It/sec %.3f, Tokens/sec %.3f, Trained Tokens %lld, "
                  "Peak mem %.3f GB\n",
                  static_cast<long long>(r.step), r.train_loss, r.learning_rate, r.steps_per_second,
                  r.tokens_per_second, static_cast<long long>(r.trained_tokens), peak_memory_gb());
      std::fflush(stdout);
    };
    callbacks.on_save = [&](int64_t step, const std::string& saved) {
      clear_progress_line();
      std::printf("Iter %lld: Saved adapter weights to %s.\n", static_cast<long long>(step), saved.c_str());
      std::fflush(stdout);
    };
    callbacks.on_step = [&](const train::StepReport& r) {
      // The bar counts the steps after the first one it sees (its clock starts there), so its rate
      // and ETA are right from the next step on, also in a resumed run.
      if (!progress) {
        first_step = r.step;
        progress.emplace("train", "it", r.iters - first_step, 1);
      }
      char val_text[32] = "-";
      if (!std::isnan(last_val)) std::snprintf(val_text, sizeof val_text, "%.3f", last_val);
      char detail[256];
      std::snprintf(detail, sizeof detail, "iter %lld/%lld, loss %.3f, val %s, %.0f tok/s, lr %.2e, peak %.2f GB",
                    static_cast<long long>(r.step), static_cast<long long>(r.iters), r.train_loss,
                    val_text, r.tokens_per_second,
                    r.learning_rate, peak_memory_gb());
      progress->update(r.step - first_step, detail);
    };
    train::Trainer run(trainable, data, config, callbacks);
    std::printf("Starting training..., iters: %lld\n", static_cast<long long>(run.total_steps()));
    std::fflush(stdout);
    const train::TrainResult result = run.run(&interrupted);
    progress.reset();
    if (result.interrupted) {
      std::printf("Interrupted at iter %lld: saved to %s; continue with --resume-adapter-file %s\n",
                  static_cast<long long>(result.steps_done), config.adapter_path.c_str(),
                  (config.adapter_path + "/" + train::kTrainingStateFile).c_str());
      return 0;
    }
    std::printf("Saved final weights to %s.\n", train::final_model_path(config).c_str());
  }

  if (f.test) {
    if (!do_train && trainable.adapters()) {
      // --test alone scores the adapters of --adapter-path (as mlx_lm.lora --test --adapter-path).
      const std::string adapters = config.adapter_path + "/adapters.safetensors";
      if (!std::filesystem::exists(adapters))
        throw file_error(adapters, "--test without --train scores the adapters of --adapter-path: none here");
      std::printf("Loading pretrained adapters from %s\n", adapters.c_str());
      load_adapter_weights(*trainable.adapters(), trainable.source(), adapters);
      trainable.parameters_changed();
    }
    std::printf("Testing\n");
    if (!data.test) throw Error(f.data + ": --test needs a test.jsonl in the data folder");
    trainable.tape().set_recording(false);
    train::BatchRunner runner(f.threads);
    const train::EvalResult r = train::evaluate(trainable.model(), runner, *data.test, f.batch_size, f.max_seq_length,
                                                f.test_batches);
    std::printf("Test loss %.3f, Test ppl %.3f.\n", r.loss, r.perplexity());
  }
  return 0;
}

const Register registration{{"finetune", "Fine-tune a model (LoRA, DoRA, QLoRA, full) on a folder of jsonl data", [](CLI::App& cmd) {
  auto f = std::make_shared<FinetuneFlags>();
  auto yaml = std::make_shared<YamlConfig>();
  cmd.footer(
      "Data: DIR/train.jsonl and DIR/valid.jsonl (and DIR/test.jsonl for --test), one JSON object a line: "
      "{\"text\"}, {\"prompt\",\"completion\"}, {\"messages\"} or {\"messages\",\"tools\"}.\n"
      "Output in --adapter-path: adapters.safetensors + adapter_config.json (LoRA/DoRA) or model.gguf (full), and "
      "training_state.safetensors (parameters, optimizer state, data position, step) written every --save-every "
      "iterations and on Ctrl-C; rerun with --resume-adapter-file DIR/adapters.safetensors (or the state file) to "
      "continue exactly where it stopped.\n"
      "An iteration is one optimizer step over --grad-accumulation-steps batches.");
  auto opt = [&](const std::string& names, auto& field, const std::string& help, const std::string& key) {
    CLI::Option* o = cmd.add_option(names, field, help)->capture_default_str();
    if (!key.empty()) yaml->bind(key, o, assign(field));
    return o;
  };
  auto flag = [&](const std::string& names, bool& field, const std::string& help, const std::string& key) {
    CLI::Option* o = cmd.add_flag(names, field, help);
    yaml->bind(key, o, assign(field));
    return o;
  };
  f->model = default_model_path();
  opt("-m,--model", f->model, "GGUF file or Hugging Face folder to fine-tune (default: the bundled model)", "model");
  opt("--data", f->data, "folder with train.jsonl, valid.jsonl and optionally test.jsonl", "data");
  opt("--fine-tune-type", f->fine_tune_type, "lora, dora or full", "fine_tune_type")
      ->check(CLI::IsMember({"lora", "dora", "full"}));
  opt("--optimizer", f->optimizer, "adam, adamw or sgd (momentum 0.9)", "optimizer")
      ->check(CLI::IsMember({"adam", "adamw", "sgd"}));
  opt("--weight-decay", f->weight_decay, "AdamW's decoupled weight decay", "weight_decay");
  opt("--num-layers", f->num_layers, "adapt the last N blocks; -1 = all", "num_layers");
  opt("--rank", f->rank, "LoRA rank", "")->check(CLI::PositiveNumber);
  opt("--scale", f->scale, "LoRA scale (PEFT's lora_alpha / rank)", "");
  opt("--dropout", f->dropout, "dropout on the adapter input while training", "")->check(CLI::Range(0.0f, 0.99f));
  cmd.add_option("--lora-keys", f->lora_keys,
                 "matrices to adapt: attn_q attn_k attn_v attn_output ffn_gate ffn_up ffn_down, or all "
                 "(default attn_q attn_v; also q_proj, v_proj, ... as MLX LM / PEFT name them)")
      ->delimiter(',');
  CLI::Option* keys_opt = cmd.get_option("--lora-keys");
  yaml->bind("lora_parameters", nullptr, [f, &cmd, keys_opt](const YAML::Node& n) {
    if (n["rank"] && !cmd.get_option("--rank")->count()) f->rank = n["rank"].as<int>();
    if (n["scale"] && !cmd.get_option("--scale")->count()) f->scale = n["scale"].as<float>();
    if (n["alpha"] && !cmd.get_option("--scale")->count()) f->scale = n["alpha"].as<float>() / static_cast<float>(f->rank);
    if (n["dropout"] && !cmd.get_option("--dropout")->count()) f->dropout = n["dropout"].as<float>();
    if (n["keys"] && !keys_opt->count()) f->lora_keys = n["keys"].as<std::vector<std::string>>();
  });
  opt("--batch-size", f->batch_size, "sequences per batch", "batch_size")->check(CLI::PositiveNumber);
  opt("--iters", f->iters, "iterations (optimizer steps) to train", "iters")->check(CLI::PositiveNumber);
  opt("--epochs", f->epochs, "train for this many passes over train.jsonl instead of --iters (0 = use --iters)", "epochs")
      ->check(CLI::NonNegativeNumber);
  opt("--learning-rate", f->learning_rate, "peak learning rate", "learning_rate");
  CLI::Option* schedule = opt("--lr-schedule", f->lr_schedule, "constant, cosine or linear decay (after --warmup)", "");
  schedule->check(CLI::IsMember({"constant", "cosine", "linear"}));
  yaml->bind("lr_schedule", schedule, [f](const YAML::Node& n) { apply_schedule(n, *f); });
  opt("--warmup", f->warmup, "steps of linear warmup from --warmup-init", "warmup")->check(CLI::NonNegativeNumber);
  opt("--warmup-init", f->warmup_init, "learning rate at the start of the warmup", "warmup_init");
  opt("--final-lr", f->final_lr, "learning rate at the end of the cosine / linear decay", "final_lr");
  opt("--grad-accumulation-steps,--grad-accum", f->grad_accum, "batches per optimizer step", "grad_accumulation_steps")
      ->check(CLI::PositiveNumber);
  opt("--grad-clip", f->grad_clip, "clip the global gradient L2 norm to this; 0 = off", "grad_clip")
      ->check(CLI::NonNegativeNumber);
  flag("--grad-checkpoint", f->grad_checkpoint, "recompute each block's activations in the backward (less memory)",
       "grad_checkpoint");
  opt("--max-seq-length", f->max_seq_length, "longer examples are truncated", "max_seq_length")->check(CLI::PositiveNumber);
  flag("--mask-prompt", f->mask_prompt, "train on completions only (not on the prompt)", "mask_prompt");
  opt("--val-batches", f->val_batches, "validation batches per evaluation; -1 = the whole valid.jsonl, 0 = none",
      "val_batches")
      ->check(CLI::Range(int64_t{-1}, INT64_MAX));
  opt("--steps-per-eval", f->steps_per_eval, "iterations between validations", "steps_per_eval")->check(CLI::PositiveNumber);
  opt("--steps-per-report", f->steps_per_report, "iterations between report lines", "steps_per_report")
      ->check(CLI::PositiveNumber);
  opt("--save-every", f->save_every, "iterations between checkpoints", "save_every")->check(CLI::PositiveNumber);
  opt("--adapter-path", f->adapter_path, "output folder for adapters (or the full model) and checkpoints", "adapter_path");
  opt("--resume-adapter-file", f->resume_adapter_file,
      "continue from a checkpoint: adapters.safetensors or training_state.safetensors of an earlier run",
      "resume_adapter_file");
  opt("--seed", f->seed, "seed for adapter init, batch order and dropout", "seed");
  opt("-t,--threads", f->threads, "CPU threads (default: the physical cores this process may run on)", "threads")
      ->check(CLI::NonNegativeNumber);
  flag("--train", f->train, "train (the default unless --test is given alone, as in mlx_lm)", "train");
  flag("--test", f->test, "report loss and perplexity on test.jsonl (after training, if training)", "test");
  opt("--test-batches", f->test_batches, "test batches; -1 = the whole test.jsonl", "test_batches")
      ->check(CLI::Range(int64_t{-1}, INT64_MAX));
  flag("--from-scratch", f->from_scratch,
       "full training from freshly initialized weights of --model's shapes (HF Llama init: N(0, 0.02), norms 1); "
       "make a model of the shape you want with `orchard testmodel`",
       "from_scratch");
  cmd.add_option("-c,--config", f->config, "YAML file of settings (mlx_lm.lora's keys); flags given here win");
  return [f, yaml] {
    if (!f->config.empty()) yaml->apply(f->config);
    if (f->model.empty()) throw Error("finetune: give the model with --model (or 'model:' in --config)");
    return run_finetune(*f);
  };
}}};

}  // namespace
}  // namespace orchard::cli
