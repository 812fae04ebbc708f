#include "chat/jinja/parser.h"

#include <algorithm>
#include <initializer_list>

#include "core/error.h"

namespace orchard::jinja {

namespace {

// Deeper nesting than this is not a chat template; refusing it keeps recursion bounded.
constexpr int kMaxNesting = 128;

class Parser {
 public:
  explicit Parser(const LexedTemplate& lexed) : src_(lexed.source), toks_(lexed.tokens) {}

  Body parse_template() { return parse_body({}); }

 private:
  // Keeps the recursion depth of nested expressions/blocks bounded.
  struct DepthGuard {
    Parser& p;
    explicit DepthGuard(Parser& parser) : p(parser) {
      if (++p.depth_ > kMaxNesting) p.fail("template nesting is too deep");
    }
    ~DepthGuard() { --p.depth_; }
  };

  const Token& cur() const { return toks_[pos_]; }
  const Token& peek(std::size_t ahead = 1) const { return toks_[std::min(pos_ + ahead, toks_.size() - 1)]; }
  void advance() {
    if (pos_ + 1 < toks_.size()) ++pos_;
  }

  [[noreturn]] void fail(const std::string& message) const { fail_at(cur().offset, message); }
  [[noreturn]] void fail_at(std::size_t offset, const std::string& message) const {
    throw Error(describe_location(src_, offset) + ": " + message);
  }

  std::string describe(const Token& t) const {
    switch (t.type) {
      case TokenType::End: return "end of template";
      case TokenType::BlockEnd: return "'%}'";
      case TokenType::VariableEnd: return "'}}'";
      case TokenType::Name:
      case TokenType::Operator: return "'" + t.text + "'";
      case TokenType::String: return "string literal";
      case TokenType::Integer:
      case TokenType::Float: return "number";
      default: return "template text";
    }
  }

  bool is_op(const char* op) const { return cur().type == TokenType::Operator && cur().text == op; }
  bool is_name(const char* name) const { return cur().type == TokenType::Name && cur().text == name; }
  bool skip_op(const char* op) {
    if (!is_op(op)) return false;
    advance();
    return true;
  }
  bool skip_name(const char* name) {
    if (!is_name(name)) return false;
    advance();
    return true;
  }
  void expect_op(const char* op) {
    if (!skip_op(op)) fail(std::string("expected '") + op + "', got " + describe(cur()));
  }
  void expect_name(const char* name) {
    if (!skip_name(name)) fail(std::string("expected '") + name + "', got " + describe(cur()));
  }
  std::string expect_identifier() {
    if (cur().type != TokenType::Name) fail("expected a name, got " + describe(cur()));
    std::string name = cur().text;
    advance();
    return name;
  }
  void expect_block_end() {
    if (cur().type != TokenType::BlockEnd) fail("expected end of statement block, got " + describe(cur()));
    advance();
  }

  // ---- statements ----

  // Parses until a block tag whose name is one of `end_tags` (left unconsumed, positioned at
  // the name). With no end tags, parses to the end of the template.
  Body parse_body(std::initializer_list<const char*> end_tags) {
    DepthGuard guard(*this);
    Body body;
    while (true) {
      const Token& t = cur();
      if (t.type == TokenType::End) {
        if (end_tags.size() == 0) return body;
        fail(std::string("unexpected end of template, expected '") + *end_tags.begin() + "'");
      }
      if (t.type == TokenType::Data) {
        auto s = std::make_unique<Stmt>(StmtKind::Text, t.offset);
        s->text = t.text;
        body.push_back(std::move(s));
        advance();
      } else if (t.type == TokenType::VariableBegin) {
        advance();
        auto s = std::make_unique<Stmt>(StmtKind::Output, t.offset);
        s->expr = parse_tuple(true);
        if (cur().type != TokenType::VariableEnd) fail("expected '}}', got " + describe(cur()));
        advance();
        body.push_back(std::move(s));
      } else if (t.type == TokenType::BlockBegin) {
        const Token& name = peek();
        if (name.type == TokenType::Name &&
            std::any_of(end_tags.begin(), end_tags.end(), [&](const char* e) { return name.text == e; })) {
          advance();
          return body;
        }
        advance();
        body.push_back(parse_statement());
      } else {
        fail("unexpected " + describe(t));
      }
    }
  }

  // Consumes the tag name (endfor, else, ...) that parse_body stopped at and returns it.
  std::string finish_tag() {
    std::string name = cur().text;
    advance();
    return name;
  }

  StmtPtr parse_statement() {
    const Token& t = cur();
    if (t.type != TokenType::Name) fail("tag name expected");
    const std::string tag = t.text;
    const std::size_t offset = t.offset;
    advance();
    StmtPtr s;
    if (tag == "if") s = parse_if(offset);
    else if (tag == "for") s = parse_for(offset);
    else if (tag == "set") s = parse_set(offset);
    else if (tag == "macro") s = parse_macro(offset);
    else if (tag == "call") s = parse_call_block(offset);
    else if (tag == "filter") s = parse_filter_block(offset);
    else if (tag == "with") s = parse_with(offset);
    else if (tag == "generation") s = parse_generation(offset);
    else if (tag == "print") {
      s = std::make_unique<Stmt>(StmtKind::Output, offset);
      s->expr = parse_tuple(true);
      expect_block_end();
    } else if (tag == "break" || tag == "continue") {
      if (loop_depth_ == 0) fail_at(offset, "'" + tag + "' outside of a loop");
      s = std::make_unique<Stmt>(tag == "break" ? StmtKind::Break : StmtKind::Continue, offset);
      expect_block_end();
    } else {
      fail_at(offset, "encountered unknown tag '" + tag + "'");
    }
    return s;
  }

  StmtPtr parse_if(std::size_t offset) {
    auto s = std::make_unique<Stmt>(StmtKind::If, offset);
    while (true) {
      s->conditions.push_back(parse_tuple(false));
      expect_block_end();
      s->bodies.push_back(parse_body({"elif", "else", "endif"}));
      const std::string tag = finish_tag();
      if (tag == "elif") continue;
      if (tag == "else") {
        expect_block_end();
        s->else_body = parse_body({"endif"});
        finish_tag();
      }
      expect_block_end();
      return s;
    }
  }

  StmtPtr parse_for(std::size_t offset) {
    auto s = std::make_unique<Stmt>(StmtKind::For, offset);
    s->target = parse_target(false);
    expect_name("in");
    s->expr = parse_tuple(false);
    if (skip_name("if")) s->filter = parse_expression(true);
    if (skip_name("recursive")) fail("recursive loops are not supported");
    expect_block_end();
    ++loop_depth_;
    s->bodies.push_back(parse_body({"endfor", "else"}));
    --loop_depth_;
    if (finish_tag() == "else") {
      expect_block_end();
      s->else_body = parse_body({"endfor"});
      finish_tag();
    }
    expect_block_end();
    return s;
  }

  StmtPtr parse_set(std::size_t offset) {
    auto s = std::make_unique<Stmt>(StmtKind::Set, offset);
    s->target = parse_target(true);
    if (skip_op("=")) {
      s->expr = parse_tuple(true);
      expect_block_end();
      return s;
    }
    if (s->target.is_tuple) fail("expected '='");
    if (is_op("|")) s->filter = parse_filters(nullptr);
    expect_block_end();
    s->bodies.push_back(parse_body({"endset"}));
    finish_tag();
    expect_block_end();
    return s;
  }

  std::vector<Param> parse_params() {
    std::vector<Param> params;
    expect_op("(");
    while (!is_op(")")) {
      if (!params.empty()) expect_op(",");
      if (is_op(")")) break;
      Param p;
      p.name = expect_identifier();
      if (skip_op("=")) p.default_value = parse_expression(true);
      else if (!params.empty() && params.back().default_value) fail("non-default argument follows default argument");
      params.push_back(std::move(p));
    }
    advance();
    return params;
  }

  StmtPtr parse_macro(std::size_t offset) {
    auto s = std::make_unique<Stmt>(StmtKind::Macro, offset);
    s->text = expect_identifier();
    s->params = parse_params();
    expect_block_end();
    const int saved_loops = std::exchange(loop_depth_, 0);
    s->bodies.push_back(parse_body({"endmacro"}));
    loop_depth_ = saved_loops;
    finish_tag();
    expect_block_end();
    return s;
  }

  StmtPtr parse_call_block(std::size_t offset) {
    auto s = std::make_unique<Stmt>(StmtKind::CallBlock, offset);
    if (is_op("(")) s->params = parse_params();
    s->expr = parse_expression(true);
    if (s->expr->kind != ExprKind::Call) fail("expected a call after 'call'");
    expect_block_end();
    const int saved_loops = std::exchange(loop_depth_, 0);
    s->bodies.push_back(parse_body({"endcall"}));
    loop_depth_ = saved_loops;
    finish_tag();
    expect_block_end();
    return s;
  }

  StmtPtr parse_filter_block(std::size_t offset) {
    auto s = std::make_unique<Stmt>(StmtKind::FilterBlock, offset);
    s->filter = parse_filters(nullptr, false);
    expect_block_end();
    s->bodies.push_back(parse_body({"endfilter"}));
    finish_tag();
    expect_block_end();
    return s;
  }

  StmtPtr parse_with(std::size_t offset) {
    auto s = std::make_unique<Stmt>(StmtKind::With, offset);
    while (cur().type != TokenType::BlockEnd) {
      if (!s->assignments.empty()) expect_op(",");
      Target target = parse_target(false);
      expect_op("=");
      s->assignments.emplace_back(std::move(target), parse_expression(true));
    }
    expect_block_end();
    s->bodies.push_back(parse_body({"endwith"}));
    finish_tag();
    expect_block_end();
    return s;
  }

  // transformers' {% generation %} marks assistant text; it renders its body in its own scope.
  StmtPtr parse_generation(std::size_t offset) {
    auto s = std::make_unique<Stmt>(StmtKind::With, offset);
    expect_block_end();
    s->bodies.push_back(parse_body({"endgeneration"}));
    finish_tag();
    expect_block_end();
    return s;
  }

  Target parse_target(bool allow_namespace) {
    Target target;
    const bool parenthesized = skip_op("(");
    target.names.push_back(expect_identifier());
    if (allow_namespace && !parenthesized && skip_op(".")) {
      target.attribute = expect_identifier();
      return target;
    }
    while (skip_op(",")) {
      target.is_tuple = true;
      if (cur().type != TokenType::Name) break;  // trailing comma
      target.names.push_back(expect_identifier());
    }
    if (parenthesized) {
      expect_op(")");
      target.is_tuple = true;
    }
    for (const std::string& n : target.names)
      if (n == "true" || n == "false" || n == "none" || n == "True" || n == "False" || n == "None")
        fail("cannot assign to '" + n + "'");
    return target;
  }

  // ---- expressions ----

  ExprPtr make(ExprKind kind, std::size_t offset) { return std::make_unique<Expr>(kind, offset); }

  bool at_expression_end() const {
    const Token& t = cur();
    return t.type == TokenType::VariableEnd || t.type == TokenType::BlockEnd || t.type == TokenType::End ||
           (t.type == TokenType::Operator && (t.text == ")" || t.text == "]" || t.text == "}" || t.text == "=")) ||
           (t.type == TokenType::Name && (t.text == "if" || t.text == "in" || t.text == "recursive"));
  }

  // An expression, or a tuple if commas follow (`a, b`).
  ExprPtr parse_tuple(bool with_conditional) {
    const std::size_t offset = cur().offset;
    ExprPtr first = parse_expression(with_conditional);
    if (!is_op(",")) return first;
    auto tuple = make(ExprKind::Tuple, offset);
    tuple->items.push_back(std::move(first));
    while (skip_op(",")) {
      if (at_expression_end()) break;
      tuple->items.push_back(parse_expression(with_conditional));
    }
    return tuple;
  }

  ExprPtr parse_expression(bool with_conditional) {
    DepthGuard guard(*this);
    return with_conditional ? parse_conditional() : parse_or();
  }

  ExprPtr parse_conditional() {
    ExprPtr expr = parse_or();
    while (is_name("if")) {
      const std::size_t offset = cur().offset;
      advance();
      auto cond = make(ExprKind::Conditional, offset);
      cond->key = parse_or();
      if (skip_name("else")) cond->otherwise = parse_conditional();
      cond->operand = std::move(expr);
      expr = std::move(cond);
    }
    return expr;
  }

  ExprPtr binary(const std::string& op, ExprPtr left, ExprPtr right, std::size_t offset) {
    auto e = make(ExprKind::Binary, offset);
    e->name = op;
    e->operand = std::move(left);
    e->key = std::move(right);
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
      const std::size_t offset = cur().offset;
      advance();
      left = binary("or", std::move(left), parse_and(), offset);
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
      const std::size_t offset = cur().offset;
      advance();
      left = binary("and", std::move(left), parse_not(), offset);
    }
    return left;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard guard(*this);
      auto e = make(ExprKind::Unary, cur().offset);
      advance();
      e->name = "not";
      e->operand = parse_not();
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const std::size_t offset = cur().offset;
    ExprPtr left = parse_math1();
    std::vector<std::pair<std::string, ExprPtr>> ops;
    while (true) {
      std::string op;
      if (cur().type == TokenType::Operator &&
          (cur().text == "==" || cur().text == "!=" || cur().text == "<" || cur().text == ">" || cur().text == "<=" ||
           cur().text == ">=")) {
        op = cur().text;
        advance();
      } else if (is_name("in")) {
        op = "in";
        advance();
      } else if (is_name("not") && peek().type == TokenType::Name && peek().text == "in") {
        op = "not in";
        advance();
        advance();
      } else {
        break;
      }
      ops.emplace_back(op, parse_math1());
    }
    if (ops.empty()) return left;
    auto e = make(ExprKind::Compare, offset);
    e->operand = std::move(left);
    e->comparisons = std::move(ops);
    return e;
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      const std::string op = cur().text;
      const std::size_t offset = cur().offset;
      advance();
      left = binary(op, std::move(left), parse_concat(), offset);
    }
    return left;
  }

  ExprPtr parse_concat() {
    ExprPtr left = parse_math2();
    while (is_op("~")) {
      const std::size_t offset = cur().offset;
      advance();
      left = binary("~", std::move(left), parse_math2(), offset);
    }
    return left;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const std::string op = cur().text;
      const std::size_t offset = cur().offset;
      advance();
      left = binary(op, std::move(left), parse_pow(), offset);
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (is_op("**")) {
      const std::size_t offset = cur().offset;
      advance();
      left = binary("**", std::move(left), parse_unary(true), offset);
    }
    return left;
  }

  // jinja2: a unary sign binds to the bare operand; filters and tests then apply to the result.
  ExprPtr parse_unary(bool with_filter) {
    DepthGuard guard(*this);
    ExprPtr node;
    if (is_op("-") || is_op("+")) {
      node = make(ExprKind::Unary, cur().offset);
      node->name = cur().text;
      advance();
      node->operand = parse_unary(false);
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    const Token& t = cur();
    const std::size_t offset = t.offset;
    if (t.type == TokenType::Name) {
      auto e = make(ExprKind::Literal, offset);
      if (t.text == "true" || t.text == "True") e->value = Value(true);
      else if (t.text == "false" || t.text == "False") e->value = Value(false);
      else if (t.text == "none" || t.text == "None") e->value = Value(nullptr);
      else {
        e->kind = ExprKind::Name;
        e->name = t.text;
      }
      advance();
      return e;
    }
    if (t.type == TokenType::String) {
      std::string text;
      while (cur().type == TokenType::String) {  // adjacent literals concatenate
        text += cur().text;
        advance();
      }
      auto e = make(ExprKind::Literal, offset);
      e->value = Value(std::move(text));
      return e;
    }
    if (t.type == TokenType::Integer || t.type == TokenType::Float) {
      auto e = make(ExprKind::Literal, offset);
      e->value = t.type == TokenType::Integer ? Value(t.integer) : Value(t.number);
      advance();
      return e;
    }
    if (skip_op("(")) {
      if (skip_op(")")) return make(ExprKind::Tuple, offset);
      ExprPtr inner = parse_tuple(true);
      if (inner->kind != ExprKind::Tuple && is_op(")")) {
        advance();
        return inner;
      }
      expect_op(")");
      return inner;
    }
    if (skip_op("[")) {
      auto e = make(ExprKind::List, offset);
      while (!is_op("]")) {
        if (!e->items.empty()) expect_op(",");
        if (is_op("]")) break;
        e->items.push_back(parse_expression(true));
      }
      advance();
      return e;
    }
    if (skip_op("{")) {
      auto e = make(ExprKind::Dict, offset);
      while (!is_op("}")) {
        if (!e->items.empty()) expect_op(",");
        if (is_op("}")) break;
        e->keys.push_back(parse_expression(true));
        expect_op(":");
        e->items.push_back(parse_expression(true));
      }
      advance();
      return e;
    }
    fail("unexpected " + describe(t));
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      const std::size_t offset = cur().offset;
      if (skip_op(".")) {
        if (cur().type == TokenType::Integer) {
          auto e = make(ExprKind::Item, offset);
          e->key = make(ExprKind::Literal, offset);
          e->key->value = Value(cur().integer);
          advance();
          e->operand = std::move(node);
          node = std::move(e);
        } else {
          auto e = make(ExprKind::Attribute, offset);
          e->name = expect_identifier();
          e->operand = std::move(node);
          node = std::move(e);
        }
      } else if (skip_op("[")) {
        node = parse_subscript(std::move(node), offset);
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr object, std::size_t offset) {
    DepthGuard guard(*this);
    ExprPtr parts[3];
    int colons = 0;
    while (!is_op("]")) {
      if (skip_op(":")) {
        if (++colons > 2) fail("invalid slice");
        continue;
      }
      if (parts[colons]) fail("expected ']' or ':'");
      parts[colons] = parse_expression(true);
      if (colons == 0 && is_op(",")) fail("tuple subscripts are not supported");
    }
    advance();
    if (colons == 0) {
      if (!parts[0]) fail("expected a subscript");
      auto e = make(ExprKind::Item, offset);
      e->operand = std::move(object);
      e->key = std::move(parts[0]);
      return e;
    }
    auto e = make(ExprKind::Slice, offset);
    e->operand = std::move(object);
    e->start = std::move(parts[0]);
    e->stop = std::move(parts[1]);
    e->step = std::move(parts[2]);
    return e;
  }

  CallArgs parse_args() {
    CallArgs args;
    expect_op("(");
    while (!is_op(")")) {
      if (!args.positional.empty() || !args.keyword.empty()) expect_op(",");
      if (is_op(")")) break;
      if (is_op("*") || is_op("**")) fail("*args and **kwargs in calls are not supported");
      if (cur().type == TokenType::Name && peek().type == TokenType::Operator && peek().text == "=") {
        std::string name = cur().text;
        advance();
        advance();
        args.keyword.emplace_back(std::move(name), parse_expression(true));
      } else {
        if (!args.keyword.empty()) fail("positional argument follows keyword argument");
        args.positional.push_back(parse_expression(true));
      }
    }
    advance();
    return args;
  }

  ExprPtr parse_call(ExprPtr callee) {
    auto e = make(ExprKind::Call, cur().offset);
    e->args = parse_args();
    e->operand = std::move(callee);
    return e;
  }

  std::string parse_dotted_name() {
    std::string name = expect_identifier();
    while (is_op(".") && peek().type == TokenType::Name) {
      advance();
      name += "." + expect_identifier();
    }
    return name;
  }

  // `| name(args)` chains; `operand` null for {% filter %} / {% set x | f %} blocks.
  ExprPtr parse_filters(ExprPtr operand, bool leading_pipe = true) {
    bool first = true;
    while ((first && !leading_pipe) || skip_op("|")) {
      first = false;
      auto e = make(ExprKind::Filter, cur().offset);
      e->name = parse_dotted_name();
      if (is_op("(")) e->args = parse_args();
      e->operand = std::move(operand);
      operand = std::move(e);
      if (!leading_pipe && !is_op("|")) break;
    }
    return operand;
  }

  ExprPtr parse_filter_expr(ExprPtr node) {
    while (true) {
      if (is_op("|")) {
        node = parse_filters(std::move(node));
      } else if (is_name("is")) {
        node = parse_test(std::move(node));
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_test(ExprPtr operand) {
    auto e = make(ExprKind::Test, cur().offset);
    advance();  // 'is'
    e->negated = skip_name("not");
    e->name = parse_dotted_name();
    const Token& t = cur();
    if (is_op("(")) {
      e->args = parse_args();
    } else if ((t.type == TokenType::Name || t.type == TokenType::String || t.type == TokenType::Integer ||
                t.type == TokenType::Float || is_op("[") || is_op("{")) &&
               !(t.type == TokenType::Name && (t.text == "else" || t.text == "or" || t.text == "and"))) {
      if (is_name("is")) fail("you cannot chain multiple tests with is");
      e->args.positional.push_back(parse_postfix(parse_primary()));
    }
    e->operand = std::move(operand);
    return e;
  }

  std::string_view src_;
  const std::vector<Token>& toks_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

Body parse(const LexedTemplate& lexed) { return Parser(lexed).parse_template(); }

}  // namespace orchard::jinja
