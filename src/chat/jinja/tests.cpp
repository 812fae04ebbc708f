// jinja2's built-in tests (`x is defined`, `x is divisibleby 3`, ...).
#include <unordered_map>

#include "chat/jinja/args.h"
#include "chat/jinja/filters.h"
#include "chat/jinja/interpreter.h"
#include "chat/jinja/operators.h"
#include "chat/jinja/pystr.h"

namespace orchard::jinja {

namespace {

bool no_args(const char* name, Arguments& args) {
  BoundArgs(name, args, {});
  return true;
}

Value other(const char* name, Arguments& args) { return BoundArgs(name, args, {{"other", std::nullopt}})[0]; }

bool is_odd_or_even(const Interpreter& interp, const Value& v, bool odd) {
  return equals(binary_operator(interp, "%", v, Value(2)), Value(odd ? 1 : 0));
}

const std::unordered_map<std::string, TestFunction>& tests() {
  static const std::unordered_map<std::string, TestFunction> table = [] {
    std::unordered_map<std::string, TestFunction> t;
    t["defined"] = [](Interpreter&, const Value& v, Arguments& a) { return no_args("defined", a) && !v.is_undefined(); };
    t["undefined"] = [](Interpreter&, const Value& v, Arguments& a) { return no_args("undefined", a) && v.is_undefined(); };
    t["none"] = [](Interpreter&, const Value& v, Arguments& a) { return no_args("none", a) && v.is_none(); };
    t["boolean"] = [](Interpreter&, const Value& v, Arguments& a) { return no_args("boolean", a) && v.is_bool(); };
    t["true"] = [](Interpreter&, const Value& v, Arguments& a) { return no_args("true", a) && v.is_bool() && v.as_bool(); };
    t["false"] = [](Interpreter&, const Value& v, Arguments& a) { return no_args("false", a) && v.is_bool() && !v.as_bool(); };
    t["integer"] = [](Interpreter&, const Value& v, Arguments& a) { return no_args("integer", a) && v.is_int(); };
    t["float"] = [](Interpreter&, const Value& v, Arguments& a) { return no_args("float", a) && v.is_float(); };
    t["number"] = [](Interpreter&, const Value& v, Arguments& a) { return no_args("number", a) && v.is_number(); };
    t["string"] = [](Interpreter&, const Value& v, Arguments& a) { return no_args("string", a) && v.is_string(); };
    t["mapping"] = [](Interpreter&, const Value& v, Arguments& a) { return no_args("mapping", a) && v.is_mapping(); };
    t["callable"] = [](Interpreter&, const Value& v, Arguments& a) { return no_args("callable", a) && v.is_callable(); };
    t["iterable"] = [](Interpreter&, const Value& v, Arguments& a) {
      return no_args("iterable", a) && (v.is_undefined() || v.is_string() || v.is_sequence() || v.is_mapping() ||
                                        (v.is_dict_like() && v.as_dict()->flavor == Mapping::Flavor::Loop));
    };
    t["sequence"] = [](Interpreter&, const Value& v, Arguments& a) {
      return no_args("sequence", a) && (v.is_string() || v.is_sequence() || v.is_mapping());
    };
    // Nothing here is Markup: autoescaping is off and |safe / |escape return plain strings.
    t["escaped"] = [](Interpreter&, const Value&, Arguments& a) { return !no_args("escaped", a); };
    t["odd"] = [](Interpreter& i, const Value& v, Arguments& a) { return no_args("odd", a) && is_odd_or_even(i, v, true); };
    t["even"] = [](Interpreter& i, const Value& v, Arguments& a) { return no_args("even", a) && is_odd_or_even(i, v, false); };
    t["divisibleby"] = [](Interpreter& i, const Value& v, Arguments& a) {
      const Value n = BoundArgs("divisibleby", a, {{"num", std::nullopt}})[0];
      return equals(binary_operator(i, "%", v, n), Value(0));
    };
    t["lower"] = [](Interpreter&, const Value& v, Arguments& a) {
      const std::string s = to_str(v);
      return no_args("lower", a) && pystr::lower(s) == s && pystr::upper(s) != s;
    };
    t["upper"] = [](Interpreter&, const Value& v, Arguments& a) {
      const std::string s = to_str(v);
      return no_args("upper", a) && pystr::upper(s) == s && pystr::lower(s) != s;
    };
    t["eq"] = [](Interpreter&, const Value& v, Arguments& a) { return equals(v, other("eq", a)); };
    t["ne"] = [](Interpreter&, const Value& v, Arguments& a) { return !equals(v, other("ne", a)); };
    t["lt"] = [](Interpreter&, const Value& v, Arguments& a) { return compare(v, other("lt", a), "<") < 0; };
    t["le"] = [](Interpreter&, const Value& v, Arguments& a) { return compare(v, other("le", a), "<=") <= 0; };
    t["gt"] = [](Interpreter&, const Value& v, Arguments& a) { return compare(v, other("gt", a), ">") > 0; };
    t["ge"] = [](Interpreter&, const Value& v, Arguments& a) { return compare(v, other("ge", a), ">=") >= 0; };
    t["in"] = [](Interpreter&, const Value& v, Arguments& a) {
      return contains(BoundArgs("in", a, {{"seq", std::nullopt}})[0], v);
    };
    t["sameas"] = [](Interpreter&, const Value& v, Arguments& a) {
      const Value o = other("sameas", a);
      if (v.is_none() || v.is_bool() || o.is_none() || o.is_bool())
        return v.is_none() == o.is_none() && v.is_bool() == o.is_bool() && equals(v, o);
      return v.type_name() == o.type_name() && equals(v, o);
    };
    t["filter"] = [](Interpreter&, const Value& v, Arguments& a) {
      return no_args("filter", a) && v.is_string() && find_filter(v.as_string()) != nullptr;
    };
    t["test"] = [](Interpreter&, const Value& v, Arguments& a) {
      return no_args("test", a) && v.is_string() && find_test(v.as_string()) != nullptr;
    };
    t["equalto"] = t["=="] = t["eq"];
    t["!="] = t["ne"];
    t["<"] = t["lessthan"] = t["lt"];
    t["<="] = t["le"];
    t[">"] = t["greaterthan"] = t["gt"];
    t[">="] = t["ge"];
    return t;
  }();
  return table;
}

}  // namespace

TestFunction find_test(const std::string& name) {
  const auto it = tests().find(name);
  return it == tests().end() ? nullptr : it->second;
}

}  // namespace orchard::jinja
