#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.h"
#include "train/optimizer.h"

namespace orchard::train {

// Linear warmup from warmup_init to learning_rate over `warmup` steps, then the schedule's
// shape over decay_steps (the rest of the run when 0), holding final_lr after it (as MLX LM's
// build_schedule: join_schedules([linear_schedule, cosine_decay], [warmup + 1]), so the peak
// rate is used at steps warmup and warmup + 1).
float learning_rate_at(const ScheduleConfig& c, int64_t step, int64_t total_steps) {
  if (c.name != "constant" && c.name != "cosine" && c.name != "linear")
    throw Error("unknown learning-rate schedule '" + c.name + "' (choose constant, cosine or linear)");
  if (step < c.warmup)
    return c.warmup_init + (c.learning_rate - c.warmup_init) * static_cast<float>(step) / static_cast<float>(c.warmup);
  if (c.name == "constant") return c.learning_rate;
  const int64_t decay = c.decay_steps > 0 ? c.decay_steps : std::max<int64_t>(total_steps - c.warmup, 1);
  const int64_t since = c.warmup > 0 ? std::max<int64_t>(step - c.warmup - 1, 0) : step;
  const double t = std::min(1.0, static_cast<double>(since) / static_cast<double>(decay));
  const double shape = c.name == "cosine" ? 0.5 * (1.0 + std::cos(std::numbers::pi * t)) : 1.0 - t;
  return static_cast<float>(c.final_lr + (c.learning_rate - c.final_lr) * shape);
}

}  // namespace orchard::train
