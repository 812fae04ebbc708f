#include "chat/jinja/methods.h"

#include <algorithm>
#include <span>
#include <string_view>

#include "chat/jinja/args.h"
#include "chat/jinja/interpreter.h"
#include "chat/jinja/operators.h"
#include "chat/jinja/pystr.h"

namespace orchard::jinja {

namespace {

Value unsafe(const Value& obj, const std::string& name) {
  return Value::undefined("access to attribute '" + name + "' of '" + obj.type_name() + "' object is unsafe.");
}

std::optional<std::string> optional_string(const Value& v, const char* what) {
  if (v.is_none()) return std::nullopt;
  if (!v.is_string()) throw Error(std::string(what) + " arg must be None or str");
  return v.as_string();
}

Value strings(const std::vector<std::string>& parts) {
  std::vector<Value> items(parts.begin(), parts.end());
  return Value::list(std::move(items));
}

// str.splitlines(): splits on every line boundary Python recognises, dropping the breaks.
std::vector<std::string> splitlines(const std::string& s) {
  std::vector<std::string> lines;
  std::size_t start = 0, pos = 0;
  while (pos < s.size()) {
    const std::size_t at = pos;
    const std::uint32_t cp = pystr::decode(s, pos);
    const bool boundary = cp == '\n' || cp == '\r' || cp == 0x0B || cp == 0x0C || (cp >= 0x1C && cp <= 0x1E) ||
                          cp == 0x85 || cp == 0x2028 || cp == 0x2029;
    if (!boundary) continue;
    lines.push_back(s.substr(start, at - start));
    if (cp == '\r' && pos < s.size() && s[pos] == '\n') ++pos;
    start = pos;
  }
  if (start < s.size()) lines.push_back(s.substr(start));
  return lines;
}

bool prefix_test(const std::string& s, const Value& arg, bool suffix, const char* name) {
  auto one = [&](const Value& p) {
    if (!p.is_string()) throw Error(std::string(name) + " first arg must be str or a tuple of str, not " + p.type_name());
    const std::string& x = p.as_string();
    if (x.size() > s.size()) return false;
    return suffix ? s.compare(s.size() - x.size(), x.size(), x) == 0 : s.compare(0, x.size(), x) == 0;
  };
  if (arg.is_sequence() && arg.as_list()->is_tuple)
    return std::any_of(arg.as_list()->items.begin(), arg.as_list()->items.end(), one);
  return one(arg);
}

bool all_chars(const std::string& s, bool (*pred)(std::uint32_t)) {
  if (s.empty()) return false;
  std::size_t pos = 0;
  while (pos < s.size())
    if (!pred(pystr::decode(s, pos))) return false;
  return true;
}

Value string_method(const Interpreter& interp, const std::string& s, const std::string& name, Arguments& args) {
  const std::string fn = "str." + name;
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    BoundArgs a(fn, args, {{"chars", Value(nullptr)}});
    return Value(pystr::strip(s, optional_string(a[0], name.c_str()), name != "rstrip", name != "lstrip"));
  }
  if (name == "split" || name == "rsplit") {
    BoundArgs a(fn, args, {{"sep", Value(nullptr)}, {"maxsplit", Value(-1)}});
    const std::optional<std::string> sep = optional_string(a[0], "sep");
    if (sep && sep->empty()) throw Error("empty separator");
    const std::int64_t maxsplit = integer_argument(a[1], fn.c_str());
    return strings(name == "split" ? pystr::split(s, sep, maxsplit) : pystr::rsplit(s, sep, maxsplit));
  }
  if (name == "splitlines") {
    BoundArgs a(fn, args, {});
    return strings(splitlines(s));
  }
  if (name == "startswith" || name == "endswith") {
    BoundArgs a(fn, args, {{"prefix", std::nullopt}});
    return Value(prefix_test(s, a[0], name == "endswith", name.c_str()));
  }
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
    BoundArgs a(fn, args, {});
    if (name == "upper") return Value(pystr::upper(s));
    if (name == "lower") return Value(pystr::lower(s));
    if (name == "title") return Value(pystr::title(s));
    return Value(pystr::capitalize(s));
  }
  if (name == "replace") {
    BoundArgs a(fn, args, {{"old", std::nullopt}, {"new", std::nullopt}, {"count", Value(-1)}});
    if (!a[0].is_string() || !a[1].is_string()) throw Error("replace() arguments must be str");
    return Value(interp.check_size(pystr::replace(s, a[0].as_string(), a[1].as_string(), integer_argument(a[2], "replace"))));
  }
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex" || name == "count") {
    BoundArgs a(fn, args, {{"sub", std::nullopt}});
    if (!a[0].is_string()) throw Error("must be str, not " + a[0].type_name());
    if (name == "count") return Value(pystr::count(s, a[0].as_string()));
    const std::int64_t at = pystr::find(s, a[0].as_string(), name[0] == 'r');
    if (at < 0 && name.find("index") != std::string::npos) throw Error("substring not found");
    return Value(at);
  }
  if (name == "join") {
    BoundArgs a(fn, args, {{"iterable", std::nullopt}});
    std::string out;
    bool first = true;
    for (const Value& item : iterate(a[0])) {
      if (!item.is_string()) throw Error("sequence item: expected str instance, " + item.type_name() + " found");
      if (!first) out += s;
      first = false;
      out += item.as_string();
      interp.check_length(out.size());
    }
    return Value(std::move(out));
  }
  if (name == "isdigit" || name == "isspace" || name == "isalpha" || name == "isalnum") {
    BoundArgs a(fn, args, {});
    if (name == "isspace") return Value(all_chars(s, pystr::is_space));
    if (name == "isdigit") return Value(all_chars(s, [](std::uint32_t c) { return c >= '0' && c <= '9'; }));
    if (name == "isalpha")
      return Value(all_chars(s, [](std::uint32_t c) { return (c | 32) >= 'a' && (c | 32) <= 'z'; }));
    return Value(all_chars(s, [](std::uint32_t c) { return (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z'); }));
  }
  throw Error("'str' object has no attribute '" + name + "'");
}

Value dict_method(const Value& obj, const std::string& name, Arguments& args) {
  const Mapping& map = *obj.as_dict();
  if (name == "get") {
    BoundArgs a("dict.get", args, {{"key", std::nullopt}, {"default", Value(nullptr)}});
    const Value* found = map.find(a[0]);
    return found ? *found : a[1];
  }
  BoundArgs a("dict." + name, args, {});
  if (name == "copy") {
    Value copy = Value::dict();
    copy.as_dict()->entries = map.entries;
    return copy;
  }
  std::vector<Value> out;
  for (const auto& [k, v] : map.entries) {
    if (name == "items") out.push_back(Value::list({k, v}, true));
    else if (name == "keys") out.push_back(k);
    else out.push_back(v);
  }
  return Value::list(std::move(out));
}

Value sequence_method(const Value& obj, const std::string& name, Arguments& args) {
  const auto& items = obj.as_list()->items;
  if (name == "copy") {
    BoundArgs("list.copy", args, {});
    return Value::list(items);
  }
  BoundArgs a("list." + name, args, {{"value", std::nullopt}});
  if (name == "count") return Value(static_cast<std::int64_t>(std::count_if(items.begin(), items.end(), [&](const Value& v) { return equals(v, a[0]); })));
  for (std::size_t i = 0; i < items.size(); ++i)
    if (equals(items[i], a[0])) return Value(static_cast<std::int64_t>(i));
  throw Error(repr(a[0]) + " is not in list");
}

bool one_of(const std::string& name, std::span<const std::string_view> names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

constexpr std::string_view kStringMethods[] = {
    "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith", "endswith", "upper", "lower", "title",
    "capitalize", "replace", "find", "rfind", "index", "rindex", "count", "join", "isdigit", "isspace", "isalpha", "isalnum"};
// What ImmutableSandboxedEnvironment treats as modifying a list or dict (refused).
constexpr std::string_view kDictMethods[] = {"items", "keys", "values", "get", "copy"};
constexpr std::string_view kDictMutators[] = {"pop", "popitem", "setdefault", "update", "clear"};
constexpr std::string_view kListMethods[] = {"index", "count", "copy"};
constexpr std::string_view kListMutators[] = {"append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear"};

Value bound(const Interpreter& interp, const Value& obj, const std::string& name) {
  return Value::function(name, [&interp, obj, name](Arguments& args) -> Value {
    if (obj.is_string()) return string_method(interp, obj.as_string(), name, args);
    if (obj.is_mapping()) return dict_method(obj, name, args);
    return sequence_method(obj, name, args);
  });
}

}  // namespace

Value get_attribute(const Interpreter& interp, const Value& obj, const std::string& name) {
  obj.require_defined();
  if (obj.is_string() && one_of(name, kStringMethods)) return bound(interp, obj, name);
  if (obj.is_mapping()) {
    if (one_of(name, kDictMethods)) return bound(interp, obj, name);
    if (one_of(name, kDictMutators)) return unsafe(obj, name);
  }
  if (obj.is_sequence()) {
    if (one_of(name, kListMethods) && !(obj.as_list()->is_tuple && name == "copy")) return bound(interp, obj, name);
    if (!obj.as_list()->is_tuple && one_of(name, kListMutators)) return unsafe(obj, name);
  }
  if (obj.is_dict_like()) {
    if (const Value* v = obj.as_dict()->find(name)) return *v;
  }
  return missing_attribute(obj, Value(name));
}

Value get_item(const Interpreter& interp, const Value& obj, const Value& key) {
  obj.require_defined();
  if (obj.is_mapping()) {
    if (const Value* v = obj.as_dict()->find(key)) return *v;
  } else if ((obj.is_sequence() || obj.is_string()) && (key.is_int() || key.is_bool())) {
    const std::int64_t i = key.integer();
    if (obj.is_sequence()) {
      const auto& items = obj.as_list()->items;
      const std::int64_t n = static_cast<std::int64_t>(items.size());
      const std::int64_t at = i < 0 ? i + n : i;
      if (at >= 0 && at < n) return items[at];
    } else {
      const std::vector<std::size_t> offsets = pystr::char_offsets(obj.as_string());
      const std::int64_t n = static_cast<std::int64_t>(offsets.size()) - 1;
      const std::int64_t at = i < 0 ? i + n : i;
      if (at >= 0 && at < n) return Value(obj.as_string().substr(offsets[at], offsets[at + 1] - offsets[at]));
    }
  }
  // jinja2 falls back to attribute lookup for string keys (e.g. ns['x'], d['items']).
  if (key.is_string()) return get_attribute(interp, obj, key.as_string());
  return missing_attribute(obj, key);
}

namespace {

std::int64_t slice_bound(const Value& v, std::int64_t fallback) {
  if (v.is_none()) return fallback;
  if (!v.is_int() && !v.is_bool())
    throw Error("slice indices must be integers or None or have an __index__ method");
  return v.integer();
}

// Python's slice.indices(): clamps start/stop for the given length and step.
std::vector<std::size_t> slice_positions(std::int64_t n, const Value& start, const Value& stop, const Value& step) {
  const std::int64_t st = slice_bound(step, 1);
  if (st == 0) throw Error("slice step cannot be zero");
  auto clamp = [&](const Value& v, std::int64_t fallback) {
    std::int64_t i = slice_bound(v, fallback);
    if (v.is_none()) return i;
    if (i < 0) i += n;
    if (st > 0) return std::clamp<std::int64_t>(i, 0, n);
    return std::clamp<std::int64_t>(i, -1, n - 1);
  };
  const std::int64_t b = clamp(start, st > 0 ? 0 : n - 1);
  const std::int64_t e = clamp(stop, st > 0 ? n : -1);
  std::vector<std::size_t> out;
  for (std::int64_t i = b; st > 0 ? i < e : i > e; i += st) out.push_back(static_cast<std::size_t>(i));
  return out;
}

}  // namespace

Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step) {
  obj.require_defined();
  for (const Value* v : {&start, &stop, &step}) v->require_defined();
  if (obj.is_sequence()) {
    const auto& items = obj.as_list()->items;
    std::vector<Value> out;
    for (std::size_t i : slice_positions(static_cast<std::int64_t>(items.size()), start, stop, step)) out.push_back(items[i]);
    return Value::list(std::move(out), obj.as_list()->is_tuple);
  }
  if (obj.is_string()) {
    const std::string& s = obj.as_string();
    const std::vector<std::size_t> offsets = pystr::char_offsets(s);
    std::string out;
    for (std::size_t i : slice_positions(static_cast<std::int64_t>(offsets.size()) - 1, start, stop, step))
      out += s.substr(offsets[i], offsets[i + 1] - offsets[i]);
    return Value(std::move(out));
  }
  throw Error("'" + obj.type_name() + "' object is not subscriptable");
}

}  // namespace orchard::jinja
