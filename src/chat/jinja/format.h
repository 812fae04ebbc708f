#pragma once
// Python's printf-style string formatting (`"%s: %d" % (a, b)` and jinja2's |format).
#include <string>

#include "chat/jinja/value.h"

namespace orchard::jinja {

// `args` is a tuple of positional values, a dict for "%(name)s" conversions, or one value.
// Supports the conversions s r a d i u f F e E g G x X o c and %, with flags, width and
// precision; throws orchard::Error with Python's message on mismatched arguments.
std::string printf_format(const std::string& format, const Value& args);

}  // namespace orchard::jinja
