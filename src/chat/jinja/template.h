#pragma once
// A parsed Jinja2 template, rendered with the settings transformers uses for chat templates.
//
// Outside the supported subset (refused with an error rather than rendered differently):
// template inheritance and includes (extends/include/import/block), recursive loops, *args /
// **kwargs in calls, tuple subscripts. Known differences: upper/lower/title/capitalize only
// change ASCII letters; integers are 64-bit (overflow is an error, not a big int).
#include <ctime>
#include <string>

#include <nlohmann/json.hpp>

#include "chat/jinja/ast.h"
#include "chat/jinja/interpreter.h"

namespace orchard::jinja {

class Template {
 public:
  // Throws orchard::Error "line L, column C: ..." on syntax errors and on unknown filters or
  // tests (which jinja2 also rejects when compiling).
  explicit Template(const std::string& source, Limits limits = {});

  // `variables` must be a JSON object; `now` is what strftime_now() formats.
  std::string render(const nlohmann::ordered_json& variables, std::time_t now) const;

 private:
  std::string source_;  // newline-normalized, for error locations
  Body body_;
  Limits limits_;
};

}  // namespace orchard::jinja
