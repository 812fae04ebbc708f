#include "chat/jinja/operators.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "chat/jinja/format.h"
#include "chat/jinja/interpreter.h"
#include "chat/jinja/pystr.h"
#include "core/error.h"

namespace orchard::jinja {

namespace {

[[noreturn]] void unsupported(const std::string& op, const Value& a, const Value& b) {
  throw Error("unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" + b.type_name() + "'");
}

bool integral(const Value& v) { return v.is_int() || v.is_bool(); }

[[noreturn]] void overflow() { throw Error("integer overflow (the result does not fit in 64 bits)"); }

std::int64_t add(std::int64_t x, std::int64_t y) {
  std::int64_t r;
  if (__builtin_add_overflow(x, y, &r)) overflow();
  return r;
}
std::int64_t subtract(std::int64_t x, std::int64_t y) {
  std::int64_t r;
  if (__builtin_sub_overflow(x, y, &r)) overflow();
  return r;
}
std::int64_t multiply(std::int64_t x, std::int64_t y) {
  std::int64_t r;
  if (__builtin_mul_overflow(x, y, &r)) overflow();
  return r;
}

double floor_mod(double a, double b) {
  double m = std::fmod(a, b);
  if (m != 0 && ((m < 0) != (b < 0))) m += b;
  return m;
}

Value repeat(const Interpreter& interp, const Value& seq, std::int64_t times) {
  times = std::max<std::int64_t>(times, 0);
  if (seq.is_string()) {
    const std::string& s = seq.as_string();
    if (!s.empty()) interp.check_length(times > INT32_MAX ? SIZE_MAX : s.size() * static_cast<std::size_t>(times));
    std::string out;
    for (std::int64_t i = 0; i < times && !s.empty(); ++i) out += s;
    return Value(std::move(out));
  }
  const auto& items = seq.as_list()->items;
  if (!items.empty()) interp.check_items(times > INT32_MAX ? SIZE_MAX : items.size() * static_cast<std::size_t>(times));
  std::vector<Value> out;
  for (std::int64_t i = 0; i < times && !items.empty(); ++i) out.insert(out.end(), items.begin(), items.end());
  return Value::list(std::move(out), seq.as_list()->is_tuple);
}

// CPython's float floor division: derived from fmod so that a == b * (a // b) + a % b.
double floor_divide(double a, double b) {
  const double mod = std::fmod(a, b);
  double div = (a - mod) / b;
  if (mod != 0 && ((b < 0) != (mod < 0))) div -= 1.0;
  if (div == 0) return std::copysign(0.0, a / b);
  double floored = std::floor(div);
  if (div - floored > 0.5) floored += 1.0;
  return floored;
}

Value power(const Value& a, const Value& b) {
  if (integral(a) && integral(b) && b.integer() >= 0) {
    std::int64_t base = a.integer(), exp = b.integer(), result = 1;
    while (exp > 0) {
      if (exp & 1) result = multiply(result, base);
      exp >>= 1;
      if (exp > 0) base = multiply(base, base);
    }
    return Value(result);
  }
  if (a.number() == 0.0 && b.number() < 0) throw Error("zero cannot be raised to a negative power");
  const double r = std::pow(a.number(), b.number());
  if (std::isnan(r) && !std::isnan(a.number()) && !std::isnan(b.number()))
    throw Error("negative number cannot be raised to a fractional power");
  return Value(r);
}

}  // namespace

Value binary_operator(const Interpreter& interp, const std::string& op, const Value& a, const Value& b) {
  if (op == "~") return Value(interp.check_size(to_str(a) + to_str(b)));
  a.require_defined();
  b.require_defined();
  if (a.is_number() && b.is_number()) {
    const bool ints = integral(a) && integral(b);
    const std::int64_t x = ints ? a.integer() : 0, y = ints ? b.integer() : 0;
    if (op == "+") return ints ? Value(add(x, y)) : Value(a.number() + b.number());
    if (op == "-") return ints ? Value(subtract(x, y)) : Value(a.number() - b.number());
    if (op == "*") return ints ? Value(multiply(x, y)) : Value(a.number() * b.number());
    if (op == "**") return power(a, b);
    if (ints ? y == 0 : b.number() == 0.0) {
      if (op == "/") throw Error("division by zero");
      if (op == "//") throw Error(ints ? "integer division or modulo by zero" : "float floor division by zero");
      throw Error(ints ? "integer modulo by zero" : "float modulo");
    }
    if (op == "/") return Value(a.number() / b.number());
    if (op == "//") {
      if (ints) {
        if (x == INT64_MIN && y == -1) overflow();
        std::int64_t q = x / y;
        if ((x % y != 0) && ((x < 0) != (y < 0))) --q;
        return Value(q);
      }
      return Value(floor_divide(a.number(), b.number()));
    }
    if (op == "%") {
      if (ints) {
        if (y == -1) return Value(std::int64_t{0});
        std::int64_t m = x % y;
        if (m != 0 && ((m < 0) != (y < 0))) m += y;
        return Value(m);
      }
      return Value(floor_mod(a.number(), b.number()));
    }
  }
  if (op == "+") {
    if (a.is_string() && b.is_string()) return Value(interp.check_size(a.as_string() + b.as_string()));
    if (a.is_sequence() && b.is_sequence() && a.as_list()->is_tuple == b.as_list()->is_tuple) {
      std::vector<Value> items = a.as_list()->items;
      interp.check_items(items.size() + b.as_list()->items.size());
      items.insert(items.end(), b.as_list()->items.begin(), b.as_list()->items.end());
      return Value::list(std::move(items), a.as_list()->is_tuple);
    }
    if (a.is_string() || a.is_sequence())
      throw Error("can only concatenate " + a.type_name() + " (not \"" + b.type_name() + "\") to " + a.type_name());
  }
  if (op == "*") {
    if ((a.is_string() || a.is_sequence()) && integral(b)) return repeat(interp, a, b.integer());
    if (integral(a) && (b.is_string() || b.is_sequence())) return repeat(interp, b, a.integer());
  }
  if (op == "%" && a.is_string()) return Value(interp.check_size(printf_format(a.as_string(), b)));
  unsupported(op == "**" ? "** or pow()" : op, a, b);
}

Value negate(const Value& v, bool minus) {
  v.require_defined();
  if (!v.is_number()) throw Error(std::string("bad operand type for unary ") + (minus ? "-" : "+") + ": '" + v.type_name() + "'");
  if (v.is_float()) return Value(minus ? -v.as_float() : v.as_float());
  if (minus && v.integer() == INT64_MIN) overflow();
  return Value(minus ? -v.integer() : v.integer());
}

bool contains(const Value& haystack, const Value& needle) {
  if (haystack.is_string()) {
    if (!needle.is_string())
      throw Error("'in <string>' requires string as left operand, not " + needle.type_name());
    return haystack.as_string().find(needle.as_string()) != std::string::npos;
  }
  if (haystack.is_mapping()) return haystack.as_dict()->find(needle) != nullptr;
  if (haystack.is_sequence()) {
    for (const Value& item : haystack.as_list()->items)
      if (equals(item, needle)) return true;
    return false;
  }
  if (haystack.is_undefined()) return false;  // Undefined iterates as empty
  throw Error("argument of type '" + haystack.type_name() + "' is not iterable");
}

std::vector<Value> iterate(const Value& v) {
  if (v.is_undefined()) return {};
  if (v.is_sequence()) return v.as_list()->items;
  if (v.is_mapping()) {
    std::vector<Value> keys;
    for (const auto& [k, val] : v.as_dict()->entries) keys.push_back(k);
    return keys;
  }
  if (v.is_string()) {
    std::vector<Value> chars;
    const std::string& s = v.as_string();
    const std::vector<std::size_t> offsets = pystr::char_offsets(s);
    for (std::size_t i = 0; i + 1 < offsets.size(); ++i) chars.emplace_back(s.substr(offsets[i], offsets[i + 1] - offsets[i]));
    return chars;
  }
  throw Error("'" + v.type_name() + "' object is not iterable");
}

}  // namespace orchard::jinja
