#pragma once
// jinja2's built-in filters and tests that chat templates use, with jinja2's argument names
// and defaults, plus transformers' `tojson`.
#include <string>

#include "chat/jinja/value.h"

namespace orchard::jinja {

class Interpreter;

using FilterFunction = Value (*)(Interpreter&, const Value& operand, Arguments& args);
using TestFunction = bool (*)(Interpreter&, const Value& operand, Arguments& args);

// nullptr when jinja2 has no filter/test of that name (a template error, like jinja2's).
FilterFunction find_filter(const std::string& name);
TestFunction find_test(const std::string& name);

}  // namespace orchard::jinja
