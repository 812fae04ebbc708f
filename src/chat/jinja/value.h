#pragma once
// The values a chat template computes with, modelled on the Python objects jinja2 sees:
// Undefined, None, bool, int, float, str, list, tuple, dict (insertion ordered), jinja2's
// Namespace, and callables (macros, globals, bound methods). Containers are shared by
// reference like Python objects; only namespaces are ever mutated (the sandbox forbids the rest).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace orchard::jinja {

class Value;

// What jinja2's default Undefined carries: the message it raises when used in a way that
// needs a real value (arithmetic, attribute access, calls), e.g. "'x' is undefined".
struct Undefined {
  std::string message;
};

struct Sequence {
  std::vector<Value> items;
  bool is_tuple = false;
};

// Insertion-ordered mapping (Python dict semantics). Keys are values compared with ==.
struct Mapping {
  enum class Flavor { Dict, Namespace, Loop };
  std::vector<std::pair<Value, Value>> entries;
  Flavor flavor = Flavor::Dict;

  const Value* find(const Value& key) const;
  const Value* find(const std::string& key) const;
  void set(Value key, Value value);  // replaces in place or appends, like dict[key] = value
};

struct Arguments {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

struct Function {
  std::string name;  // for messages and repr
  std::function<Value(Arguments&)> call;
};

class Value {
 public:
  using List = std::shared_ptr<Sequence>;
  using Dict = std::shared_ptr<Mapping>;
  using Callable = std::shared_ptr<Function>;

  Value() : data_(Undefined{}) {}
  Value(Undefined u) : data_(std::move(u)) {}
  Value(std::nullptr_t) : data_(nullptr) {}
  Value(bool b) : data_(b) {}
  Value(int i) : data_(std::int64_t{i}) {}
  Value(std::int64_t i) : data_(i) {}
  Value(double d) : data_(d) {}
  Value(std::string s) : data_(std::move(s)) {}
  Value(const char* s) : data_(std::string(s)) {}
  Value(List l) : data_(std::move(l)) {}
  Value(Dict d) : data_(std::move(d)) {}
  Value(Callable f) : data_(std::move(f)) {}

  static Value undefined(std::string message) { return Value(Undefined{std::move(message)}); }
  static Value list(std::vector<Value> items = {}, bool tuple = false);
  static Value dict(Mapping::Flavor flavor = Mapping::Flavor::Dict);
  static Value function(std::string name, std::function<Value(Arguments&)> call);

  bool is_undefined() const { return std::holds_alternative<Undefined>(data_); }
  bool is_none() const { return std::holds_alternative<std::nullptr_t>(data_); }
  bool is_bool() const { return std::holds_alternative<bool>(data_); }
  bool is_int() const { return std::holds_alternative<std::int64_t>(data_); }
  bool is_float() const { return std::holds_alternative<double>(data_); }
  bool is_number() const { return is_bool() || is_int() || is_float(); }  // Python: bool is an int
  bool is_string() const { return std::holds_alternative<std::string>(data_); }
  bool is_sequence() const { return std::holds_alternative<List>(data_); }  // list or tuple
  bool is_mapping() const;  // dict only (a Namespace is not a Mapping in Python)
  bool is_namespace() const;
  bool is_dict_like() const { return std::holds_alternative<Dict>(data_); }
  bool is_callable() const { return std::holds_alternative<Callable>(data_); }

  const std::string& undefined_message() const { return std::get<Undefined>(data_).message; }
  bool as_bool() const { return std::get<bool>(data_); }
  std::int64_t as_int() const { return std::get<std::int64_t>(data_); }
  double as_float() const { return std::get<double>(data_); }
  const std::string& as_string() const { return std::get<std::string>(data_); }
  const List& as_list() const { return std::get<List>(data_); }
  const Dict& as_dict() const { return std::get<Dict>(data_); }
  const Callable& as_callable() const { return std::get<Callable>(data_); }

  // bool/int as an integer (Python treats True as 1); requires is_bool() || is_int().
  std::int64_t integer() const { return is_bool() ? (as_bool() ? 1 : 0) : as_int(); }
  // Any number as a double; requires is_number().
  double number() const { return is_float() ? as_float() : static_cast<double>(integer()); }

  // Python's bool(x). Undefined is false.
  bool truthy() const;
  // Python's type(x).__name__, for messages.
  std::string type_name() const;
  // Throws the UndefinedError this value stands for, if it is undefined.
  void require_defined() const;

 private:
  std::variant<Undefined, std::nullptr_t, bool, std::int64_t, double, std::string, List, Dict, Callable> data_;
};

// Python ==, with numbers compared across bool/int/float and containers compared deeply.
bool equals(const Value& a, const Value& b);
// Python's <, > etc. for numbers, strings and sequences; throws orchard::Error otherwise.
int compare(const Value& a, const Value& b, const char* op);

// Python repr() and str() of the value (str of Undefined is "").
std::string repr(const Value& v);
std::string to_str(const Value& v);
// Python's float repr: shortest round-trip digits, "1.0", "1e+16", "inf", "nan".
std::string format_float(double d);

// jinja2's object_type_repr: "dict object", "None", used in undefined messages.
std::string object_type_repr(const Value& v);
// The Undefined that `obj.name` / `obj[key]` yields when missing.
Value missing_attribute(const Value& obj, const Value& name);

}  // namespace orchard::jinja
