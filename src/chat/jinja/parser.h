#pragma once
// Builds the syntax tree from tokens with jinja2's grammar and operator precedence.
#include <string_view>

#include "chat/jinja/ast.h"
#include "chat/jinja/lexer.h"

namespace orchard::jinja {

// Throws orchard::Error "line L, column C: ..." on a syntax error.
Body parse(const LexedTemplate& lexed);

}  // namespace orchard::jinja
