#pragma once
// Sizes and counts for people to read, shared by every subcommand that prints them.
#include <cstdint>
#include <string>

namespace orchard::cli {

std::string human_bytes(uint64_t bytes);  // "1.17 GiB", "37.50 MiB", "512 B"
std::string human_count(int64_t n);       // "1.10 B", "494.03 M", "78.14 K"

}  // namespace orchard::cli
