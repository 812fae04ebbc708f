// AdamW and SGD with torch.optim's update rules (torch/optim/adamw.py and sgd.py, single-tensor
// path) and torch.nn.utils.clip_grad_norm_. Scalars are computed in double as PyTorch does in
// Python, element updates in float; the loops are plain so the compiler vectorizes them.
#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.h"
#include "train/optimizer.h"

namespace orchard::train {

namespace {

using State = std::map<std::string, std::vector<float>>;

float* values(const Parameter& p, size_t& n) {
  if (!p.value) throw Error("optimizer: parameter " + p.name + " has no tensor");
  n = size_t(p.value->numel());
  if (p.grad.size() != n)
    throw Error("optimizer: parameter " + p.name + " has " + std::to_string(n) + " values but " +
                std::to_string(p.grad.size()) + " gradients");
  return p.value->f32();
}

// Per-parameter buffers keyed "<parameter>.<suffix>", created at a parameter's first update.
// After load_state() the first step checks that the parameters are exactly those the state
// was saved for and that every buffer has the parameter's size.
class Buffers {
 public:
  explicit Buffers(std::vector<std::string> suffixes) : suffixes_(std::move(suffixes)) {}

  // The buffers of `p` (one per suffix), zero-filled when new; `fresh` says they were.
  std::vector<float*> of(const Parameter& p, size_t n, bool& fresh) {
    std::vector<float*> out;
    fresh = !state_.contains(p.name + "." + suffixes_[0]);
    for (const std::string& s : suffixes_) {
      std::vector<float>& buf = state_[p.name + "." + s];
      if (fresh) buf.assign(n, 0.0f);
      if (buf.size() != n)
        throw Error("optimizer state " + p.name + "." + s + " has " + std::to_string(buf.size()) +
                    " values but the parameter has " + std::to_string(n) +
                    " (the checkpoint is of a different model or adapter shape)");
      out.push_back(buf.data());
    }
    return out;
  }

  void check_loaded_names(const std::vector<Parameter>& params) {
    if (!loaded_) return;
    loaded_ = false;
    std::set<std::string> names;
    for (const Parameter& p : params) names.insert(p.name);
    for (const auto& [key, _] : state_)
      if (!names.contains(parameter_of(key)))
        throw Error("optimizer state names parameter " + parameter_of(key) +
                    ", which is not being trained (the checkpoint is of a different model or adapter)");
    for (const std::string& name : names)
      if (!state_.contains(name + "." + suffixes_[0]))
        throw Error("optimizer state has nothing for parameter " + name +
                    " (the checkpoint is of a different model or adapter)");
  }

  void save(State& out) const { out.insert(state_.begin(), state_.end()); }

  // Takes the per-parameter entries of `in`; other keys must be in `scalars`.
  void load(const State& in, const std::set<std::string>& scalars) {
    State state;
    for (const auto& [key, value] : in) {
      if (scalars.contains(key)) continue;
      const size_t dot = key.rfind('.');
      const std::string suffix = dot == std::string::npos ? "" : key.substr(dot + 1);
      if (std::find(suffixes_.begin(), suffixes_.end(), suffix) == suffixes_.end())
        throw Error("optimizer state entry '" + key + "' is not of this optimizer (a checkpoint of another optimizer?)");
      state[key] = value;
    }
    for (const auto& [key, value] : state)
      for (const std::string& s : suffixes_) {
        const std::string sibling = parameter_of(key) + "." + s;
        if (!state.contains(sibling)) throw Error("optimizer state has no '" + sibling + "'");
        if (state.at(sibling).size() != value.size())
          throw Error("optimizer state '" + sibling + "' and '" + key + "' differ in size");
      }
    state_ = std::move(state);
    loaded_ = true;
  }

 private:
  static std::string parameter_of(const std::string& key) { return key.substr(0, key.rfind('.')); }
  std::vector<std::string> suffixes_;
  State state_;
  bool loaded_ = false;
};

float scalar_entry(const State& state, const std::string& key) {
  const auto it = state.find(key);
  if (it == state.end()) throw Error("optimizer state has no '" + key + "' (a checkpoint of another optimizer?)");
  if (it->second.size() != 1) throw Error("optimizer state '" + key + "' must hold one value");
  return it->second[0];
}

class AdamW final : public Optimizer {
 public:
  explicit AdamW(const OptimizerConfig& c) : c_(c), buffers_({"exp_avg", "exp_avg_sq"}) {}

  void step(std::vector<Parameter>& params, float lr) override {
    buffers_.check_loaded_names(params);
    ++step_;
    const double beta1 = c_.beta1, beta2 = c_.beta2;
    const double bias1 = 1.0 - std::pow(beta1, double(step_)), bias2 = 1.0 - std::pow(beta2, double(step_));
    const float decay = float(1.0 - double(lr) * c_.weight_decay);
    const float step_size = float(double(lr) / bias1), bias2_sqrt = float(std::sqrt(bias2));
    const float b2 = c_.beta2, one_minus_b1 = float(1.0 - beta1), one_minus_b2 = float(1.0 - beta2);
    const float eps = c_.eps;
    for (Parameter& p : params) {
      size_t n = 0;
      float* __restrict w = values(p, n);
      const float* __restrict g = p.grad.data();
      bool fresh = false;
      const std::vector<float*> buf = buffers_.of(p, n, fresh);
      float* __restrict m = buf[0];
      float* __restrict v = buf[1];
      for (size_t i = 0; i < n; ++i) {
        w[i] *= decay;
        m[i] += one_minus_b1 * (g[i] - m[i]);  // exp_avg.lerp_(grad, 1 - beta1)
        v[i] = v[i] * b2 + one_minus_b2 * (g[i] * g[i]);
        w[i] -= step_size * (m[i] / (std::sqrt(v[i]) / bias2_sqrt + eps));
      }
    }
  }

  State state() const override {
    State out{{"step", {float(step_)}}};
    buffers_.save(out);
    return out;
  }

  void load_state(const State& state) override {
    const float step = scalar_entry(state, "step");
    if (!(step >= 0) || step != std::floor(step)) throw Error("optimizer state 'step' is not a step count");
    buffers_.load(state, {"step"});
    step_ = int64_t(step);
  }

 private:
  OptimizerConfig c_;
  Buffers buffers_;
  int64_t step_ = 0;
};

class Sgd final : public Optimizer {
 public:
  explicit Sgd(const OptimizerConfig& c) : c_(c), buffers_({"momentum_buffer"}) {}

  void step(std::vector<Parameter>& params, float lr) override {
    buffers_.check_loaded_names(params);
    const float mu = c_.momentum, wd = c_.weight_decay;
    for (Parameter& p : params) {
      size_t n = 0;
      float* __restrict w = values(p, n);
      const float* __restrict g = p.grad.data();
      if (mu == 0.0f) {
        for (size_t i = 0; i < n; ++i) w[i] -= lr * (g[i] + wd * w[i]);
        continue;
      }
      bool fresh = false;
      float* __restrict b = buffers_.of(p, n, fresh)[0];
      // PyTorch: the first step's buffer is the gradient itself (not mu*0 + g, which is equal
      // anyway without dampening).
      for (size_t i = 0; i < n; ++i) {
        const float d = g[i] + wd * w[i];  // SGD's weight decay is L2, added to the gradient
        b[i] = fresh ? d : mu * b[i] + d;
        w[i] -= lr * b[i];
      }
    }
  }

  State state() const override {
    State out;
    buffers_.save(out);
    return out;
  }

  void load_state(const State& state) override { buffers_.load(state, {}); }

 private:
  OptimizerConfig c_;
  Buffers buffers_;
};

}  // namespace

std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config) {
  if (!(config.weight_decay >= 0)) throw Error("weight decay must be >= 0");
  if (config.name == "adamw") {
    if (!(config.beta1 >= 0 && config.beta1 < 1 && config.beta2 >= 0 && config.beta2 < 1))
      throw Error("AdamW betas must be in [0, 1)");
    if (!(config.eps >= 0)) throw Error("AdamW eps must be >= 0");
    return std::make_unique<AdamW>(config);
  }
  if (config.name == "sgd") {
    if (!(config.momentum >= 0)) throw Error("SGD momentum must be >= 0");
    return std::make_unique<Sgd>(config);
  }
  throw Error("unknown optimizer '" + config.name + "' (choose adamw or sgd)");
}

double clip_grad_norm(std::vector<Parameter>& params, double max_norm) {
  double sum = 0;
  for (const Parameter& p : params)
    for (float g : p.grad) sum += double(g) * double(g);
  const double norm = std::sqrt(sum);
  if (max_norm > 0) {
    const double scale = max_norm / (norm + 1e-6);
    if (scale < 1.0)
      for (Parameter& p : params)
        for (float& g : p.grad) g = float(double(g) * scale);
  }
  return norm;
}

}  // namespace orchard::train
