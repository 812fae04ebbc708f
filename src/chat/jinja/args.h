#pragma once
// Binding call arguments to a Python-style parameter list for built-in filters, tests,
// methods and globals: positional then keyword, defaults for the rest.
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "chat/jinja/value.h"
#include "core/error.h"

namespace orchard::jinja {

// raise_exception() from a template: its message is passed on verbatim, without location.
class TemplateRaised : public Error {
 public:
  using Error::Error;
};

// An argument Python requires to be an int (bool counts, like Python's __index__).
inline std::int64_t integer_argument(const Value& v, const std::string& function) {
  if (!v.is_int() && !v.is_bool())
    throw Error(function + "(): '" + v.type_name() + "' object cannot be interpreted as an integer");
  return v.integer();
}

struct ParamSpec {
  const char* name;
  std::optional<Value> default_value;  // nullopt: required
};

class BoundArgs {
 public:
  // `extra_positional`: accept more positional arguments than declared (kept in rest()).
  BoundArgs(const std::string& function, Arguments& args, std::initializer_list<ParamSpec> params,
            bool extra_positional = false)
      : values_(params.size()) {
    const std::vector<ParamSpec> spec(params);
    std::vector<bool> set(spec.size(), false);
    for (std::size_t i = 0; i < args.positional.size(); ++i) {
      if (i < spec.size()) {
        values_[i] = args.positional[i];
        set[i] = true;
      } else if (extra_positional) {
        rest_.push_back(args.positional[i]);
      } else {
        throw Error(function + "() takes at most " + std::to_string(spec.size()) + " argument(s) (" +
                    std::to_string(args.positional.size()) + " given)");
      }
    }
    for (auto& [name, value] : args.keyword) {
      std::size_t i = 0;
      while (i < spec.size() && name != spec[i].name) ++i;
      if (i == spec.size()) throw Error(function + "() got an unexpected keyword argument '" + name + "'");
      if (set[i]) throw Error(function + "() got multiple values for argument '" + name + "'");
      values_[i] = value;
      set[i] = true;
    }
    for (std::size_t i = 0; i < spec.size(); ++i) {
      if (set[i]) continue;
      if (!spec[i].default_value) throw Error(function + "() missing required argument '" + spec[i].name + "'");
      values_[i] = *spec[i].default_value;
    }
  }

  const Value& operator[](std::size_t i) const { return values_[i]; }
  const std::vector<Value>& rest() const { return rest_; }

 private:
  std::vector<Value> values_;
  std::vector<Value> rest_;
};

}  // namespace orchard::jinja
