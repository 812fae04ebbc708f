#pragma once
// Conversion between JSON documents and template values, and Python's json.dumps as
// transformers' `tojson` filter calls it (ensure_ascii=False by default, insertion order).
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "chat/jinja/value.h"

namespace orchard::jinja {

Value from_json(const nlohmann::ordered_json& j);

struct JsonStyle {
  std::optional<std::string> indent;  // nullopt: one line; otherwise the per-level indentation
  std::string item_separator = ", ";
  std::string key_separator = ": ";
  bool sort_keys = false;
  bool ensure_ascii = false;
};

// Throws orchard::Error for values JSON cannot represent (Undefined, callables, namespaces).
std::string dump_json(const Value& v, const JsonStyle& style);

}  // namespace orchard::jinja
