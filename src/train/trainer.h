#pragma once
// The training loop of `orchard finetune`: a model made trainable (LoRA / DoRA adapters on a
// frozen base that stays as loaded, quantized or not; or every weight as an owned f32 copy for
// full fine-tuning and training from scratch), recorded on a TapeBackend, batches from a
// BatchIterator, softmax cross-entropy, gradient accumulation and clipping, an optimizer step
// at the scheduled learning rate, validation, reports and atomic checkpoints.
//
// Iterations are optimizer steps: each one takes grad_accum batches, whose gradients sum with
// weights by target-token count (the step's loss is the mean over all its target tokens, as if
// the batches were one). Checkpoints are written only between steps, so a resumed run repeats
// exactly what the interrupted one would have done.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/lora.h"
#include "io/model_source.h"
#include "models/model.h"
#include "train/dataset.h"
#include "train/trainer_eval.h"
#include "train/optimizer.h"
#include "train/tape_backend.h"

namespace orchard::train {

enum class FineTuneType { Lora, Dora, Full };
FineTuneType fine_tune_type_from_name(const std::string& name);  // Error lists the choices
const char* fine_tune_type_name(FineTuneType type);

// Defaults are mlx_lm.lora's.
struct TrainerConfig {
  FineTuneType type = FineTuneType::Lora;
  LoraConfig lora{.rank = 8, .scale = 20.0f, .dropout = 0.0f, .dora = false, .targets = {}, .num_layers = 16};
  bool from_scratch = false;      // full only: fresh weights (HF Llama init) of the model's shapes
  int64_t batch_size = 4;
  int64_t iters = 1000;           // optimizer steps
  int64_t epochs = 0;             // > 0: iters = epochs over the training set instead
  int64_t grad_accum = 1;         // batches per optimizer step
  double grad_clip = 0.0;         // max global gradient L2 norm; 0 = no clipping
  bool grad_checkpoint = false;
  int64_t max_seq_length = 2048;
  int64_t val_batches = 25;       // -1: the whole validation set
  int64_t steps_per_eval = 200;
  int64_t steps_per_report = 10;
  int64_t save_every = 100;
  uint64_t seed = 0;
  int threads = 0;                // 0: default_thread_count()
  OptimizerConfig optimizer;
  ScheduleConfig schedule;        // schedule.learning_rate is --learning-rate (1e-5)
  std::string adapter_path = "adapters";  // output folder
  std::string resume_file;        // --resume-adapter-file (see checkpoint.h)
};

// The model the trainer updates: the base source (or its f32 copy), the tape it runs on, and
// the parameters with their gradients.
class TrainableModel {
 public:
  TrainableModel(std::shared_ptr<const ModelSource> base, const TrainerConfig& config);
  Model& model() { return *model_; }
  TapeBackend& tape() { return *tape_; }
  std::vector<Parameter>& parameters() { return params_; }
  AdapterSet* adapters() { return adapters_.get(); }  // null for full fine-tuning
  const AdapterSet* adapters() const { return adapters_.get(); }
  const ModelSource& source() const { return *source_; }
  FineTuneType type() const { return type_; }
  void zero_grads();
  // After an optimizer step: DoRA's row factors depend on A, B and m, so the tape recomputes them.
  void parameters_changed();
  int64_t trainable_count() const;

 private:
  FineTuneType type_;
  std::shared_ptr<const ModelSource> source_;  // owned f32 copies for full fine-tuning; else the base
  std::shared_ptr<TapeBackend> tape_;
  std::unique_ptr<Model> model_;
  std::shared_ptr<AdapterSet> adapters_;
  std::vector<Parameter> params_;  // adapters: a, b (and m) of each in order; full: every weight
  void bind_adapter_grads();
};

// HF Llama's init for training from scratch: matrices (and embeddings) ~ N(0, 0.02), norms 1,
// biases 0; seeded, the same weights for the same seed.
void init_from_scratch(ModelSource& source, uint64_t seed);

struct StepReport {
  int64_t step = 0, iters = 0;
  double train_loss = 0;         // mean over the steps since the last report
  float learning_rate = 0;
  double steps_per_second = 0, tokens_per_second = 0;
  int64_t trained_tokens = 0;    // input tokens so far (this run and the resumed ones)
  double grad_norm = 0;          // of the last step, before clipping
};

struct TrainerCallbacks {
  std::function<void(const StepReport&)> on_report;                           // every steps_per_report
  std::function<void(int64_t step, const EvalResult&, double seconds)> on_eval;  // validation
  std::function<void(int64_t step, const std::string& saved)> on_save;         // checkpoint written
  std::function<void(const StepReport&)> on_step;                             // every step (progress line)
};

struct TrainResult {
  int64_t steps_done = 0;        // the last completed step
  bool interrupted = false;      // stopped by the stop flag (a checkpoint was saved)
  std::optional<EvalResult> final_val;
};

class Trainer {
 public:
  Trainer(TrainableModel& model, const DataSplits& data, const TrainerConfig& config, TrainerCallbacks callbacks = {});
  // Runs to config.iters (or until *stop), saving checkpoints and the final output. Resumes first
  // when config.resume_file is set.
  TrainResult run(const std::atomic<bool>* stop = nullptr);
  int64_t total_steps() const { return total_steps_; }

 private:
  TrainableModel& model_;
  const DataSplits& data_;
  TrainerConfig config_;
  TrainerCallbacks callbacks_;
  std::unique_ptr<Optimizer> optimizer_;
  BatchIterator batches_;
  BatchRunner runner_;
  int64_t total_steps_ = 0, step_ = 0, trained_tokens_ = 0;

  EvalResult validate();
  void save(bool final);
};

// The files a finished run leaves in adapter_path: for LoRA/DoRA the adapter files; for full
// fine-tuning `model.gguf` (the base's metadata and tokenizer with the trained f32 weights).
std::string final_model_path(const TrainerConfig& config);

}  // namespace orchard::train
