#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <random>

#include <nlohmann/json.hpp>

#include "adapters/adapter_file.h"
#include "core/error.h"
#include "core/threadpool.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "models/config.h"
#include "quant/quant.h"
#include "train/checkpoint.h"

namespace orchard::train {

FineTuneType fine_tune_type_from_name(const std::string& name) {
  if (name == "lora") return FineTuneType::Lora;
  if (name == "dora") return FineTuneType::Dora;
  if (name == "full") return FineTuneType::Full;
  throw Error("unknown fine-tune type '" + name + "' (choose lora, dora or full)");
}

const char* fine_tune_type_name(FineTuneType type) {
  switch (type) {
    case FineTuneType::Lora: return "lora";
    case FineTuneType::Dora: return "dora";
    case FineTuneType::Full: return "full";
  }
  return "?";
}

namespace {

// An owned f32 copy of any stored tensor (float or quantized), row by row.
Tensor f32_copy(const Tensor& t) {
  Tensor out = Tensor::zeros(DType::F32, t.shape());
  const int64_t rows = t.rows(), cols = t.cols();
  for (int64_t r = 0; r < rows; ++r) dequantize_row(t.dtype(), t.row(r), out.f32() + r * cols, cols);
  return out;
}

bool is_norm(const std::string& name) { return name.ends_with("norm.weight"); }

}  // namespace

void init_from_scratch(ModelSource& source, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  for (auto& [name, t] : source.tensors) {  // map order: the same weights for the same seed
    if (name == kRopeFreqsTensor) continue;  // a property of the architecture, not learned
    if (t.dtype() != DType::F32) throw Error("init_from_scratch: '" + name + "' is not f32");
    float* v = t.f32();
    const int64_t n = t.numel();
    if (t.ndim() >= 2)
      for (int64_t i = 0; i < n; ++i) v[i] = normal(rng);
    else
      std::fill(v, v + n, is_norm(name) ? 1.0f : 0.0f);
  }
}

TrainableModel::TrainableModel(std::shared_ptr<const ModelSource> base, const TrainerConfig& config)
    : type_(config.type) {
  tape_ = std::make_shared<TapeBackend>(config.threads > 0 ? config.threads : default_thread_count());
  tape_->set_grad_checkpoint(config.grad_checkpoint);
  if (type_ == FineTuneType::Full) {
    // The trained model is written as GGUF, which needs the tokenizer as GGUF metadata; a
    // Hugging Face folder keeps it in tokenizer.json, so its GGUF would not load.
    if (base->format == ModelFormat::HuggingFace && !base->metadata.has("tokenizer.ggml.model"))
      throw file_error(base->path, "full fine-tuning writes a GGUF model and this Hugging Face folder's tokenizer "
                                   "cannot go into one; fine-tune a GGUF of the model, or use --fine-tune-type lora");
    auto copy = std::make_shared<ModelSource>(*base);
    for (auto& [name, t] : copy->tensors) t = f32_copy(t);
    if (config.from_scratch) init_from_scratch(*copy, config.seed);
    for (auto& [name, t] : copy->tensors)
      if (name != kRopeFreqsTensor) params_.push_back(Parameter{name, &t, std::vector<float>(t.numel())});
    source_ = copy;
    model_ = load_model(source_, tape_);
    for (Parameter& p : params_) tape_->add_trainable(p.value, p.grad.data());
    return;
  }
  if (config.from_scratch) throw Error("--from-scratch trains every weight: use it with --fine-tune-type full");
  source_ = std::move(base);
  LoraConfig lora = config.lora;
  lora.dora = type_ == FineTuneType::Dora;
  adapters_ = std::make_shared<AdapterSet>(AdapterSet::create(*source_, lora, config.seed));
  adapters_->bind(*source_);
  for (LoraAdapter& a : adapters_->adapters()) {
    params_.push_back(Parameter{a.weight_name + ".lora_a", &a.a, std::vector<float>(a.a.numel())});
    params_.push_back(Parameter{a.weight_name + ".lora_b", &a.b, std::vector<float>(a.b.numel())});
    if (lora.dora) params_.push_back(Parameter{a.weight_name + ".dora_m", &a.magnitude, std::vector<float>(a.magnitude.numel())});
  }
  model_ = load_model(source_, tape_);
  bind_adapter_grads();
}

// The tape takes each adapter's gradients as consecutive entries: dA, dB (and dm for DoRA).
void TrainableModel::bind_adapter_grads() {
  std::vector<std::vector<float>*> grads;
  for (Parameter& p : params_) grads.push_back(&p.grad);
  tape_->set_adapters(adapters_.get(), grads);
}

void TrainableModel::zero_grads() {
  for (Parameter& p : params_) std::fill(p.grad.begin(), p.grad.end(), 0.0f);
}

void TrainableModel::parameters_changed() {
  if (type_ == FineTuneType::Dora) bind_adapter_grads();
}

int64_t TrainableModel::trainable_count() const {
  int64_t n = 0;
  for (const Parameter& p : params_) n += p.value->numel();
  return n;
}

std::string final_model_path(const TrainerConfig& config) {
  const std::filesystem::path dir(config.adapter_path);
  return (dir / (config.type == FineTuneType::Full ? "model.gguf" : "adapters.safetensors")).string();
}

namespace {

const Dataset& checked_train_set(const DataSplits& data, const TrainerConfig& config) {
  if (config.batch_size < 1) throw Error("--batch-size must be at least 1");
  if (static_cast<int64_t>(data.train.examples.size()) < config.batch_size)
    throw file_error(data.train.path, "has " + std::to_string(data.train.examples.size()) +
                                          " examples, fewer than the batch size " + std::to_string(config.batch_size) +
                                          " (lower --batch-size or add data)");
  if (config.val_batches != 0 && data.valid.examples.empty())
    throw file_error(data.valid.path, "has no examples (validation needs some; or set --val-batches 0)");
  return data.train;
}

// Settings a resumed run must share with the saved one for it to continue identically.
std::string fingerprint(const TrainerConfig& c, const DataSplits& data) {
  nlohmann::json j = {{"fine_tune_type", fine_tune_type_name(c.type)},
                      {"batch_size", c.batch_size},
                      {"grad_accum", c.grad_accum},
                      {"max_seq_length", c.max_seq_length},
                      {"seed", c.seed},
                      {"train_examples", data.train.examples.size()}};
  if (c.type != FineTuneType::Full)
    j.update({{"rank", c.lora.rank}, {"num_layers", c.lora.num_layers}, {"keys", c.lora.targets}});
  return j.dump();
}

void check_fingerprint(const std::string& saved, const std::string& now, const std::string& path) {
  const auto a = nlohmann::json::parse(saved), b = nlohmann::json::parse(now);
  for (const auto& [key, value] : b.items())
    if (!a.contains(key) || a[key] != value)
      throw file_error(path, "was saved with " + key + " = " + (a.contains(key) ? a[key].dump() : "(none)") +
                                 ", this run has " + value.dump() + "; resume with the same settings");
}

// Dropout masks of step s depend only on (seed, s), so a resumed run draws the same ones.
uint64_t step_seed(uint64_t seed, int64_t step) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(step + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void write_full_model(const ModelSource& source, const std::string& path) {
  GgufWriter writer;
  for (const auto& [key, value] : source.metadata.all()) writer.set(key, value);
  writer.set("general.file_type", MetaValue::u32(0));  // LLAMA_FTYPE_ALL_F32
  for (const auto& [name, t] : source.tensors) writer.add_tensor(name, t);
  writer.write(path);
}

}  // namespace

Trainer::Trainer(TrainableModel& model, const DataSplits& data, const TrainerConfig& config, TrainerCallbacks callbacks)
    : model_(model),
      data_(data),
      config_(config),
      callbacks_(std::move(callbacks)),
      optimizer_(make_optimizer(config.optimizer)),
      batches_(checked_train_set(data, config), config.batch_size, config.max_seq_length, config.seed),
      runner_(config.threads) {
  if (config.grad_accum < 1) throw Error("--grad-accumulation-steps must be at least 1");
  if (config.steps_per_report < 1 || config.steps_per_eval < 1 || config.save_every < 1)
    throw Error("--steps-per-report, --steps-per-eval and --save-every must be at least 1");
  const int64_t per_epoch = (batches_.batches_per_epoch() + config.grad_accum - 1) / config.grad_accum;
  total_steps_ = config.epochs > 0 ? config.epochs * per_epoch : config.iters;
  if (total_steps_ < 1) throw Error("nothing to train: --iters (or --epochs) must be at least 1");
}

EvalResult Trainer::validate() {
  model_.tape().set_recording(false);
  const EvalResult r =
      evaluate(model_.model(), runner_, data_.valid, config_.batch_size, config_.max_seq_length, config_.val_batches);
  model_.tape().set_recording(true);
  return r;
}

void Trainer::save(bool final) {
  namespace fs = std::filesystem;
  const fs::path dir(config_.adapter_path);
  fs::create_directories(dir);
  TrainingState state{.step = step_,
                      .data = batches_.position(),
                      .seed = config_.seed,
                      .trained_tokens = trained_tokens_,
                      .fine_tune_type = fine_tune_type_name(config_.type),
                      .fingerprint = fingerprint(config_, data_),
                      .optimizer = optimizer_->state()};
  const std::string state_path = (dir / kTrainingStateFile).string();
  save_training_state(state_path, model_.parameters(), state);
  std::string saved = state_path;
  if (model_.adapters()) {
    const std::string adapters_path = (dir / "adapters.safetensors").string();
    save_adapters(*model_.adapters(), model_.source(), config_.adapter_path);
    saved = adapters_path + " and " + state_path;
  } else if (final) {
    write_full_model(model_.source(), final_model_path(config_));
    saved = final_model_path(config_) + " and " + state_path;
  }
  if (callbacks_.on_save) callbacks_.on_save(step_, saved);
}

TrainResult Trainer::run(const std::atomic<bool>* stop) {
  using clock = std::chrono::steady_clock;
  TapeBackend& tape = model_.tape();
  std::vector<Parameter>& params = model_.parameters();
  TrainResult result;

  if (!config_.resume_file.empty()) {
    const std::string state_path = training_state_beside(config_.resume_file);
    if (state_path.empty()) {
      if (!model_.adapters())
        throw file_error(config_.resume_file, "no " + std::string(kTrainingStateFile) + " beside it to resume from");
      load_adapter_weights(*model_.adapters(), model_.source(), config_.resume_file);
    } else {
      TrainingState state = load_training_state(state_path, params);
      if (state.fine_tune_type != fine_tune_type_name(config_.type))
        throw file_error(state_path, "is a " + state.fine_tune_type + " checkpoint, this run is " +
                                         fine_tune_type_name(config_.type));
      check_fingerprint(state.fingerprint, fingerprint(config_, data_), state_path);
      optimizer_->load_state(state.optimizer);
      batches_.seek(state.data);
      step_ = state.step;
      trained_tokens_ = state.trained_tokens;
    }
    model_.parameters_changed();
  }

  tape.set_recording(true);
  if (config_.val_batches != 0 && step_ == 0) {
    const auto t0 = clock::now();
    const EvalResult val = validate();
    if (callbacks_.on_eval) callbacks_.on_eval(0, val, std::chrono::duration<double>(clock::now() - t0).count());
  }

  double window_loss = 0;
  int64_t window_steps = 0, window_tokens = 0;
  auto window_start = clock::now();
  std::vector<TrainBatch> micro(config_.grad_accum);
  while (step_ < total_steps_) {
    if (stop && stop->load()) {
      save(false);
      result.interrupted = true;
      break;
    }
    int64_t targets = 0;
    for (TrainBatch& b : micro) {
      b = batches_.next();
      targets += b.target_tokens();
    }
    model_.zero_grads();
    tape.set_dropout_seed(step_seed(config_.seed, step_));
    double step_loss = 0;
    for (const TrainBatch& b : micro) {
      const int64_t n = b.target_tokens();
      if (n == 0) continue;
      tape.clear();
      const double loss = runner_.forward_loss(model_.model(), b);
      // The step's loss is the mean over all its target tokens: each batch's mean weighs by its share.
      const float weight = static_cast<float>(n) / static_cast<float>(targets);
      std::vector<float>& dlogits = runner_.dlogits();
      for (float& g : dlogits) g *= weight;
      tape.backward(runner_.logits(), dlogits.data());
      step_loss += loss * weight;
    }
    tape.clear();
    const double grad_norm = clip_grad_norm(params, config_.grad_clip);
    const float lr = learning_rate_at(config_.schedule, step_, total_steps_);
    optimizer_->step(params, lr);
    model_.parameters_changed();
    ++step_;
    trained_tokens_ += targets;
    window_loss += step_loss;
    window_tokens += targets;
    ++window_steps;

    StepReport report{.step = step_,
                      .iters = total_steps_,
                      .train_loss = step_loss,
                      .learning_rate = lr,
                      .trained_tokens = trained_tokens_,
                      .grad_norm = grad_norm};
    const double seconds = std::chrono::duration<double>(clock::now() - window_start).count();
    report.steps_per_second = seconds > 0 ? static_cast<double>(window_steps) / seconds : 0;
    report.tokens_per_second = seconds > 0 ? static_cast<double>(window_tokens) / seconds : 0;
    if (callbacks_.on_step) callbacks_.on_step(report);
    if (step_ % config_.steps_per_report == 0 || step_ == total_steps_) {
      report.train_loss = window_loss / static_cast<double>(window_steps);
      if (callbacks_.on_report) callbacks_.on_report(report);
      window_loss = 0;
      window_steps = window_tokens = 0;
      window_start = clock::now();
    }
    if (config_.val_batches != 0 && (step_ % config_.steps_per_eval == 0 || step_ == total_steps_)) {
      const auto t0 = clock::now();
      const EvalResult val = validate();
      if (callbacks_.on_eval) callbacks_.on_eval(step_, val, std::chrono::duration<double>(clock::now() - t0).count());
      if (step_ == total_steps_) result.final_val = val;
      window_start += clock::now() - t0;  // validation time is not training speed
    }
    if (step_ % config_.save_every == 0 && step_ < total_steps_) save(false);
  }
  result.steps_done = step_;
  if (!result.interrupted) save(true);
  return result;
}

}  // namespace orchard::train
