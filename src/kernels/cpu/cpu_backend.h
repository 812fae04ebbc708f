#pragma once
// The CPU implementation of Backend. make_cpu_backend (core/backend.h) uses the best ISA of
// the running CPU; tests and benchmarks can force a lower one.
#include <memory>

#include "core/backend.h"
#include "kernels/cpu/isa.h"

namespace orchard::cpu {

// Throws orchard::Error if `isa` is not supported here.
std::unique_ptr<Backend> make_cpu_backend(int n_threads, Isa isa);

}  // namespace orchard::cpu
