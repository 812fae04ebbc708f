#pragma once
// Syntax tree of a parsed template: expressions and statements, each remembering its source
// offset so runtime errors can say where they happened.
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "chat/jinja/value.h"

namespace orchard::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

enum class ExprKind {
  Literal,      // value
  Name,         // name
  Attribute,    // object.name
  Item,         // object[key]
  Slice,        // object[start:stop:step] (absent parts are null)
  Call,         // callee(args)
  Filter,       // operand | name(args); operand is null inside {% filter %} and {% set x | f %}
  Test,         // operand is [not] name(args)
  Unary,        // op: "not", "-", "+"
  Binary,       // op: "+", "-", "*", "/", "//", "%", "**", "~", "and", "or"
  Compare,      // operand (op rhs)*, chained like Python
  Conditional,  // then if condition [else otherwise]
  List,         // [items]
  Tuple,        // (items)
  Dict,         // {keys[i]: items[i]}
};

struct CallArgs {
  std::vector<ExprPtr> positional;
  std::vector<std::pair<std::string, ExprPtr>> keyword;
};

struct Expr {
  ExprKind kind;
  std::size_t offset = 0;
  Value value;           // Literal
  std::string name;      // Name, Attribute, Filter, Test, operator of Unary/Binary
  ExprPtr operand;       // object / operand / left side / the value of Conditional
  ExprPtr key;           // Item key, Binary right side, Conditional condition
  ExprPtr otherwise;     // Conditional's else branch (may be null)
  ExprPtr start, stop, step;  // Slice
  CallArgs args;         // Call, Filter, Test
  bool negated = false;  // Test: `is not`
  std::vector<std::pair<std::string, ExprPtr>> comparisons;  // Compare: (op, rhs)
  std::vector<ExprPtr> items;  // List, Tuple, Dict values
  std::vector<ExprPtr> keys;   // Dict keys

  Expr(ExprKind k, std::size_t off) : kind(k), offset(off) {}
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

enum class StmtKind {
  Text,      // literal text
  Output,    // {{ expr }}
  If,        // conditions[i] -> bodies[i], else_body
  For,       // for target in iterable [if filter] ... [else]
  Set,       // set target = expr  /  set target %}body{% endset (with optional filters)
  Macro,     // macro name(params) body
  CallBlock, // call(params) expr  body
  FilterBlock,  // filter f ... endfilter
  With,      // with a = x, ... body
  Break,
  Continue,
};

// Assignment target: a name, a namespace attribute (`ns.x`), or a tuple of names.
struct Target {
  std::vector<std::string> names;  // one name, or the names of a tuple target
  std::string attribute;           // non-empty: names[0].attribute
  bool is_tuple = false;
};

struct Param {
  std::string name;
  ExprPtr default_value;  // may be null
};

struct Stmt {
  StmtKind kind;
  std::size_t offset = 0;
  std::string text;      // Text; macro name
  ExprPtr expr;          // Output, Set value, For iterable, CallBlock call, Filter chain
  ExprPtr filter;        // For's inline `if`
  std::vector<ExprPtr> conditions;  // If
  std::vector<Body> bodies;         // If branches; For/Set/Macro/Call/FilterBlock/With use bodies[0]
  Body else_body;
  Target target;                    // For, Set
  std::vector<Param> params;        // Macro, CallBlock caller params
  std::vector<std::pair<Target, ExprPtr>> assignments;  // With
  bool recursive = false;

  Stmt(StmtKind k, std::size_t off) : kind(k), offset(off) {}
};

}  // namespace orchard::jinja
