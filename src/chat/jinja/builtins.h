#pragma once
// The global names a chat template sees besides its variables: jinja2's range, dict and
// namespace, and transformers' raise_exception and strftime_now.
#include <memory>

#include "chat/jinja/interpreter.h"

namespace orchard::jinja {

std::shared_ptr<Scope> make_globals(Interpreter& interp);

}  // namespace orchard::jinja
