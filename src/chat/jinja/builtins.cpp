#include "chat/jinja/builtins.h"

#include <ctime>

#include "chat/jinja/args.h"

namespace orchard::jinja {

namespace {

// jinja2's sandbox refuses ranges longer than this (MAX_RANGE).
constexpr std::int64_t kMaxRange = 100000;

Value range(Arguments& args) {
  if (!args.keyword.empty()) throw Error("range() takes no keyword arguments");
  std::vector<std::int64_t> n;
  for (const Value& v : args.positional) {
    if (!v.is_int() && !v.is_bool()) throw Error("'" + v.type_name() + "' object cannot be interpreted as an integer");
    n.push_back(v.integer());
  }
  if (n.empty() || n.size() > 3) throw Error("range expected 1 to 3 arguments, got " + std::to_string(n.size()));
  const std::int64_t start = n.size() == 1 ? 0 : n[0];
  const std::int64_t stop = n.size() == 1 ? n[0] : n[1];
  const std::int64_t step = n.size() == 3 ? n[2] : 1;
  if (step == 0) throw Error("range() arg 3 must not be zero");
  std::vector<Value> items;
  for (std::int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (static_cast<std::int64_t>(items.size()) >= kMaxRange)
      throw Error("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
    items.emplace_back(i);
    if ((step > 0 && i > INT64_MAX - step) || (step < 0 && i < INT64_MIN - step)) break;
  }
  return Value::list(std::move(items));
}

// dict(mapping_or_pairs, **kwargs), as used by namespace() and dict().
Value make_mapping(Arguments& args, Value result, const char* name) {
  Mapping& map = *result.as_dict();
  if (args.positional.size() > 1) throw Error(std::string(name) + "() expected at most 1 positional argument");
  if (!args.positional.empty()) {
    const Value& init = args.positional[0];
    if (init.is_dict_like()) {
      for (const auto& [k, v] : init.as_dict()->entries) map.set(k, v);
    } else if (init.is_sequence()) {
      for (const Value& pair : init.as_list()->items) {
        if (!pair.is_sequence() || pair.as_list()->items.size() != 2)
          throw Error(std::string(name) + "(): sequence elements must be pairs");
        map.set(pair.as_list()->items[0], pair.as_list()->items[1]);
      }
    } else {
      throw Error(std::string(name) + "(): '" + init.type_name() + "' object is not iterable");
    }
  }
  for (auto& [k, v] : args.keyword) map.set(Value(k), v);
  return result;
}

}  // namespace

std::shared_ptr<Scope> make_globals(Interpreter& interp) {
  auto globals = std::make_shared<Scope>();
  auto define = [&](const std::string& name, std::function<Value(Arguments&)> fn) {
    globals->vars[name] = Value::function(name, std::move(fn));
  };
  define("range", range);
  define("dict", [](Arguments& a) { return make_mapping(a, Value::dict(), "dict"); });
  define("namespace", [&interp](Arguments& a) { return make_mapping(a, interp.new_namespace(), "namespace"); });
  define("raise_exception", [](Arguments& a) -> Value {
    BoundArgs bound("raise_exception", a, {{"message", std::nullopt}});
    throw TemplateRaised(to_str(bound[0]));
  });
  define("strftime_now", [&interp](Arguments& a) {
    BoundArgs bound("strftime_now", a, {{"format", std::nullopt}});
    if (!bound[0].is_string()) throw Error("strftime_now() argument must be str, not " + bound[0].type_name());
    const std::time_t now = interp.now();
    std::tm local{};
    localtime_r(&now, &local);
    const std::string& format = bound[0].as_string();
    if (format.empty()) return Value("");
    std::string out(format.size() * 8 + 64, '\0');
    const std::size_t n = std::strftime(out.data(), out.size(), format.c_str(), &local);
    out.resize(n);
    return Value(out);
  });
  return globals;
}

}  // namespace orchard::jinja
