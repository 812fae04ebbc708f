#include "chat/jinja/template.h"

#include "chat/jinja/builtins.h"
#include "chat/jinja/filters.h"
#include "chat/jinja/json.h"
#include "chat/jinja/lexer.h"
#include "chat/jinja/parser.h"
#include "core/error.h"

namespace orchard::jinja {

namespace {

// jinja2 resolves filter and test names when compiling; do the same so a typo in a branch
// that a given conversation never reaches is still reported.
class NameChecker {
 public:
  explicit NameChecker(const std::string& source) : source_(source) {}

  void check(const Body& body) {
    for (const StmtPtr& s : body) check(*s);
  }

 private:
  void check(const Stmt& s) {
    for (const Expr* e : {s.expr.get(), s.filter.get()}) check(e);
    for (const ExprPtr& e : s.conditions) check(e.get());
    for (const Body& b : s.bodies) check(b);
    check(s.else_body);
    for (const Param& p : s.params) check(p.default_value.get());
    for (const auto& [target, e] : s.assignments) check(e.get());
  }

  void check(const Expr* e) {
    if (!e) return;
    if (e->kind == ExprKind::Filter && !find_filter(e->name))
      throw Error(describe_location(source_, e->offset) + ": no filter named '" + e->name + "'");
    if (e->kind == ExprKind::Test && !find_test(e->name))
      throw Error(describe_location(source_, e->offset) + ": no test named '" + e->name + "'");
    for (const Expr* child : {e->operand.get(), e->key.get(), e->otherwise.get(), e->start.get(), e->stop.get(), e->step.get()})
      check(child);
    for (const ExprPtr& a : e->args.positional) check(a.get());
    for (const auto& [name, a] : e->args.keyword) check(a.get());
    for (const auto& [op, a] : e->comparisons) check(a.get());
    for (const ExprPtr& a : e->items) check(a.get());
    for (const ExprPtr& a : e->keys) check(a.get());
  }

  const std::string& source_;
};

}  // namespace

Template::Template(const std::string& source, Limits limits) : limits_(limits) {
  LexedTemplate lexed = tokenize(source);
  body_ = parse(lexed);
  source_ = std::move(lexed.source);
  NameChecker(source_).check(body_);
}

std::string Template::render(const nlohmann::ordered_json& variables, std::time_t now) const {
  if (!variables.is_object()) throw Error("chat template variables must be a JSON object");
  Interpreter interp(source_, limits_, now);
  auto scope = std::make_shared<Scope>();
  scope->parent = make_globals(interp);
  for (const auto& [name, value] : variables.items()) scope->vars[name] = from_json(value);
  return interp.render(body_, scope);
}

}  // namespace orchard::jinja
