// Statement execution: output, control flow, assignments, macros and scopes.
#include "chat/jinja/interpreter.h"

#include "chat/jinja/args.h"
#include "chat/jinja/lexer.h"
#include "chat/jinja/operators.h"

namespace orchard::jinja {

namespace {

// An error that already carries a template location; passed through unchanged.
class LocatedError : public Error {
 public:
  using Error::Error;
};

}  // namespace

const Value* Scope::lookup(const std::string& name) const {
  for (const Scope* s = this; s; s = s->parent.get()) {
    const auto it = s->vars.find(name);
    if (it != s->vars.end()) return &it->second;
  }
  return nullptr;
}

Interpreter::Interpreter(const std::string& source, Limits limits, std::time_t now)
    : source_(source), limits_(limits), now_(now) {}

void Interpreter::check_length(std::size_t bytes) const {
  if (bytes > limits_.max_output_bytes)
    throw Error("chat template output exceeds " + std::to_string(limits_.max_output_bytes) + " bytes");
}

void Interpreter::check_items(std::size_t n) const {
  if (n > limits_.max_items) throw Error("chat template built a list longer than " + std::to_string(limits_.max_items));
}

void Interpreter::step() {
  if (++steps_ > limits_.max_steps) throw Error("chat template exceeded its evaluation budget (an endless loop?)");
}

void Interpreter::fail(std::size_t offset, const std::string& message) const {
  throw LocatedError(describe_location(source_, offset) + ": " + message);
}

Value Interpreter::new_namespace() {
  Value ns = Value::dict(Mapping::Flavor::Namespace);
  namespaces_.push_back(ns.as_dict());
  return ns;
}

std::string Interpreter::render(const Body& body, std::shared_ptr<Scope> variables) {
  struct ReleaseNamespaces {
    std::vector<std::shared_ptr<Mapping>>& namespaces;
    ~ReleaseNamespaces() {
      for (const auto& ns : namespaces) std::exchange(ns->entries, {});  // moved out, then destroyed
      namespaces.clear();
    }
  } release{namespaces_};
  std::string out;
  out_ = &out;
  auto top = std::make_shared<Scope>();
  top->parent = std::move(variables);
  execute(body, top);
  return out;
}

void Interpreter::emit(const std::string& text) {
  check_length(out_->size() + text.size());
  *out_ += text;
}

std::string Interpreter::capture(const Body& body, const std::shared_ptr<Scope>& scope) {
  std::string buffer;
  std::string* saved = std::exchange(out_, &buffer);
  try {
    execute(body, scope);
  } catch (...) {
    out_ = saved;
    throw;
  }
  out_ = saved;
  return buffer;
}

Interpreter::Flow Interpreter::execute(const Body& body, const std::shared_ptr<Scope>& scope) {
  DepthGuard guard(*this);
  for (const StmtPtr& s : body) {
    const Flow flow = execute(*s, scope);
    if (flow != Flow::Normal) return flow;
  }
  return Flow::Normal;
}

Interpreter::Flow Interpreter::execute(const Stmt& s, const std::shared_ptr<Scope>& scope) {
  step();
  try {
    switch (s.kind) {
      case StmtKind::Text: emit(s.text); break;
      case StmtKind::Output: emit(to_str(evaluate(*s.expr, scope))); break;
      case StmtKind::If:
        for (std::size_t i = 0; i < s.conditions.size(); ++i)
          if (evaluate(*s.conditions[i], scope).truthy()) return execute(s.bodies[i], scope);
        return execute(s.else_body, scope);
      case StmtKind::For: execute_for(s, scope); break;
      case StmtKind::Set: execute_set(s, scope); break;
      case StmtKind::Macro: scope->vars[s.text] = make_macro(s, scope, s.text); break;
      case StmtKind::CallBlock: {
        const Value caller = make_macro(s, scope, "caller");
        emit(to_str(evaluate_call(*s.expr, scope, caller)));
        break;
      }
      case StmtKind::FilterBlock: {
        auto inner = std::make_shared<Scope>();
        inner->parent = scope;
        emit(to_str(evaluate_filter_chain(*s.filter, Value(capture(s.bodies[0], inner)), scope)));
        break;
      }
      case StmtKind::With: {
        auto inner = std::make_shared<Scope>();
        inner->parent = scope;
        for (const auto& [target, expr] : s.assignments) assign(target, evaluate(*expr, scope), *inner, s.offset);
        return execute(s.bodies[0], inner);
      }
      case StmtKind::Break: return Flow::Break;
      case StmtKind::Continue: return Flow::Continue;
    }
  } catch (const TemplateRaised&) {
    throw;
  } catch (const LocatedError&) {
    throw;
  } catch (const Error& e) {
    fail(s.offset, e.what());
  }
  return Flow::Normal;
}

void Interpreter::assign(const Target& target, Value value, Scope& scope, std::size_t offset) {
  if (!target.attribute.empty()) {
    const Value* ns = scope.lookup(target.names[0]);
    if (!ns || !ns->is_namespace()) fail(offset, "cannot assign attribute on non-namespace object");
    ns->as_dict()->set(Value(target.attribute), std::move(value));
    return;
  }
  if (!target.is_tuple) {
    scope.vars[target.names[0]] = std::move(value);
    return;
  }
  const std::vector<Value> items = iterate(value);
  if (items.size() < target.names.size())
    throw Error("not enough values to unpack (expected " + std::to_string(target.names.size()) + ", got " +
                std::to_string(items.size()) + ")");
  if (items.size() > target.names.size())
    throw Error("too many values to unpack (expected " + std::to_string(target.names.size()) + ")");
  for (std::size_t i = 0; i < items.size(); ++i) scope.vars[target.names[i]] = items[i];
}

void Interpreter::execute_set(const Stmt& s, const std::shared_ptr<Scope>& scope) {
  if (s.expr) {
    assign(s.target, evaluate(*s.expr, scope), *scope, s.offset);
    return;
  }
  auto inner = std::make_shared<Scope>();
  inner->parent = scope;
  Value text(capture(s.bodies[0], inner));
  if (s.filter) text = evaluate_filter_chain(*s.filter, std::move(text), scope);
  assign(s.target, std::move(text), *scope, s.offset);
}

namespace {

// jinja2's LoopContext as a read-only mapping, rebuilt per iteration.
Value loop_object(const std::vector<Value>& items, std::size_t i, const std::shared_ptr<Value>& last_changed) {
  const auto n = static_cast<std::int64_t>(items.size());
  const auto index = static_cast<std::int64_t>(i);
  Value loop = Value::dict(Mapping::Flavor::Loop);
  auto& e = loop.as_dict()->entries;
  e.emplace_back(Value("index"), Value(index + 1));
  e.emplace_back(Value("index0"), Value(index));
  e.emplace_back(Value("revindex"), Value(n - index));
  e.emplace_back(Value("revindex0"), Value(n - index - 1));
  e.emplace_back(Value("first"), Value(i == 0));
  e.emplace_back(Value("last"), Value(index == n - 1));
  e.emplace_back(Value("length"), Value(n));
  e.emplace_back(Value("depth"), Value(1));
  e.emplace_back(Value("depth0"), Value(0));
  e.emplace_back(Value("previtem"), i > 0 ? items[i - 1] : Value::undefined("there is no previous item"));
  e.emplace_back(Value("nextitem"), index + 1 < n ? items[i + 1] : Value::undefined("there is no next item"));
  e.emplace_back(Value("cycle"), Value::function("cycle", [i](Arguments& args) {
                   if (args.positional.empty()) throw Error("no items for cycling given");
                   return args.positional[i % args.positional.size()];
                 }));
  e.emplace_back(Value("changed"), Value::function("changed", [last_changed](Arguments& args) {
                   Value current = Value::list(args.positional, true);
                   if (!last_changed->is_undefined() && equals(*last_changed, current)) return Value(false);
                   *last_changed = std::move(current);
                   return Value(true);
                 }));
  return loop;
}

}  // namespace

void Interpreter::execute_for(const Stmt& s, const std::shared_ptr<Scope>& scope) {
  const Value iterable = evaluate(*s.expr, scope);
  std::vector<Value> items = iterate(iterable);
  if (s.filter) {
    // The inline `if` sees the loop variable but not `loop`; filtered items don't count.
    std::vector<Value> kept;
    for (Value& item : items) {
      auto probe = std::make_shared<Scope>();
      probe->parent = scope;
      assign(s.target, item, *probe, s.offset);
      if (evaluate(*s.filter, probe).truthy()) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  if (items.empty()) {
    auto inner = std::make_shared<Scope>();
    inner->parent = scope;
    execute(s.else_body, inner);
    return;
  }
  // loop.changed() remembers its last arguments, which may contain the loop object holding
  // it; forgetting them when the loop ends breaks that cycle.
  auto last_changed = std::make_shared<Value>();
  struct Forget {
    std::shared_ptr<Value>& value;
    ~Forget() { std::exchange(*value, Value()); }
  } forget{last_changed};
  for (std::size_t i = 0; i < items.size(); ++i) {
    step();
    // Each iteration starts from the enclosing variables: assignments don't carry over.
    auto inner = std::make_shared<Scope>();
    inner->parent = scope;
    inner->vars["loop"] = loop_object(items, i, last_changed);
    assign(s.target, items[i], *inner, s.offset);
    if (execute(s.bodies[0], inner) == Flow::Break) break;
  }
}

Value Interpreter::make_macro(const Stmt& s, const std::shared_ptr<Scope>& scope, const std::string& name) {
  // The macro keeps its defining scope weakly so a macro stored in that scope is no cycle.
  std::weak_ptr<Scope> defined_in = scope;
  const Stmt* macro = &s;
  return Value::function(name, [this, defined_in, macro, name](Arguments& args) -> Value {
    DepthGuard guard(*this);
    std::shared_ptr<Scope> parent = defined_in.lock();
    if (!parent) throw Error("macro '" + name + "' was called after the scope defining it ended");
    auto frame = std::make_shared<Scope>();
    frame->parent = parent;
    const auto& params = macro->params;
    std::vector<Value> extra;
    for (std::size_t i = 0; i < args.positional.size(); ++i) {
      if (i < params.size()) frame->vars[params[i].name] = args.positional[i];
      else extra.push_back(args.positional[i]);
    }
    Value kwargs = Value::dict();
    for (auto& [key, value] : args.keyword) {
      const std::string& keyword = key;  // (structured bindings can't be captured in C++20)
      const bool is_param = std::any_of(params.begin(), params.end(), [&](const Param& p) { return p.name == keyword; });
      if (is_param && frame->vars.count(key)) throw Error("macro '" + name + "' got multiple values for argument '" + key + "'");
      if (is_param || key == "caller") frame->vars[key] = value;
      else kwargs.as_dict()->set(Value(key), value);
    }
    for (const Param& p : params) {
      if (frame->vars.count(p.name)) continue;
      frame->vars[p.name] = p.default_value ? evaluate(*p.default_value, frame)
                                            : Value::undefined("parameter '" + p.name + "' was not provided");
    }
    frame->vars["varargs"] = Value::list(std::move(extra), true);
    frame->vars["kwargs"] = std::move(kwargs);
    return Value(capture(macro->bodies[0], frame));
  });
}

}  // namespace orchard::jinja
