#pragma once
// Renders a parsed template: statement execution, expression evaluation, scopes, and the
// resource limits that keep hostile templates from exhausting memory, time or the stack.
#include <ctime>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "chat/jinja/ast.h"
#include "chat/jinja/value.h"
#include "core/error.h"

namespace orchard::jinja {

// Variables visible at one nesting level (template top level, one loop iteration, a macro
// call). Lookups fall back to the parent, assignments always land in the innermost scope.
struct Scope {
  std::unordered_map<std::string, Value> vars;
  std::shared_ptr<Scope> parent;

  const Value* lookup(const std::string& name) const;
};

struct Limits {
  std::size_t max_output_bytes = 16u << 20;  // rendered text and any single string value
  std::size_t max_items = 1u << 20;          // elements of one list built by the template
  int max_depth = 400;                       // nested evaluation (expressions, blocks, macro calls)
  std::size_t max_steps = 5'000'000;         // evaluated expressions, statements and loop iterations
};

class Interpreter {
 public:
  Interpreter(const std::string& source, Limits limits, std::time_t now);

  // Runs `body` with `variables` (plus the globals) as the outermost scope.
  std::string render(const Body& body, std::shared_ptr<Scope> variables);

  Value evaluate(const Expr& e, const std::shared_ptr<Scope>& scope);
  // Applies a filter/test by name (used by `map`, `select` and friends as well as templates).
  Value filter(const std::string& name, const Value& operand, Arguments& args);
  bool test(const std::string& name, const Value& operand, Arguments& args);

  // Throws when a string produced by the template would exceed the output limit.
  const std::string& check_size(const std::string& s) const {
    check_length(s.size());
    return s;
  }
  void check_length(std::size_t bytes) const;
  void check_items(std::size_t n) const;
  std::time_t now() const { return now_; }

  // Namespaces are the only mutable values, so the only way a value can end up containing
  // itself; they are registered here and emptied after rendering to break such cycles.
  Value new_namespace();

 private:
  enum class Flow { Normal, Break, Continue };
  // Bounds the C++ recursion that nested expressions, blocks and macro calls cause.
  struct DepthGuard {
    Interpreter& interp;
    explicit DepthGuard(Interpreter& i) : interp(i) {
      if (interp.depth_ >= interp.limits_.max_depth)
        throw Error("chat template recursion is too deep (limit " + std::to_string(interp.limits_.max_depth) + ")");
      ++interp.depth_;
    }
    ~DepthGuard() { --interp.depth_; }
  };

  Flow execute(const Body& body, const std::shared_ptr<Scope>& scope);
  Flow execute(const Stmt& s, const std::shared_ptr<Scope>& scope);
  void execute_for(const Stmt& s, const std::shared_ptr<Scope>& scope);
  void execute_set(const Stmt& s, const std::shared_ptr<Scope>& scope);
  Value make_macro(const Stmt& s, const std::shared_ptr<Scope>& scope, const std::string& name);
  std::string capture(const Body& body, const std::shared_ptr<Scope>& scope);
  void emit(const std::string& text);
  void assign(const Target& target, Value value, Scope& scope, std::size_t offset);

  Value evaluate_call(const Expr& e, const std::shared_ptr<Scope>& scope, Value extra_caller = Value());
  Value evaluate_filter_chain(const Expr& e, Value operand, const std::shared_ptr<Scope>& scope);
  Arguments evaluate_args(const CallArgs& args, const std::shared_ptr<Scope>& scope);
  Value evaluate_compare(const Expr& e, const std::shared_ptr<Scope>& scope);

  [[noreturn]] void fail(std::size_t offset, const std::string& message) const;
  void step();

  std::vector<std::shared_ptr<Mapping>> namespaces_;
  const std::string& source_;
  Limits limits_;
  std::time_t now_;
  std::string* out_ = nullptr;
  std::size_t steps_ = 0;
  int depth_ = 0;
};

}  // namespace orchard::jinja
