// jinja2's built-in filters (3.1 semantics) and transformers' tojson.
#include "chat/jinja/filters.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "chat/jinja/args.h"
#include "chat/jinja/format.h"
#include "chat/jinja/interpreter.h"
#include "chat/jinja/json.h"
#include "chat/jinja/methods.h"
#include "chat/jinja/operators.h"
#include "chat/jinja/pystr.h"

namespace orchard::jinja {

namespace {

using Spec = std::initializer_list<ParamSpec>;

// jinja2's make_attrgetter: "a.b.0" looks up each part as an item first, then an attribute.
Value lookup_path(const Interpreter& interp, Value v, const Value& attribute) {
  if (!attribute.is_string()) return get_item(interp, v, attribute);
  for (const std::string& part : pystr::split(attribute.as_string(), std::string("."), -1)) {
    const bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    v = get_item(interp, v, digits && part.size() < 18 ? Value(static_cast<std::int64_t>(std::stoll(part))) : Value(part));
  }
  return v;
}

// The sort/unique key jinja2 uses when case_sensitive is false.
Value fold_case(const Value& v, bool case_sensitive) {
  return !case_sensitive && v.is_string() ? Value(pystr::lower(v.as_string())) : v;
}

Value length(Interpreter&, const Value& v, Arguments& args) {
  BoundArgs("length", args, {});
  if (v.is_undefined()) return Value(0);
  if (v.is_string()) return Value(static_cast<std::int64_t>(pystr::length(v.as_string())));
  if (v.is_sequence()) return Value(static_cast<std::int64_t>(v.as_list()->items.size()));
  if (v.is_mapping()) return Value(static_cast<std::int64_t>(v.as_dict()->entries.size()));
  throw Error("object of type '" + v.type_name() + "' has no len()");
}

Value default_value(Interpreter&, const Value& v, Arguments& args) {
  BoundArgs a("default", args, {{"default_value", Value("")}, {"boolean", Value(false)}});
  if (v.is_undefined() || (a[1].truthy() && !v.truthy())) return a[0];
  return v;
}

Value trim(Interpreter&, const Value& v, Arguments& args) {
  BoundArgs a("trim", args, {{"chars", Value(nullptr)}});
  std::optional<std::string> chars;
  if (!a[0].is_none()) chars = to_str(a[0]);
  return Value(pystr::strip(to_str(v), chars, true, true));
}

Value tojson(Interpreter& interp, const Value& v, Arguments& args) {
  BoundArgs a("tojson", args,
              {{"ensure_ascii", Value(false)}, {"indent", Value(nullptr)}, {"separators", Value(nullptr)}, {"sort_keys", Value(false)}});
  JsonStyle style;
  style.ensure_ascii = a[0].truthy();
  if (a[1].is_int() || a[1].is_bool()) style.indent = std::string(static_cast<std::size_t>(std::clamp<std::int64_t>(a[1].integer(), 0, 64)), ' ');
  else if (a[1].is_string()) style.indent = a[1].as_string();
  else if (!a[1].is_none()) throw Error("tojson: indent must be an int or a string");
  if (style.indent) style.item_separator = ",";
  if (!a[2].is_none()) {
    if (!a[2].is_sequence() || a[2].as_list()->items.size() != 2 || !a[2].as_list()->items[0].is_string() ||
        !a[2].as_list()->items[1].is_string())
      throw Error("tojson: separators must be a pair of strings");
    style.item_separator = a[2].as_list()->items[0].as_string();
    style.key_separator = a[2].as_list()->items[1].as_string();
  }
  style.sort_keys = a[3].truthy();
  return Value(interp.check_size(dump_json(v, style)));
}

Value string_filter(const char* name, const Value& v, Arguments& args, std::string (*f)(std::string_view)) {
  BoundArgs(name, args, {});
  return Value(f(to_str(v)));
}

Value replace(Interpreter& interp, const Value& v, Arguments& args) {
  BoundArgs a("replace", args, {{"old", std::nullopt}, {"new", std::nullopt}, {"count", Value(nullptr)}});
  const std::int64_t count = a[2].is_none() ? -1 : integer_argument(a[2], "replace");
  return Value(interp.check_size(pystr::replace(to_str(v), to_str(a[0]), to_str(a[1]), count)));
}

Value first_or_last(const Value& v, Arguments& args, bool last) {
  BoundArgs(last ? "last" : "first", args, {});
  const std::vector<Value> items = iterate(v);
  if (items.empty()) return Value::undefined(last ? "No last item, sequence was empty." : "No first item, sequence was empty.");
  return last ? items.back() : items.front();
}

Value join(Interpreter& interp, const Value& v, Arguments& args) {
  BoundArgs a("join", args, {{"d", Value("")}, {"attribute", Value(nullptr)}});
  std::string out;
  bool first = true;
  for (const Value& item : iterate(v)) {
    if (!first) out += to_str(a[0]);
    first = false;
    out += to_str(a[1].is_none() ? item : lookup_path(interp, item, a[1]));
    interp.check_length(out.size());
  }
  return Value(std::move(out));
}

Value items(Interpreter&, const Value& v, Arguments& args) {
  BoundArgs("items", args, {});
  if (v.is_undefined()) return Value::list();
  if (!v.is_mapping()) throw Error("Can only get item pairs from a mapping.");
  std::vector<Value> out;
  for (const auto& [k, val] : v.as_dict()->entries) out.push_back(Value::list({k, val}, true));
  return Value::list(std::move(out));
}

// select/reject and selectattr/rejectattr: keep items whose (attribute) passes the test.
Value select_items(Interpreter& interp, const Value& v, Arguments& args, bool by_attribute, bool keep) {
  std::size_t first_test_arg = 0;
  Value attribute;
  if (by_attribute) {
    if (args.positional.empty()) throw Error("selectattr/rejectattr need an attribute name");
    attribute = args.positional[0];
    first_test_arg = 1;
  }
  std::string test_name;
  Arguments test_args;
  if (args.positional.size() > first_test_arg) {
    test_name = to_str(args.positional[first_test_arg]);
    test_args.positional.assign(args.positional.begin() + first_test_arg + 1, args.positional.end());
    test_args.keyword = args.keyword;
  }
  std::vector<Value> out;
  for (const Value& item : iterate(v)) {
    const Value subject = by_attribute ? lookup_path(interp, item, attribute) : item;
    Arguments call_args = test_args;
    const bool passed = test_name.empty() ? subject.truthy() : interp.test(test_name, subject, call_args);
    if (passed == keep) out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value map_items(Interpreter& interp, const Value& v, Arguments& args) {
  std::vector<Value> out;
  if (args.positional.empty()) {
    const Value* attribute = nullptr;
    const Value* fallback = nullptr;
    for (const auto& [k, val] : args.keyword) {
      if (k == "attribute") attribute = &val;
      else if (k == "default") fallback = &val;
      else throw Error("map() got an unexpected keyword argument '" + k + "'");
    }
    if (!attribute) throw Error("map() needs a filter name or attribute=");
    for (const Value& item : iterate(v)) {
      Value got = lookup_path(interp, item, *attribute);
      out.push_back(got.is_undefined() && fallback ? *fallback : got);
    }
    return Value::list(std::move(out));
  }
  const std::string name = to_str(args.positional[0]);
  Arguments rest;
  rest.positional.assign(args.positional.begin() + 1, args.positional.end());
  rest.keyword = args.keyword;
  for (const Value& item : iterate(v)) {
    Arguments call_args = rest;
    out.push_back(interp.filter(name, item, call_args));
  }
  return Value::list(std::move(out));
}

// Python's int(str, base): optional sign, digits with single underscores, surrounding space.
std::optional<std::int64_t> parse_int(const std::string& text, int base) {
  std::string s = pystr::strip(text, std::nullopt, true, true);
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.erase(0, 1);
  }
  if (s.empty() || s.front() == '_' || s.back() == '_' || s.find("__") != std::string::npos) return std::nullopt;
  std::int64_t value = 0;
  for (char c : s) {
    if (c == '_') continue;
    const int d = c >= '0' && c <= '9' ? c - '0' : (c | 32) >= 'a' && (c | 32) <= 'z' ? (c | 32) - 'a' + 10 : 99;
    if (d >= base) return std::nullopt;
    if (__builtin_mul_overflow(value, base, &value) || __builtin_add_overflow(value, d, &value)) return std::nullopt;
  }
  return negative ? -value : value;
}

// Python's float(str): decimal/scientific notation, inf/nan, underscores between digits.
std::optional<double> parse_float(const std::string& text) {
  std::string s = pystr::strip(text, std::nullopt, true, true);
  if (s.empty() || s.find("__") != std::string::npos || s.front() == '_' || s.back() == '_') return std::nullopt;
  std::string cleaned;
  for (char c : s)
    if (c != '_') cleaned += c;
  const std::string lower = pystr::lower(cleaned);
  const std::string body = !lower.empty() && (lower[0] == '+' || lower[0] == '-') ? lower.substr(1) : lower;
  if (body == "inf" || body == "infinity" || body == "nan") return std::strtod(cleaned.c_str(), nullptr);
  if (body.find_first_not_of("0123456789.e+-") != std::string::npos || body.find_first_of("0123456789") == std::string::npos)
    return std::nullopt;
  char* end = nullptr;
  const double d = std::strtod(cleaned.c_str(), &end);
  if (end != cleaned.c_str() + cleaned.size()) return std::nullopt;
  return d;
}

Value int_filter(Interpreter&, const Value& v, Arguments& args) {
  BoundArgs a("int", args, {{"default", Value(0)}, {"base", Value(10)}});
  v.require_defined();
  if (v.is_string()) {
    if (auto i = parse_int(v.as_string(), static_cast<int>(std::clamp<std::int64_t>(integer_argument(a[1], "int"), 2, 36)))) return Value(*i);
    if (auto d = parse_float(v.as_string()); d && std::isfinite(*d) && std::fabs(*d) < 9.2e18)
      return Value(static_cast<std::int64_t>(*d));
    return a[0];
  }
  if (v.is_bool() || v.is_int()) return Value(v.integer());
  if (v.is_float() && std::isfinite(v.as_float()) && std::fabs(v.as_float()) < 9.2e18)
    return Value(static_cast<std::int64_t>(v.as_float()));
  return a[0];
}

Value float_filter(Interpreter&, const Value& v, Arguments& args) {
  BoundArgs a("float", args, {{"default", Value(0.0)}});
  v.require_defined();
  if (v.is_number()) return Value(v.number());
  if (v.is_string())
    if (auto d = parse_float(v.as_string())) return Value(*d);
  return a[0];
}

Value round_filter(Interpreter&, const Value& v, Arguments& args) {
  BoundArgs a("round", args, {{"precision", Value(0)}, {"method", Value("common")}});
  const std::string method = to_str(a[1]);
  if (method != "common" && method != "ceil" && method != "floor") throw Error("method must be 'common', 'ceil' or 'floor'");
  v.require_defined();
  if (!v.is_number()) throw Error("type " + v.type_name() + " doesn't define __round__ method");
  const std::int64_t precision = std::clamp<std::int64_t>(integer_argument(a[0], "round"), -308, 340);
  if (method == "common") {
    if (!v.is_float()) return Value(v.integer());  // Python's round(int, n) stays an int
    // Python rounds the exact binary value half-to-even; printf does the same.
    if (precision < 0 || !std::isfinite(v.as_float())) {
      const double scale = std::pow(10.0, static_cast<double>(-precision));
      return Value(std::nearbyint(v.as_float() / scale) * scale);
    }
    char buf[800];  // up to 309 integer digits + 340 decimals
    std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(precision), v.as_float());
    return Value(std::strtod(buf, nullptr));
  }
  const double scale = std::pow(10.0, static_cast<double>(precision));
  const double scaled = v.number() * scale;
  return Value((method == "ceil" ? std::ceil(scaled) : std::floor(scaled)) / scale);
}

Value indent(Interpreter& interp, const Value& v, Arguments& args) {
  BoundArgs a("indent", args, {{"width", Value(4)}, {"first", Value(false)}, {"blank", Value(false)}});
  const std::string pad = a[0].is_string() ? a[0].as_string()
                                           : std::string(static_cast<std::size_t>(std::clamp<std::int64_t>(integer_argument(a[0], "indent"), 0, 1024)), ' ');
  Arguments none;
  const Value lines_value = get_attribute(interp, Value(to_str(v) + "\n"), "splitlines").as_callable()->call(none);
  const auto& lines = lines_value.as_list()->items;
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i].as_string();
    if (i > 0) out += "\n";
    if (i > 0 && (a[2].truthy() || !line.empty())) out += pad;
    out += line;
    interp.check_length(out.size());
  }
  if (a[1].truthy()) out = pad + out;
  return Value(std::move(out));
}

Value list_filter(Interpreter&, const Value& v, Arguments& args) {
  BoundArgs("list", args, {});
  return Value::list(iterate(v));
}

Value string(Interpreter&, const Value& v, Arguments& args) {
  BoundArgs("string", args, {});
  return Value(to_str(v));
}

Value escape(Interpreter& interp, const Value& v, Arguments& args) {
  BoundArgs("escape", args, {});
  std::string out;
  for (char c : to_str(v)) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return Value(interp.check_size(out));
}

Value abs_filter(Interpreter&, const Value& v, Arguments& args) {
  BoundArgs("abs", args, {});
  v.require_defined();
  if (!v.is_number()) throw Error("bad operand type for abs(): '" + v.type_name() + "'");
  if (v.is_float()) return Value(std::fabs(v.as_float()));
  if (v.integer() == INT64_MIN) throw Error("integer overflow (the result does not fit in 64 bits)");
  return Value(std::abs(v.integer()));
}

std::vector<Value> sorted(Interpreter& interp, std::vector<Value> values, bool reverse, bool case_sensitive, const Value& attribute) {
  auto key = [&](const Value& item) {
    return fold_case(attribute.is_none() ? item : lookup_path(interp, item, attribute), case_sensitive);
  };
  std::vector<std::pair<Value, Value>> keyed;
  for (Value& item : values) keyed.emplace_back(key(item), std::move(item));
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
    return reverse ? compare(y.first, x.first, "<") < 0 : compare(x.first, y.first, "<") < 0;
  });
  std::vector<Value> out;
  for (auto& kv : keyed) out.push_back(std::move(kv.second));
  return out;
}

Value sort(Interpreter& interp, const Value& v, Arguments& args) {
  BoundArgs a("sort", args, {{"reverse", Value(false)}, {"case_sensitive", Value(false)}, {"attribute", Value(nullptr)}});
  return Value::list(sorted(interp, iterate(v), a[0].truthy(), a[1].truthy(), a[2]));
}

Value dictsort(Interpreter& interp, const Value& v, Arguments& args) {
  BoundArgs a("dictsort", args, {{"case_sensitive", Value(false)}, {"by", Value("key")}, {"reverse", Value(false)}});
  if (!v.is_mapping()) throw Error("dictsort: expected a mapping, got " + v.type_name());
  const std::string by = to_str(a[1]);
  if (by != "key" && by != "value") throw Error("You can only sort by either 'key' or 'value'");
  Arguments no_args;
  Value pairs = items(interp, v, no_args);
  return Value::list(sorted(interp, pairs.as_list()->items, a[2].truthy(), a[0].truthy(), Value(by == "key" ? 0 : 1)));
}

Value unique(Interpreter& interp, const Value& v, Arguments& args) {
  BoundArgs a("unique", args, {{"case_sensitive", Value(false)}, {"attribute", Value(nullptr)}});
  std::vector<Value> seen, out;
  for (const Value& item : iterate(v)) {
    const Value key = fold_case(a[1].is_none() ? item : lookup_path(interp, item, a[1]), a[0].truthy());
    if (std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return equals(s, key); })) continue;
    seen.push_back(key);
    out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value min_or_max(Interpreter& interp, const Value& v, Arguments& args, bool max) {
  BoundArgs a(max ? "max" : "min", args, {{"case_sensitive", Value(false)}, {"attribute", Value(nullptr)}});
  const std::vector<Value> values = iterate(v);
  if (values.empty()) return Value::undefined(std::string("No aggregated item, sequence was empty."));
  const Value* best = &values[0];
  auto key = [&](const Value& item) { return fold_case(a[1].is_none() ? item : lookup_path(interp, item, a[1]), a[0].truthy()); };
  for (const Value& item : values) {
    const int c = compare(key(item), key(*best), max ? ">" : "<");
    if (max ? c > 0 : c < 0) best = &item;
  }
  return *best;
}

Value sum(Interpreter& interp, const Value& v, Arguments& args) {
  BoundArgs a("sum", args, {{"attribute", Value(nullptr)}, {"start", Value(0)}});
  Value total = a[1];
  for (const Value& item : iterate(v)) total = binary_operator(interp, "+", total, a[0].is_none() ? item : lookup_path(interp, item, a[0]));
  return total;
}

Value reverse(Interpreter&, const Value& v, Arguments& args) {
  BoundArgs("reverse", args, {});
  std::vector<Value> values = iterate(v);
  std::reverse(values.begin(), values.end());
  if (!v.is_string()) return Value::list(std::move(values));
  std::string out;
  for (const Value& c : values) out += c.as_string();
  return Value(std::move(out));
}

Value batch(Interpreter&, const Value& v, Arguments& args) {
  BoundArgs a("batch", args, {{"linecount", std::nullopt}, {"fill_with", Value(nullptr)}});
  const std::int64_t n = a[0].is_int() ? a[0].as_int() : 0;
  if (n <= 0) throw Error("batch: linecount must be a positive integer");
  std::vector<Value> rows, row;
  for (const Value& item : iterate(v)) {
    row.push_back(item);
    if (static_cast<std::int64_t>(row.size()) == n) rows.push_back(Value::list(std::exchange(row, {})));
  }
  if (!row.empty()) {
    if (!a[1].is_none())
      while (static_cast<std::int64_t>(row.size()) < n) row.push_back(a[1]);
    rows.push_back(Value::list(std::move(row)));
  }
  return Value::list(std::move(rows));
}

Value center(Interpreter& interp, const Value& v, Arguments& args) {
  BoundArgs a("center", args, {{"width", Value(80)}});
  const std::string s = to_str(v);
  const std::int64_t len = static_cast<std::int64_t>(pystr::length(s));
  const std::int64_t width = std::min<std::int64_t>(integer_argument(a[0], "center"), 1 << 20);
  if (width <= len) return Value(s);
  // CPython: left padding gets the extra space when both the margin and width are odd.
  const std::int64_t margin = width - len;
  const std::int64_t left = margin / 2 + (margin & width & 1);
  return Value(interp.check_size(std::string(left, ' ') + s + std::string(margin - left, ' ')));
}

Value attr(Interpreter& interp, const Value& v, Arguments& args) {
  BoundArgs a("attr", args, {{"name", std::nullopt}});
  if (v.is_mapping()) return missing_attribute(v, a[0]);  // attr() never reads dict keys
  return get_attribute(interp, v, to_str(a[0]));
}

Value format(Interpreter& interp, const Value& v, Arguments& args) {
  if (!args.positional.empty() && !args.keyword.empty())
    throw Error("can't handle positional and keyword arguments at the same time");
  Value values = Value::list(args.positional, true);
  if (!args.keyword.empty()) {
    values = Value::dict();
    for (auto& [k, val] : args.keyword) values.as_dict()->set(Value(k), val);
  }
  return Value(interp.check_size(printf_format(to_str(v), values)));
}

Value safe(Interpreter&, const Value& v, Arguments& args) {
  BoundArgs("safe", args, {});
  return Value(to_str(v));
}

const std::unordered_map<std::string, FilterFunction>& filters() {
  static const std::unordered_map<std::string, FilterFunction> table = [] {
    std::unordered_map<std::string, FilterFunction> t;
    t["length"] = t["count"] = length;
    t["default"] = t["d"] = default_value;
    t["trim"] = trim;
    t["tojson"] = tojson;
    t["upper"] = [](Interpreter&, const Value& v, Arguments& a) { return string_filter("upper", v, a, pystr::upper); };
    t["lower"] = [](Interpreter&, const Value& v, Arguments& a) { return string_filter("lower", v, a, pystr::lower); };
    t["title"] = [](Interpreter&, const Value& v, Arguments& a) { return string_filter("title", v, a, pystr::title); };
    t["capitalize"] = [](Interpreter&, const Value& v, Arguments& a) {
      return string_filter("capitalize", v, a, pystr::capitalize);
    };
    t["replace"] = replace;
    t["first"] = [](Interpreter&, const Value& v, Arguments& a) { return first_or_last(v, a, false); };
    t["last"] = [](Interpreter&, const Value& v, Arguments& a) { return first_or_last(v, a, true); };
    t["join"] = join;
    t["list"] = list_filter;
    t["items"] = items;
    t["map"] = map_items;
    t["select"] = [](Interpreter& i, const Value& v, Arguments& a) { return select_items(i, v, a, false, true); };
    t["reject"] = [](Interpreter& i, const Value& v, Arguments& a) { return select_items(i, v, a, false, false); };
    t["selectattr"] = [](Interpreter& i, const Value& v, Arguments& a) { return select_items(i, v, a, true, true); };
    t["rejectattr"] = [](Interpreter& i, const Value& v, Arguments& a) { return select_items(i, v, a, true, false); };
    t["string"] = string;
    t["int"] = int_filter;
    t["float"] = float_filter;
    t["abs"] = abs_filter;
    t["round"] = round_filter;
    t["indent"] = indent;
    t["safe"] = safe;
    t["e"] = t["escape"] = t["forceescape"] = escape;
    t["unique"] = unique;
    t["sort"] = sort;
    t["dictsort"] = dictsort;
    t["min"] = [](Interpreter& i, const Value& v, Arguments& a) { return min_or_max(i, v, a, false); };
    t["max"] = [](Interpreter& i, const Value& v, Arguments& a) { return min_or_max(i, v, a, true); };
    t["sum"] = sum;
    t["reverse"] = reverse;
    t["batch"] = batch;
    t["center"] = center;
    t["attr"] = attr;
    t["format"] = format;
    return t;
  }();
  return table;
}

}  // namespace

FilterFunction find_filter(const std::string& name) {
  const auto it = filters().find(name);
  return it == filters().end() ? nullptr : it->second;
}

}  // namespace orchard::jinja
