#include "progress.h"

#include <cstdio>
#include <unistd.h>

namespace orchard::cli {

ProgressBar::ProgressBar(std::string label, std::string unit, int64_t total, int64_t min_total)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      enabled_(total >= min_total && isatty(STDERR_FILENO)),
      start_(std::chrono::steady_clock::now()) {}

ProgressBar::~ProgressBar() {
  if (drawn_) std::fprintf(stderr, "\r\033[K");
}

void ProgressBar::update(int64_t done, const std::string& detail) {
  if (!enabled_ || total_ <= 0) return;
  constexpr int kWidth = 30;
  const double fraction = static_cast<double>(done) / static_cast<double>(total_);
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0;
  const int filled = static_cast<int>(fraction * kWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kWidth, '.');
  std::fprintf(stderr, "\r\033[K%s [%s] %lld/%lld %s, %.1f %s/s, ETA %.0fs%s%s", label_.c_str(), bar.c_str(),
               static_cast<long long>(done), static_cast<long long>(total_), unit_.c_str(), rate, unit_.c_str(), eta,
               detail.empty() ? "" : ", ", detail.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

}  // namespace orchard::cli
