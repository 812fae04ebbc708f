#pragma once
// Attribute and item access the way jinja2's sandboxed environment resolves them:
// `obj.name` prefers Python attributes (str/dict/list methods) over dict keys, `obj[key]`
// prefers keys; anything missing is an Undefined that remembers what was looked up.
// Methods that would mutate a list or dict are refused, as ImmutableSandboxedEnvironment does.
#include <string>

#include "chat/jinja/value.h"

namespace orchard::jinja {

class Interpreter;

Value get_attribute(const Interpreter& interp, const Value& obj, const std::string& name);
Value get_item(const Interpreter& interp, const Value& obj, const Value& key);
// obj[start:stop:step] on str, list or tuple; null values mean "omitted".
Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step);

}  // namespace orchard::jinja
