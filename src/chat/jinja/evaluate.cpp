// Expression evaluation.
#include "chat/jinja/args.h"
#include "chat/jinja/filters.h"
#include "chat/jinja/interpreter.h"
#include "chat/jinja/methods.h"
#include "chat/jinja/operators.h"

namespace orchard::jinja {

Arguments Interpreter::evaluate_args(const CallArgs& args, const std::shared_ptr<Scope>& scope) {
  Arguments out;
  for (const ExprPtr& e : args.positional) out.positional.push_back(evaluate(*e, scope));
  for (const auto& [name, e] : args.keyword) out.keyword.emplace_back(name, evaluate(*e, scope));
  return out;
}

Value Interpreter::filter(const std::string& name, const Value& operand, Arguments& args) {
  const FilterFunction f = find_filter(name);
  if (!f) throw Error("No filter named '" + name + "'.");
  return f(*this, operand, args);
}

bool Interpreter::test(const std::string& name, const Value& operand, Arguments& args) {
  const TestFunction t = find_test(name);
  if (!t) throw Error("No test named '" + name + "'.");
  return t(*this, operand, args);
}

// Applies a chain of Filter nodes whose innermost operand is null (block filters).
Value Interpreter::evaluate_filter_chain(const Expr& e, Value operand, const std::shared_ptr<Scope>& scope) {
  if (e.operand) operand = evaluate_filter_chain(*e.operand, std::move(operand), scope);
  Arguments args = evaluate_args(e.args, scope);
  return filter(e.name, operand, args);
}

Value Interpreter::evaluate_call(const Expr& e, const std::shared_ptr<Scope>& scope, Value extra_caller) {
  const Value callee = evaluate(*e.operand, scope);
  callee.require_defined();
  if (!callee.is_callable()) throw Error("'" + callee.type_name() + "' object is not callable");
  Arguments args = evaluate_args(e.args, scope);
  if (!extra_caller.is_undefined()) args.keyword.emplace_back("caller", std::move(extra_caller));
  DepthGuard guard(*this);
  return callee.as_callable()->call(args);
}

Value Interpreter::evaluate_compare(const Expr& e, const std::shared_ptr<Scope>& scope) {
  Value left = evaluate(*e.operand, scope);
  for (const auto& [op, rhs_expr] : e.comparisons) {
    Value right = evaluate(*rhs_expr, scope);
    bool ok;
    if (op == "==") ok = equals(left, right);
    else if (op == "!=") ok = !equals(left, right);
    else if (op == "in") ok = contains(right, left);
    else if (op == "not in") ok = !contains(right, left);
    else {
      const int c = compare(left, right, op.c_str());
      ok = op == "<" ? c < 0 : op == ">" ? c > 0 : op == "<=" ? c <= 0 : c >= 0;
    }
    if (!ok) return Value(false);
    left = std::move(right);
  }
  return Value(true);
}

Value Interpreter::evaluate(const Expr& e, const std::shared_ptr<Scope>& scope) {
  step();
  DepthGuard guard(*this);
  switch (e.kind) {
    case ExprKind::Literal: return e.value;
    case ExprKind::Name: {
      const Value* v = scope->lookup(e.name);
      return v ? *v : Value::undefined("'" + e.name + "' is undefined");
    }
    case ExprKind::Attribute: return get_attribute(*this, evaluate(*e.operand, scope), e.name);
    case ExprKind::Item: {
      const Value obj = evaluate(*e.operand, scope);
      return get_item(*this, obj, evaluate(*e.key, scope));
    }
    case ExprKind::Slice: {
      const Value obj = evaluate(*e.operand, scope);
      const Value none(nullptr);
      return get_slice(obj, e.start ? evaluate(*e.start, scope) : none, e.stop ? evaluate(*e.stop, scope) : none,
                       e.step ? evaluate(*e.step, scope) : none);
    }
    case ExprKind::Call: return evaluate_call(e, scope);
    case ExprKind::Filter: {
      const Value operand = evaluate(*e.operand, scope);
      Arguments args = evaluate_args(e.args, scope);
      return filter(e.name, operand, args);
    }
    case ExprKind::Test: {
      const Value operand = evaluate(*e.operand, scope);
      Arguments args = evaluate_args(e.args, scope);
      return Value(test(e.name, operand, args) != e.negated);
    }
    case ExprKind::Unary: {
      const Value v = evaluate(*e.operand, scope);
      if (e.name == "not") return Value(!v.truthy());
      return negate(v, e.name == "-");
    }
    case ExprKind::Binary: {
      Value left = evaluate(*e.operand, scope);
      if (e.name == "and") return left.truthy() ? evaluate(*e.key, scope) : left;
      if (e.name == "or") return left.truthy() ? left : evaluate(*e.key, scope);
      return binary_operator(*this, e.name, left, evaluate(*e.key, scope));
    }
    case ExprKind::Compare: return evaluate_compare(e, scope);
    case ExprKind::Conditional:
      if (evaluate(*e.key, scope).truthy()) return evaluate(*e.operand, scope);
      if (e.otherwise) return evaluate(*e.otherwise, scope);
      return Value::undefined("the inline if-expression evaluated to false and no else section was defined.");
    case ExprKind::List:
    case ExprKind::Tuple: {
      std::vector<Value> items;
      for (const ExprPtr& item : e.items) items.push_back(evaluate(*item, scope));
      return Value::list(std::move(items), e.kind == ExprKind::Tuple);
    }
    case ExprKind::Dict: {
      Value d = Value::dict();
      for (std::size_t i = 0; i < e.items.size(); ++i) {
        Value key = evaluate(*e.keys[i], scope);
        if (key.is_sequence() && !key.as_list()->is_tuple) throw Error("unhashable type: 'list'");
        if (key.is_dict_like()) throw Error("unhashable type: '" + key.type_name() + "'");
        d.as_dict()->set(std::move(key), evaluate(*e.items[i], scope));
      }
      return d;
    }
  }
  throw Error("unknown expression");
}

}  // namespace orchard::jinja
