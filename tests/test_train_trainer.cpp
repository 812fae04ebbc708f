// The training loop on a tiny random-weight Llama (testmodel "tiny" with the Llama SPM vocab) and
// a made-up question/answer dataset: LoRA, QLoRA on a frozen Q4_0 base and full fine-tuning
// lower the validation loss; a run stopped at a checkpoint and resumed ends with the same
// parameters as an uninterrupted one; the evaluation loss equals a log-softmax computed here
// from the model's own logits; bad settings fail with messages that say what to change.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "generate/loaded_model.h"
#include "io/gguf_file_type.h"
#include "models/kv_cache.h"
#include "models/testmodel.h"
#include "support/paths.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace orchard::train {
namespace {

namespace fs = std::filesystem;

// "Q: what is 3 plus 4? A: 7." in varied numbers; train and valid share the format, not the lines.
void write_qa_jsonl(const fs::path& path, int first, int count) {
  std::ofstream out(path);
  for (int i = first; i < first + count; ++i) {
    const int a = i % 10, b = (i * 7) % 10;
    out << "{\"prompt\": \"Q: what is " << a << " plus " << b << "?\", \"completion\": \" A: " << a + b << ".\"}\n";
  }
}

class TrainerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (test::shared_dir().empty() || !dir_.empty()) return;
    dir_ = test::temp_dir("train_trainer");
    const TestVocab vocab = vocab_from_gguf((test::shared_dir() / "data/tokenizer-tests/ggml-vocab-llama-spm.gguf").string());
    const TestModelSpec spec = test_model_preset("tiny", "llama");
    write_test_gguf(spec, vocab, *gguf_file_type_from_name("f32"), 7, (dir_ / "f32.gguf").string());
    write_test_gguf(spec, vocab, *gguf_file_type_from_name("q4_0"), 7, (dir_ / "q4_0.gguf").string());
    fs::create_directories(dir_ / "data");
    write_qa_jsonl(dir_ / "data/train.jsonl", 0, 48);
    write_qa_jsonl(dir_ / "data/valid.jsonl", 100, 8);
    write_qa_jsonl(dir_ / "data/test.jsonl", 200, 8);
  }
  void SetUp() override { ORCHARD_REQUIRE_SHARED(); }

  struct Loaded {
    LoadedModel model;
    DataSplits data;
  };
  static Loaded load(const std::string& file) {
    Loaded l{load_for_generation((dir_ / file).string(), ModelLoadSettings{.threads = 2}), {}};
    TextFormat format{.tokenizer = l.model.tokenizer.get(),
                      .chat_template = l.model.chat_template ? &*l.model.chat_template : nullptr};
    l.data = load_data_folder((dir_ / "data").string(), format, DatasetOptions{});
    return l;
  }

  static TrainerConfig config(FineTuneType type, const std::string& out) {
    TrainerConfig c;
    c.type = type;
    c.lora.targets = {"all"};
    c.lora.num_layers = -1;
    c.batch_size = 4;
    c.iters = 30;
    c.val_batches = -1;
    c.steps_per_eval = 1000;
    c.steps_per_report = 1000;
    c.save_every = 1000;
    c.threads = 2;
    c.seed = 3;
    c.schedule.learning_rate = type == FineTuneType::Full ? 1e-3f : 1e-2f;
    c.adapter_path = (dir_ / out).string();
    return c;
  }

  // Validation loss before and after training.
  static std::pair<double, double> train(TrainableModel& model, const DataSplits& data, const TrainerConfig& c) {
    double before = NAN;
    TrainerCallbacks callbacks;
    callbacks.on_eval = [&](int64_t step, const EvalResult& r, double) {
      if (step == 0) before = r.loss;
    };
    Trainer trainer(model, data, c, callbacks);
    const TrainResult result = trainer.run();
    EXPECT_EQ(result.steps_done, c.iters);
    EXPECT_TRUE(result.final_val.has_value());
    return {before, result.final_val ? result.final_val->loss : NAN};
  }

  static inline fs::path dir_;
};

TEST_F(TrainerTest, LoraLowersValidationLoss) {
  Loaded l = load("f32.gguf");
  const TrainerConfig c = config(FineTuneType::Lora, "lora");
  TrainableModel model(l.model.source, c);
  const auto [before, after] = train(model, l.data, c);
  EXPECT_LT(after, before - 0.5) << "LoRA: validation loss " << before << " -> " << after;
  EXPECT_TRUE(fs::exists(fs::path(c.adapter_path) / "adapters.safetensors"));
  EXPECT_TRUE(fs::exists(fs::path(c.adapter_path) / kTrainingStateFile));
}

TEST_F(TrainerTest, QloraTrainsOnAFrozenQ4_0Base) {
  Loaded l = load("q4_0.gguf");
  const TrainerConfig c = config(FineTuneType::Lora, "qlora");
  TrainableModel model(l.model.source, c);
  const Tensor& wq = model.source().require("blk.0.attn_q.weight");
  ASSERT_EQ(wq.dtype(), DType::Q4_0);
  const std::vector<uint8_t> base(static_cast<const uint8_t*>(wq.data()), static_cast<const uint8_t*>(wq.data()) + wq.nbytes());
  const auto [before, after] = train(model, l.data, c);
  EXPECT_LT(after, before - 0.5) << "QLoRA: validation loss " << before << " -> " << after;
  EXPECT_EQ(model.source().require("blk.0.attn_q.weight").dtype(), DType::Q4_0);
  EXPECT_EQ(0, std::memcmp(base.data(), wq.data(), base.size())) << "the quantized base must stay frozen";
}

TEST_F(TrainerTest, FullFineTuneLowersValidationLossAndWritesAModel) {
  Loaded l = load("f32.gguf");
  TrainerConfig c = config(FineTuneType::Full, "full");
  c.iters = 15;
  TrainableModel model(l.model.source, c);
  const auto [before, after] = train(model, l.data, c);
  EXPECT_LT(after, before - 0.5) << "full: validation loss " << before << " -> " << after;
  // The written model loads and scores the validation set as the trained one did.
  LoadedModel written = load_for_generation(final_model_path(c), ModelLoadSettings{.threads = 2});
  BatchRunner runner(2);
  const EvalResult r = evaluate(*written.model, runner, l.data.valid, c.batch_size, c.max_seq_length, -1);
  EXPECT_NEAR(r.loss, after, 1e-3);
}

TEST_F(TrainerTest, FromScratchStartsNearUniformAndTrains) {
  Loaded l = load("f32.gguf");
  TrainerConfig c = config(FineTuneType::Full, "scratch");
  c.from_scratch = true;
  c.iters = 15;
  TrainableModel model(l.model.source, c);
  const auto [before, after] = train(model, l.data, c);
  // N(0, 0.02) weights give near-uniform predictions: loss about ln(vocab).
  EXPECT_NEAR(before, std::log(static_cast<double>(model.model().config().n_vocab)), 0.3);
  EXPECT_LT(after, before - 1.0);
}

// Stopping after a save and resuming from it ends where the uninterrupted run ends.
TEST_F(TrainerTest, ResumeContinuesIdentically) {
  Loaded l = load("f32.gguf");
  for (FineTuneType type : {FineTuneType::Lora, FineTuneType::Dora}) {
    TrainerConfig c = config(type, std::string("resume-whole-") + fine_tune_type_name(type));
    c.iters = 8;
    c.lora.dropout = 0.1f;  // dropout masks must repeat too
    c.schedule.name = "cosine";
    c.schedule.warmup = 2;
    TrainableModel whole(l.model.source, c);
    Trainer(whole, l.data, c).run();

    TrainerConfig first = c;
    first.adapter_path = (dir_ / (std::string("resume-part-") + fine_tune_type_name(type))).string();
    TrainableModel part(l.model.source, first);
    std::atomic<bool> stop{false};
    TrainerCallbacks callbacks;
    callbacks.on_step = [&](const StepReport& r) { stop = r.step == 3; };
    const TrainResult stopped = Trainer(part, l.data, first, callbacks).run(&stop);
    ASSERT_TRUE(stopped.interrupted);
    ASSERT_EQ(stopped.steps_done, 3);

    TrainerConfig second = first;
    second.resume_file = (fs::path(first.adapter_path) / "adapters.safetensors").string();
    TrainableModel resumed(l.model.source, second);
    EXPECT_EQ(Trainer(resumed, l.data, second).run().steps_done, 8);

    ASSERT_EQ(whole.parameters().size(), resumed.parameters().size());
    for (size_t i = 0; i < whole.parameters().size(); ++i) {
      const Tensor& a = *whole.parameters()[i].value;
      const Tensor& b = *resumed.parameters()[i].value;
      for (int64_t j = 0; j < a.numel(); ++j)
        ASSERT_NEAR(a.f32()[j], b.f32()[j], 1e-5f + 1e-4f * std::fabs(a.f32()[j]))
            << fine_tune_type_name(type) << " " << whole.parameters()[i].name << "[" << j << "]";
    }
  }
}

// --grad-checkpoint recomputes activations: the same steps give the same parameters. Gradient
// accumulation over 2 batches of 2 trains too.
TEST_F(TrainerTest, GradCheckpointAndAccumulation) {
  Loaded l = load("f32.gguf");
  TrainerConfig plain = config(FineTuneType::Lora, "ckpt-off");
  plain.iters = 3;
  plain.grad_accum = 2;
  plain.batch_size = 2;
  TrainerConfig ckpt = plain;
  ckpt.grad_checkpoint = true;
  ckpt.adapter_path = (dir_ / "ckpt-on").string();
  TrainableModel a(l.model.source, plain), b(l.model.source, ckpt);
  const auto [before, after] = train(a, l.data, plain);
  train(b, l.data, ckpt);
  EXPECT_LT(after, before);
  for (size_t i = 0; i < a.parameters().size(); ++i)
    for (int64_t j = 0; j < a.parameters()[i].value->numel(); ++j)
      ASSERT_NEAR(a.parameters()[i].value->f32()[j], b.parameters()[i].value->f32()[j], 1e-5f)
          << a.parameters()[i].name << "[" << j << "]";
}

// evaluate() against a log-softmax done here in double from the model's logits.
TEST_F(TrainerTest, EvaluationLossIsTheMeanTokenCrossEntropy) {
  Loaded l = load("f32.gguf");
  Model& model = *l.model.model;
  const int64_t vocab = model.config().n_vocab;
  Dataset data;
  data.path = "made-up";
  data.examples.push_back(Example{.tokens = {1, 450, 4086, 310, 3444, 338, 3681}, .prompt_length = 0});
  data.examples.push_back(Example{.tokens = {1, 29871, 13, 29906, 29974}, .prompt_length = 0});
  BatchRunner runner(2);
  const EvalResult r = evaluate(model, runner, data, 2, 64, -1);

  double sum = 0;
  int64_t count = 0;
  for (const Example& e : data.examples) {
    KvCache cache(model.config(), 64, 1, DType::F32);
    Batch batch;
    for (size_t t = 0; t + 1 < e.tokens.size(); ++t) batch.add(e.tokens[t], static_cast<int32_t>(t), 0, true);
    std::vector<float> logits;
    model.forward(batch, cache, logits);
    for (size_t t = 0; t + 1 < e.tokens.size(); ++t) {
      const float* row = logits.data() + t * vocab;
      double max = row[0], z = 0;
      for (int64_t v = 0; v < vocab; ++v) max = std::max<double>(max, row[v]);
      for (int64_t v = 0; v < vocab; ++v) z += std::exp(row[v] - max);
      sum += max + std::log(z) - row[e.tokens[t + 1]];
      ++count;
    }
  }
  EXPECT_EQ(r.tokens, count);
  EXPECT_NEAR(r.loss, sum / static_cast<double>(count), 1e-4);
  EXPECT_NEAR(r.perplexity(), std::exp(sum / static_cast<double>(count)), 1e-3 * r.perplexity());
}

TEST_F(TrainerTest, BadSettingsSayWhatToChange) {
  Loaded l = load("f32.gguf");
  TrainerConfig c = config(FineTuneType::Lora, "bad");
  c.from_scratch = true;
  try {
    TrainableModel model(l.model.source, c);
    FAIL() << "--from-scratch with LoRA was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--fine-tune-type full"), std::string::npos) << e.what();
  }
  c.from_scratch = false;
  c.batch_size = 100;
  TrainableModel model(l.model.source, c);
  try {
    Trainer trainer(model, l.data, c);
    FAIL() << "a batch larger than the training set was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("train.jsonl"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--batch-size"), std::string::npos) << e.what();
  }
  EXPECT_THROW(fine_tune_type_from_name("qlora"), Error);
  // A resume with another batch size would not continue the same run.
  TrainerConfig a = config(FineTuneType::Lora, "fingerprint");
  a.iters = 1;
  TrainableModel m1(l.model.source, a);
  Trainer(m1, l.data, a).run();
  TrainerConfig b = a;
  b.batch_size = 2;
  b.resume_file = a.adapter_path;
  TrainableModel m2(l.model.source, b);
  try {
    Trainer(m2, l.data, b).run();
    FAIL() << "a resume with another batch size was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("batch_size"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace orchard::train
