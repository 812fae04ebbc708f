#include "human_units.h"

#include <cstdio>

namespace orchard::cli {

namespace {

// Divides by `base` until the value is below it; the first unit prints without decimals.
std::string scaled(double v, double base, const char* const (&units)[5]) {
  int unit = 0;
  while (v >= base && unit < 4) v /= base, ++unit;
  char buf[32];
  std::snprintf(buf, sizeof buf, unit == 0 ? "%.0f%s" : "%.2f%s", v, units[unit]);
  return buf;
}

}  // namespace

std::string human_bytes(uint64_t bytes) {
  static const char* const units[5] = {" B", " KiB", " MiB", " GiB", " TiB"};
  return scaled(static_cast<double>(bytes), 1024, units);
}

std::string human_count(int64_t n) {
  static const char* const units[5] = {"", " K", " M", " B", " T"};
  return scaled(static_cast<double>(n), 1000, units);
}

}  // namespace orchard::cli
