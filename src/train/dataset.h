#pragma once
// Fine-tuning data in MLX LM's layout and formats: a folder with train.jsonl, valid.jsonl and
// optionally test.jsonl, one JSON object per line, each line one of
//   {"text": "..."}
//   {"prompt": "...", "completion": "..."}
//   {"messages": [{"role": ..., "content": ...}, ...]}            rendered by the chat template
//   {"messages": [...], "tools": [...]}                           tools passed to the template
// (as mlx_lm.tuner.datasets: the prompt/completion format goes through the chat template too
// when the model has one, as a user turn and an assistant turn). With mask_prompt only the
// completion (the last assistant turn, or "completion") is trained on.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "chat/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace orchard::train {

struct Example {
  std::vector<int32_t> tokens;  // the whole sequence, BOS/EOS as the format adds them
  int64_t prompt_length = 0;    // leading tokens not trained on when masking the prompt
};

struct DatasetOptions {
  bool mask_prompt = false;
  int64_t max_seq_length = 2048;  // longer examples are truncated (and counted, see Dataset)
};

// How a model turns records into tokens: its tokenizer, chat template and special tokens.
struct TextFormat {
  const Tokenizer* tokenizer = nullptr;
  const ChatTemplate* chat_template = nullptr;  // null: messages are refused with a clear error
  std::string bos_token, eos_token;             // passed to the template
};

struct Dataset {
  std::string path;
  std::vector<Example> examples;
  int64_t truncated = 0;  // examples cut to max_seq_length
  int64_t tokens() const;
};

// One file. Errors name the file and the 1-based line number ("valid.jsonl:17: ...") for
// malformed JSON, an unknown format, a missing or non-string field, or an empty file.
Dataset load_jsonl(const std::string& path, const TextFormat& format, const DatasetOptions& options);

struct DataSplits {
  Dataset train, valid;
  std::optional<Dataset> test;
};
// DIR/train.jsonl and DIR/valid.jsonl (both required; the error says which is missing and how
// the folder should look), DIR/test.jsonl when present.
DataSplits load_data_folder(const std::string& dir, const TextFormat& format, const DatasetOptions& options);

// A training batch: B sequences of T tokens each (padded), inputs and next-token targets, with
// kIgnoreIndex (-100) for padding and masked prompt positions.
struct TrainBatch {
  int64_t batch_size = 0, seq_len = 0;
  std::vector<int32_t> inputs;   // B*T
  std::vector<int32_t> targets;  // B*T
  int64_t target_tokens() const;  // targets that are not ignored
};

// Batches by length as MLX LM does (examples sorted by length, cut into batches, batch order
// shuffled per epoch with the seed), or packed (examples concatenated into rows of
// max_seq_length). The position is saved in checkpoints so a resumed run sees the same
// batches.
class BatchIterator {
 public:
  struct Position {
    int64_t epoch = 0;
    int64_t index = 0;  // batches already taken in this epoch
  };
  BatchIterator(const Dataset& data, int64_t batch_size, int64_t max_seq_length, uint64_t seed, bool pack = false);
  TrainBatch next();  // wraps to the next epoch at the end
  int64_t batches_per_epoch() const;
  Position position() const;
  void seek(const Position& position);

 private:
  const Dataset* data_;
  int64_t batch_size_, max_seq_length_;
  uint64_t seed_;
  bool pack_;
  std::vector<std::vector<int64_t>> batches_;  // example indices per batch, sorted by length
  std::vector<int64_t> order_;                 // this epoch's batch order
  Position position_;
  void shuffle_epoch();
};

}  // namespace orchard::train
