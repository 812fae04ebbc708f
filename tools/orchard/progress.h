#pragma once
// A one-line progress bar with rate and ETA on stderr, shown only when stderr is a terminal
// (pipes and logs stay clean) and only for work big enough to be worth watching.
#include <chrono>
#include <cstdint>
#include <string>

namespace orchard::cli {

class ProgressBar {
 public:
  // `unit` names what is counted ("tokens"); totals below `min_total` never show a bar.
  ProgressBar(std::string label, std::string unit, int64_t total, int64_t min_total = 1024);
  ~ProgressBar();  // clears the line if anything was drawn
  // `detail` (e.g. loss and learning rate) is shown after the rate and ETA.
  void update(int64_t done, const std::string& detail = {});

 private:
  std::string label_, unit_;
  int64_t total_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace orchard::cli
