#pragma once
// Python semantics of the arithmetic and membership operators on template values
// (int stays int, / always gives float, floor division and modulo round toward -inf).
#include <string>

#include "chat/jinja/value.h"

namespace orchard::jinja {

class Interpreter;

// op: "+", "-", "*", "/", "//", "%", "**", "~".
Value binary_operator(const Interpreter& interp, const std::string& op, const Value& a, const Value& b);
Value negate(const Value& v, bool minus);
// Python's `needle in haystack`.
bool contains(const Value& haystack, const Value& needle);

// The items a for loop or list() sees: list/tuple elements, dict keys, string characters.
std::vector<Value> iterate(const Value& v);

}  // namespace orchard::jinja
