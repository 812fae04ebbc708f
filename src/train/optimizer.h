#pragma once
// Optimizers and learning-rate schedules, with PyTorch's update rules (checked against
// torch.optim in tests) so runs compare step for step with a PyTorch reference.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "train/tape_backend.h"

namespace orchard::train {

struct OptimizerConfig {
  std::string name = "adamw";    // "adamw" | "sgd"
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  float weight_decay = 0.0f;     // AdamW's decoupled decay (MLX LM's default 0)
  float momentum = 0.9f;         // SGD (PyTorch semantics, no dampening)
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // One update of every parameter from its grad, at learning rate lr.
  virtual void step(std::vector<Parameter>& params, float lr) = 0;
  // State (moments, step count) as named f32 tensors, for checkpoints; load() checks names and sizes.
  virtual std::map<std::string, std::vector<float>> state() const = 0;
  virtual void load_state(const std::map<std::string, std::vector<float>>& state) = 0;
};
std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config);  // Error lists the choices

// Scales every gradient so their global L2 norm is at most max_norm (PyTorch's
// clip_grad_norm_); returns the norm before clipping. max_norm <= 0 only measures.
double clip_grad_norm(std::vector<Parameter>& params, double max_norm);

struct ScheduleConfig {
  std::string name = "constant";  // "constant" | "cosine" | "linear"
  float learning_rate = 1e-5f;    // MLX LM's default
  int64_t warmup = 0;             // steps of linear warmup from warmup_init
  float warmup_init = 0.0f;
  float final_lr = 0.0f;          // end of cosine / linear decay
  int64_t decay_steps = 0;        // steps of decay after warmup (0: the rest of the run)
};
// Learning rate at optimizer step `step` (0-based) of a run of `total_steps`.
float learning_rate_at(const ScheduleConfig& config, int64_t step, int64_t total_steps);

}  // namespace orchard::train
