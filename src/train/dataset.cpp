#include "train/dataset.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "train/dataset_record.h"

namespace orchard::train {

namespace fs = std::filesystem;

int64_t Dataset::tokens() const {
  int64_t n = 0;
  for (const Example& e : examples) n += int64_t(e.tokens.size());
  return n;
}

Dataset load_jsonl(const std::string& path, const TextFormat& format, const DatasetOptions& options) {
  if (!format.tokenizer) throw Error("load_jsonl: no tokenizer");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw file_error(path, std::string("cannot open: ") + std::strerror(errno));
  Dataset data;
  data.path = path;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;  // blank lines (a trailing one is common)
    const std::string where = path + ":" + std::to_string(number);
    Example example = make_example(parse_record(line, where), format, options, where);
    if (options.max_seq_length > 0 && int64_t(example.tokens.size()) > options.max_seq_length) {
      example.tokens.resize(size_t(options.max_seq_length));
      example.prompt_length = std::min(example.prompt_length, options.max_seq_length);
      ++data.truncated;
    }
    data.examples.push_back(std::move(example));
  }
  if (in.bad()) throw file_error(path, "read error");
  if (data.examples.empty()) throw file_error(path, "empty file: it must hold one JSON object per line");
  return data;
}

DataSplits load_data_folder(const std::string& dir, const TextFormat& format, const DatasetOptions& options) {
  const char* const layout =
      "a data folder holds train.jsonl and valid.jsonl (and optionally test.jsonl), one JSON object per line: "
      "{\"text\": ...}, {\"prompt\": ..., \"completion\": ...} or {\"messages\": [...]}";
  if (!fs::is_directory(dir)) throw Error(dir + ": not a folder; " + layout);
  for (const char* name : {"train.jsonl", "valid.jsonl"})
    if (!fs::exists(fs::path(dir) / name)) throw Error(dir + ": no " + name + "; " + layout);
  DataSplits splits;
  splits.train = load_jsonl((fs::path(dir) / "train.jsonl").string(), format, options);
  splits.valid = load_jsonl((fs::path(dir) / "valid.jsonl").string(), format, options);
  if (const fs::path test = fs::path(dir) / "test.jsonl"; fs::exists(test))
    splits.test = load_jsonl(test.string(), format, options);
  return splits;
}

}  // namespace orchard::train
