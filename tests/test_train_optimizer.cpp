// AdamW, SGD and clip_grad_norm step for step against torch.optim (tools/reference/optim_ref.py)
// under orchard's learning-rate schedules; the schedules against their closed forms and MLX
// LM's build_schedule; optimizer state saved and loaded resumes identically.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <numbers>
#include <random>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "support/grad_reference.h"
#include "support/paths.h"
#include "train/optimizer.h"

namespace orchard::train {
namespace {

using nlohmann::json;
using test::Floats;

// Parameters owning their tensors, as the trainer's would.
struct Params {
  std::vector<Tensor> tensors;
  std::vector<Parameter> list;

  explicit Params(const std::vector<Floats>& values) {
    for (size_t i = 0; i < values.size(); ++i) {
      tensors.push_back(Tensor::zeros(DType::F32, {int64_t(values[i].size())}));
      std::copy(values[i].begin(), values[i].end(), tensors.back().f32());
    }
    for (size_t i = 0; i < values.size(); ++i)
      list.push_back({"blk." + std::to_string(i) + ".w", &tensors[i], Floats(values[i].size())});
  }
  Floats value(size_t i) const { return Floats(tensors[i].f32(), tensors[i].f32() + tensors[i].numel()); }
  void set_grads(const std::vector<Floats>& grads) {
    for (size_t i = 0; i < grads.size(); ++i) list[i].grad = grads[i];
  }
};

Floats random_floats(std::mt19937& rng, size_t n, float scale) {
  std::normal_distribution<float> d(0.0f, scale);
  Floats v(n);
  for (float& x : v) x = d(rng);
  return v;
}

struct Case {
  OptimizerConfig optimizer;
  ScheduleConfig schedule;
  double max_norm = 0;
  int64_t steps = 12;
};

struct Trace {
  std::vector<Floats> initial;
  std::vector<std::vector<Floats>> grads;  // per step, per parameter
};

Trace make_trace(uint32_t seed, int64_t steps) {
  std::mt19937 rng(seed);
  Trace t;
  for (size_t n : {7u, 33u, 130u}) t.initial.push_back(random_floats(rng, n, 1.0f));
  for (int64_t s = 0; s < steps; ++s) {
    std::vector<Floats> g;
    // Gradients of varying size so clipping applies at some steps and not others.
    const float scale = (s % 3 == 0) ? 0.5f : 0.01f;
    for (const Floats& p : t.initial) g.push_back(random_floats(rng, p.size(), scale));
    t.grads.push_back(std::move(g));
  }
  return t;
}

struct Outcome {
  Params params;
  std::vector<float> lrs;
  std::vector<double> norms;
};

Outcome run_orchard(const Case& run, const Trace& trace) {
  Outcome out{Params(trace.initial), {}, {}};
  auto opt = make_optimizer(run.optimizer);
  for (int64_t s = 0; s < run.steps; ++s) {
    out.params.set_grads(trace.grads[size_t(s)]);
    if (run.max_norm > 0) out.norms.push_back(clip_grad_norm(out.params.list, run.max_norm));
    out.lrs.push_back(learning_rate_at(run.schedule, s, run.steps));
    opt->step(out.params.list, out.lrs.back());
  }
  return out;
}

json schedule_json(const ScheduleConfig& s, int64_t total) {
  return {{"name", s.name}, {"learning_rate", s.learning_rate}, {"warmup", s.warmup}, {"warmup_init", s.warmup_init},
          {"final_lr", s.final_lr}, {"decay_steps", s.decay_steps}, {"total_steps", total}};
}

// Runs the reference over `spec`; null json (and a skip message in `skip`) without torch.
json run_reference(const json& spec, const std::string& name, std::string& skip) {
  const std::string python = test::reference_python("torch");
  if (python.empty()) {
    skip = "PyTorch not found (the reference is torch.optim); install python3-torch";
    return nullptr;
  }
  const auto dir = test::temp_dir(name);
  {
    std::ofstream(dir / "spec.json") << spec.dump();
  }
  const std::string cmd = python + " " + (test::source_dir() / "tools/reference/optim_ref.py").string() + " " +
                          (dir / "spec.json").string() + " " + (dir / "out.json").string();
  if (test::run_command(cmd).status != 0) {
    ADD_FAILURE() << "optim_ref.py failed: " << cmd;
    return nullptr;
  }
  return json::parse(test::read_file(dir / "out.json"));
}

ScheduleConfig schedule(const std::string& name, int64_t warmup, int64_t decay_steps = 0) {
  ScheduleConfig s;
  s.name = name;
  s.learning_rate = 2e-2f;
  s.warmup = warmup;
  s.warmup_init = warmup ? 1e-3f : 0.0f;
  s.final_lr = name == "constant" ? 0.0f : 1e-3f;
  s.decay_steps = decay_steps;
  return s;
}

OptimizerConfig optimizer(const std::string& name, float weight_decay, float momentum = 0.9f) {
  OptimizerConfig o;
  o.name = name;
  o.weight_decay = weight_decay;
  o.momentum = momentum;
  return o;
}

TEST(TrainOptimizer, MatchesTorchOptimUnderSchedules) {
  const std::vector<Case> runs = {
      {optimizer("adamw", 0.0f), schedule("constant", 0), 0.0},
      {optimizer("adamw", 0.1f), schedule("cosine", 3), 0.5},
      {optimizer("adamw", 0.01f), schedule("linear", 2, 6), 1.0},
      {optimizer("sgd", 0.0f), schedule("cosine", 0), 0.0},
      {optimizer("sgd", 0.05f), schedule("linear", 4), 0.5},
      {optimizer("sgd", 0.0f, 0.0f), schedule("constant", 2), 0.0},
  };
  const Trace trace = make_trace(7, 12);
  json spec = {{"cases", json::array()}};
  std::vector<Outcome> ours;
  for (const Case& r : runs) {
    ours.push_back(run_orchard(r, trace));
    spec["cases"].push_back({{"optimizer",
                              {{"name", r.optimizer.name}, {"beta1", r.optimizer.beta1}, {"beta2", r.optimizer.beta2},
                               {"eps", r.optimizer.eps}, {"weight_decay", r.optimizer.weight_decay},
                               {"momentum", r.optimizer.momentum}}},
                             {"max_norm", r.max_norm},
                             {"lrs", ours.back().lrs},
                             {"params", trace.initial},
                             {"grads", json(trace.grads)}});
  }
  std::string skip;
  const json ref = run_reference(spec, "optim_ref", skip);
  if (!skip.empty()) GTEST_SKIP() << skip;
  ASSERT_FALSE(ref.is_null());
  for (size_t c = 0; c < runs.size(); ++c) {
    SCOPED_TRACE(runs[c].optimizer.name + " with " + runs[c].schedule.name + " schedule, case " + std::to_string(c));
    const json& want = ref["cases"][c];
    for (size_t p = 0; p < trace.initial.size(); ++p)
      EXPECT_LE(test::relative_error(ours[c].params.value(p), want["params"][p].get<Floats>()), 1e-6) << "param " << p;
    const auto norms = want["norms"].get<std::vector<double>>();
    ASSERT_EQ(norms.size(), ours[c].norms.size());
    for (size_t s = 0; s < norms.size(); ++s) EXPECT_NEAR(ours[c].norms[s], norms[s], 1e-6 * norms[s]) << "step " << s;
  }
}

TEST(TrainOptimizer, ClippingReallyHappenedInTheReferenceRuns) {
  // The norms of make_trace's big steps exceed the max_norm used above, the small ones do not.
  const Trace trace = make_trace(7, 12);
  Params p(trace.initial);
  p.set_grads(trace.grads[0]);
  const double big = clip_grad_norm(p.list, 0);
  p.set_grads(trace.grads[1]);
  const double small = clip_grad_norm(p.list, 0);
  EXPECT_GT(big, 1.0);
  EXPECT_LT(small, 0.5);
}

TEST(TrainOptimizer, ClipGradNormScalesToMaxNorm) {
  Params p({{3, 0}, {0, 4}});
  p.set_grads({{3, 0}, {0, 4}});
  EXPECT_DOUBLE_EQ(clip_grad_norm(p.list, 0), 5.0);  // measures only
  EXPECT_EQ(p.list[0].grad[0], 3.0f);
  EXPECT_DOUBLE_EQ(clip_grad_norm(p.list, 10.0), 5.0);  // below the limit: unchanged
  EXPECT_EQ(p.list[1].grad[1], 4.0f);
  EXPECT_DOUBLE_EQ(clip_grad_norm(p.list, 1.0), 5.0);
  const double scale = 1.0 / (5.0 + 1e-6);  // PyTorch's clip_coef
  EXPECT_FLOAT_EQ(p.list[0].grad[0], float(3 * scale));
  EXPECT_FLOAT_EQ(p.list[1].grad[1], float(4 * scale));
}

TEST(TrainOptimizer, StateRoundTripResumesIdentically) {
  const Trace trace = make_trace(11, 10);
  for (const char* name : {"adamw", "sgd"}) {
    SCOPED_TRACE(name);
    const OptimizerConfig config = optimizer(name, 0.01f);
    Params straight(trace.initial), resumed(trace.initial);
    auto a = make_optimizer(config);
    for (int s = 0; s < 10; ++s) {
      straight.set_grads(trace.grads[size_t(s)]);
      a->step(straight.list, 1e-2f);
    }
    auto b = make_optimizer(config);
    for (int s = 0; s < 5; ++s) {
      resumed.set_grads(trace.grads[size_t(s)]);
      b->step(resumed.list, 1e-2f);
    }
    const auto saved = b->state();
    b.reset();
    auto c = make_optimizer(config);
    c->load_state(saved);
    EXPECT_EQ(c->state(), saved);
    for (int s = 5; s < 10; ++s) {
      resumed.set_grads(trace.grads[size_t(s)]);
      c->step(resumed.list, 1e-2f);
    }
    for (size_t p = 0; p < trace.initial.size(); ++p) EXPECT_EQ(straight.value(p), resumed.value(p));
  }
}

TEST(TrainOptimizer, StateNamesAndSizesAreChecked) {
  const Trace trace = make_trace(3, 1);
  Params params(trace.initial);
  params.set_grads(trace.grads[0]);
  auto adam = make_optimizer(optimizer("adamw", 0));
  adam->step(params.list, 1e-3f);
  const auto state = adam->state();
  ASSERT_TRUE(state.contains("step"));
  ASSERT_TRUE(state.contains("blk.2.w.exp_avg_sq"));

  const auto expect_error = [&](const std::function<void()>& f, const std::string& needle) {
    try {
      f();
      ADD_FAILURE() << "no error, expected one mentioning " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  auto wrong_size = state;
  wrong_size["blk.1.w.exp_avg"].resize(5);
  expect_error([&] { make_optimizer(optimizer("adamw", 0))->load_state(wrong_size); }, "differ in size");
  auto both_wrong = state;
  both_wrong["blk.1.w.exp_avg"].resize(5);
  both_wrong["blk.1.w.exp_avg_sq"].resize(5);
  expect_error([&] {
    auto o = make_optimizer(optimizer("adamw", 0));
    o->load_state(both_wrong);
    o->step(params.list, 1e-3f);
  }, "blk.1.w.exp_avg has 5 values but the parameter has 33");
  auto missing = state;
  missing.erase("blk.0.w.exp_avg");
  missing.erase("blk.0.w.exp_avg_sq");
  expect_error([&] {
    auto o = make_optimizer(optimizer("adamw", 0));
    o->load_state(missing);
    o->step(params.list, 1e-3f);
  }, "nothing for parameter blk.0.w");
  auto extra = state;
  extra["blk.9.w.exp_avg"] = {1};
  extra["blk.9.w.exp_avg_sq"] = {1};
  expect_error([&] {
    auto o = make_optimizer(optimizer("adamw", 0));
    o->load_state(extra);
    o->step(params.list, 1e-3f);
  }, "blk.9.w, which is not being trained");
  expect_error([&] { make_optimizer(optimizer("sgd", 0))->load_state(state); }, "not of this optimizer");
  auto no_step = state;
  no_step.erase("step");
  expect_error([&] { make_optimizer(optimizer("adamw", 0))->load_state(no_step); }, "no 'step'");
  expect_error([&] { make_optimizer(optimizer("lion", 0)); }, "choose adamw or sgd");
}

TEST(TrainSchedule, ClosedForms) {
  ScheduleConfig c = schedule("cosine", 0);
  const float lr = c.learning_rate, end = c.final_lr;
  for (int64_t s : {0, 1, 5, 9}) {
    const double t = double(s) / 10;
    EXPECT_FLOAT_EQ(learning_rate_at(c, s, 10), float(end + (lr - end) * 0.5 * (1 + std::cos(std::numbers::pi * t))));
  }
  c.name = "linear";
  EXPECT_FLOAT_EQ(learning_rate_at(c, 0, 10), lr);
  EXPECT_FLOAT_EQ(learning_rate_at(c, 5, 10), float(end + (lr - end) * 0.5));
  c.decay_steps = 4;
  EXPECT_FLOAT_EQ(learning_rate_at(c, 4, 10), end);  // held after decay_steps
  EXPECT_FLOAT_EQ(learning_rate_at(c, 9, 10), end);
  c = schedule("constant", 4);
  EXPECT_FLOAT_EQ(learning_rate_at(c, 0, 10), c.warmup_init);
  EXPECT_FLOAT_EQ(learning_rate_at(c, 2, 10), c.warmup_init + (lr - c.warmup_init) * 0.5f);
  EXPECT_FLOAT_EQ(learning_rate_at(c, 4, 10), lr);
  EXPECT_FLOAT_EQ(learning_rate_at(c, 9, 10), lr);
  c.name = "step";
  EXPECT_THROW(learning_rate_at(c, 0, 10), Error);
}

TEST(TrainSchedule, MatchesMlxLmBuildSchedule) {
  const int64_t total = 20;
  const std::vector<ScheduleConfig> configs = {schedule("cosine", 0, 10), schedule("cosine", 3, 10),
                                               schedule("linear", 0, 8), schedule("linear", 5, 10),
                                               schedule("cosine", 4), schedule("constant", 6)};
  json spec = {{"schedules", json::array()}};
  for (const ScheduleConfig& c : configs) spec["schedules"].push_back(schedule_json(c, total));
  std::string skip;
  const json ref = run_reference(spec, "optim_ref_schedule", skip);
  if (!skip.empty()) GTEST_SKIP() << skip;
  ASSERT_FALSE(ref.is_null());
  for (size_t i = 0; i < configs.size(); ++i)
    for (int64_t s = 0; s < total; ++s)
      EXPECT_NEAR(learning_rate_at(configs[i], s, total), ref["schedules"][i][s].get<double>(), 1e-6 * configs[i].learning_rate)
          << configs[i].name << " warmup " << configs[i].warmup << " step " << s;
}

}  // namespace
}  // namespace orchard::train
