#pragma once
// The machine's memory read bandwidth as decode sees it: T threads streaming through a buffer
// much larger than the last-level cache, best of several passes. Token generation reads every
// weight once per token, so bandwidth / bytes-per-token is its roofline (orchard bench).
#include <cstddef>

namespace orchard {

struct ReadBandwidthOptions {
  size_t buffer_bytes = size_t{1} << 30;  // 1 GiB: several times any LLC (this Xeon has 260 MiB)
  int passes = 5;
};

// Bytes per second read by `threads` threads (0 = default_thread_count()), best pass.
double measure_read_bandwidth(int threads, const ReadBandwidthOptions& options = {});

// The same, measured once per process and thread count and then reused: the buffer costs a
// second to fill and a gigabyte of memory, which a benchmark should pay only once.
double cached_read_bandwidth(int threads);

}  // namespace orchard
