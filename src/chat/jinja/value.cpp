#include "chat/jinja/value.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "chat/jinja/pystr.h"
#include "core/error.h"

namespace orchard::jinja {

const Value* Mapping::find(const Value& key) const {
  for (const auto& [k, v] : entries)
    if (equals(k, key)) return &v;
  return nullptr;
}

const Value* Mapping::find(const std::string& key) const {
  for (const auto& [k, v] : entries)
    if (k.is_string() && k.as_string() == key) return &v;
  return nullptr;
}

void Mapping::set(Value key, Value value) {
  for (auto& [k, v] : entries) {
    if (equals(k, key)) {
      v = std::move(value);
      return;
    }
  }
  entries.emplace_back(std::move(key), std::move(value));
}

Value Value::list(std::vector<Value> items, bool tuple) {
  auto seq = std::make_shared<Sequence>();
  seq->items = std::move(items);
  seq->is_tuple = tuple;
  return Value(std::move(seq));
}

Value Value::dict(Mapping::Flavor flavor) {
  auto map = std::make_shared<Mapping>();
  map->flavor = flavor;
  return Value(std::move(map));
}

Value Value::function(std::string name, std::function<Value(Arguments&)> call) {
  return Value(std::make_shared<Function>(Function{std::move(name), std::move(call)}));
}

bool Value::is_mapping() const { return is_dict_like() && as_dict()->flavor == Mapping::Flavor::Dict; }
bool Value::is_namespace() const { return is_dict_like() && as_dict()->flavor == Mapping::Flavor::Namespace; }

bool Value::truthy() const {
  if (is_undefined() || is_none()) return false;
  if (is_bool()) return as_bool();
  if (is_int()) return as_int() != 0;
  if (is_float()) return as_float() != 0.0;
  if (is_string()) return !as_string().empty();
  if (is_sequence()) return !as_list()->items.empty();
  if (is_mapping()) return !as_dict()->entries.empty();
  return true;  // namespaces, loop objects and callables are always true
}

std::string Value::type_name() const {
  if (is_undefined()) return "Undefined";
  if (is_none()) return "NoneType";
  if (is_bool()) return "bool";
  if (is_int()) return "int";
  if (is_float()) return "float";
  if (is_string()) return "str";
  if (is_sequence()) return as_list()->is_tuple ? "tuple" : "list";
  if (is_dict_like()) {
    switch (as_dict()->flavor) {
      case Mapping::Flavor::Dict: return "dict";
      case Mapping::Flavor::Namespace: return "Namespace";
      case Mapping::Flavor::Loop: return "LoopContext";
    }
  }
  return "function";
}

void Value::require_defined() const {
  if (is_undefined()) throw Error(undefined_message());
}

bool equals(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.number() == b.number();
    return a.integer() == b.integer();
  }
  if (a.is_undefined() || b.is_undefined()) return a.is_undefined() && b.is_undefined();
  if (a.is_none() || b.is_none()) return a.is_none() && b.is_none();
  if (a.is_string() && b.is_string()) return a.as_string() == b.as_string();
  if (a.is_sequence() && b.is_sequence()) {
    const Sequence& x = *a.as_list();
    const Sequence& y = *b.as_list();
    if (x.is_tuple != y.is_tuple || x.items.size() != y.items.size()) return false;
    for (std::size_t i = 0; i < x.items.size(); ++i)
      if (!equals(x.items[i], y.items[i])) return false;
    return true;
  }
  if (a.is_mapping() && b.is_mapping()) {
    const Mapping& x = *a.as_dict();
    const Mapping& y = *b.as_dict();
    if (x.entries.size() != y.entries.size()) return false;
    for (const auto& [k, v] : x.entries) {
      const Value* other = y.find(k);
      if (!other || !equals(v, *other)) return false;
    }
    return true;
  }
  if (a.is_dict_like() && b.is_dict_like()) return a.as_dict() == b.as_dict();
  if (a.is_callable() && b.is_callable()) return a.as_callable() == b.as_callable();
  return false;
}

int compare(const Value& a, const Value& b, const char* op) {
  a.require_defined();
  b.require_defined();
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) {
      const double x = a.number(), y = b.number();
      return x < y ? -1 : x > y ? 1 : 0;
    }
    const std::int64_t x = a.integer(), y = b.integer();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) {
    // Byte order of UTF-8 equals code point order, which is how Python compares str.
    const int c = a.as_string().compare(b.as_string());
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if (a.is_sequence() && b.is_sequence() && a.as_list()->is_tuple == b.as_list()->is_tuple) {
    const auto& x = a.as_list()->items;
    const auto& y = b.as_list()->items;
    for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!equals(x[i], y[i])) return compare(x[i], y[i], op);
    }
    return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
  }
  throw Error(std::string("'") + op + "' not supported between instances of '" + a.type_name() + "' and '" +
              b.type_name() + "'");
}

std::string format_float(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  // Shortest round-trip digits, then laid out the way Python's float.__repr__ does:
  // positional for decimal exponents in [-4, 16), scientific otherwise.
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, result.ptr);
  const std::size_t e = sci.find('e');
  std::string mantissa = sci.substr(0, e);
  const int exponent = std::stoi(sci.substr(e + 1));
  std::string sign;
  if (mantissa[0] == '-') {
    sign = "-";
    mantissa.erase(0, 1);
  }
  std::string digits;
  for (char c : mantissa)
    if (c != '.') digits += c;
  if (exponent < -4 || exponent >= 16) {
    std::string out = sign + digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char exp[16];
    std::snprintf(exp, sizeof exp, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    return out + exp;
  }
  if (exponent < 0) return sign + "0." + std::string(-exponent - 1, '0') + digits;
  const std::size_t int_digits = static_cast<std::size_t>(exponent) + 1;
  if (digits.size() <= int_digits) return sign + digits + std::string(int_digits - digits.size(), '0') + ".0";
  return sign + digits.substr(0, int_digits) + "." + digits.substr(int_digits);
}

std::string repr(const Value& v) {
  if (v.is_undefined()) return "Undefined";
  if (v.is_none()) return "None";
  if (v.is_bool()) return v.as_bool() ? "True" : "False";
  if (v.is_int()) return std::to_string(v.as_int());
  if (v.is_float()) return format_float(v.as_float());
  if (v.is_string()) return pystr::quote(v.as_string());
  if (v.is_sequence()) {
    const Sequence& seq = *v.as_list();
    std::string out = seq.is_tuple ? "(" : "[";
    for (std::size_t i = 0; i < seq.items.size(); ++i) {
      if (i) out += ", ";
      out += repr(seq.items[i]);
    }
    if (seq.is_tuple && seq.items.size() == 1) out += ",";
    return out + (seq.is_tuple ? ")" : "]");
  }
  if (v.is_dict_like()) {
    const Mapping& map = *v.as_dict();
    std::string out = "{";
    bool first = true;
    for (const auto& [k, val] : map.entries) {
      if (!first) out += ", ";
      first = false;
      out += repr(k) + ": " + repr(val);
    }
    out += "}";
    if (map.flavor == Mapping::Flavor::Namespace) return "<Namespace " + out + ">";
    if (map.flavor == Mapping::Flavor::Loop) return "<LoopContext>";
    return out;
  }
  return "<function " + v.as_callable()->name + ">";
}

std::string to_str(const Value& v) {
  if (v.is_undefined()) return "";
  if (v.is_string()) return v.as_string();
  return repr(v);
}

std::string object_type_repr(const Value& v) {
  if (v.is_none()) return "None";
  if (v.is_namespace()) return "jinja2.utils.Namespace object";
  if (v.is_dict_like() && v.as_dict()->flavor == Mapping::Flavor::Loop) return "jinja2.runtime.LoopContext object";
  return v.type_name() + " object";
}

Value missing_attribute(const Value& obj, const Value& name) {
  if (name.is_string()) return Value::undefined(pystr::quote(object_type_repr(obj)) + " has no attribute " + repr(name));
  return Value::undefined(object_type_repr(obj) + " has no element " + repr(name));
}

}  // namespace orchard::jinja
