#pragma once
// Training checkpoints: everything a resumed run needs to continue exactly where the saved one
// stood, in ONE file written atomically (io/atomic_file.h via write_safetensors), so a kill at
// any moment leaves either the previous checkpoint or the new one, never a mix:
//
//   <adapter_path>/training_state.safetensors
//     "param.<name>"  every trainable parameter (adapter A/B/m, or every weight when full)
//     "optim.<name>"  the optimizer's state tensors (moments, step count)
//     __metadata__    step, data position (epoch, batch index), seed, trained tokens, the
//                     fine-tune type and a fingerprint of the settings that must not change
//
// The user-facing adapter files (adapters.safetensors + adapter_config.json) are written beside
// it after each save; `--resume-adapter-file` may name either, and resumes from the training
// state in the same folder (only the adapter weights, from step 0, when there is none — as
// mlx_lm does).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "train/dataset.h"
#include "train/tape_backend.h"

namespace orchard::train {

inline constexpr const char* kTrainingStateFile = "training_state.safetensors";

struct TrainingState {
  int64_t step = 0;
  BatchIterator::Position data;
  uint64_t seed = 0;
  int64_t trained_tokens = 0;
  std::string fine_tune_type;
  std::string fingerprint;  // settings a resume must share (see Trainer): checked on load
  std::map<std::string, std::vector<float>> optimizer;
};

void save_training_state(const std::string& path, const std::vector<Parameter>& params, const TrainingState& state);

// The training state for `resume_file` (the state file itself, or a file in the folder that
// holds one), or "" when there is none.
std::string training_state_beside(const std::string& resume_file);

// Reads the state and copies the parameters' values in place. Errors name the file and the
// parameter that is missing or has another size, or the setting that differs.
TrainingState load_training_state(const std::string& path, std::vector<Parameter>& params);

}  // namespace orchard::train
