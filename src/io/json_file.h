#pragma once
// JSON parsing for files users hand us: syntax errors become orchard::Error "FILE: invalid
// JSON at line L, column C: ..." instead of nlohmann's byte offsets.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace orchard {

nlohmann::json parse_json(std::string_view text, const std::string& name);
nlohmann::json read_json_file(const std::string& path);  // Error if missing or malformed

}  // namespace orchard
