#include "chat/jinja/json.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "chat/jinja/pystr.h"
#include "core/error.h"

namespace orchard::jinja {

Value from_json(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return Value(nullptr);
    case nlohmann::ordered_json::value_t::boolean: return Value(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return Value(j.get<std::int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const auto u = j.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(INT64_MAX)) return Value(static_cast<double>(u));
      return Value(static_cast<std::int64_t>(u));
    }
    case nlohmann::ordered_json::value_t::number_float: return Value(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return Value(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      std::vector<Value> items;
      for (const auto& item : j) items.push_back(from_json(item));
      return Value::list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      Value d = Value::dict();
      for (const auto& [k, v] : j.items()) d.as_dict()->entries.emplace_back(Value(k), from_json(v));
      return d;
    }
    default: throw Error("chat template variables: binary JSON values are not supported");
  }
}

namespace {

void append_u16(std::string& out, unsigned unit) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "\\u%04x", unit & 0xFFFFu);
  out += buf;
}

// json.dumps string encoding: only quote, backslash and control characters are escaped
// unless ensure_ascii, which escapes everything beyond ASCII as UTF-16 \u sequences.
void append_string(std::string& out, const std::string& s, bool ensure_ascii) {
  out += '"';
  std::size_t pos = 0;
  while (pos < s.size()) {
    const std::size_t begin = pos;
    const std::uint32_t cp = pystr::decode(s, pos);
    switch (cp) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (cp < 0x20 || (ensure_ascii && cp == 0x7F)) {
          append_u16(out, cp);
        } else if (ensure_ascii && cp >= 0x80) {
          if (cp >= 0x10000) {
            append_u16(out, 0xD800 + ((cp - 0x10000) >> 10));
            append_u16(out, 0xDC00 + ((cp - 0x10000) & 0x3FF));
          } else {
            append_u16(out, cp);
          }
        } else {
          out.append(s, begin, pos - begin);
        }
    }
  }
  out += '"';
}

std::string float_json(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d < 0 ? "-Infinity" : "Infinity";
  return format_float(d);
}

// json.dumps turns non-string keys into strings (True -> "true", 1 -> "1", None -> "null").
std::string key_text(const Value& k) {
  if (k.is_string()) return k.as_string();
  if (k.is_bool()) return k.as_bool() ? "true" : "false";
  if (k.is_int()) return std::to_string(k.as_int());
  if (k.is_float()) return float_json(k.as_float());
  if (k.is_none()) return "null";
  throw Error("keys must be str, int, float, bool or None, not " + k.type_name());
}

class Dumper {
 public:
  explicit Dumper(const JsonStyle& style) : style_(style) {}

  void dump(const Value& v, int level, std::string& out) {
    if (level > 512) throw Error("tojson: value nested too deeply");
    if (v.is_none()) out += "null";
    else if (v.is_bool()) out += v.as_bool() ? "true" : "false";
    else if (v.is_int()) out += std::to_string(v.as_int());
    else if (v.is_float()) out += float_json(v.as_float());
    else if (v.is_string()) append_string(out, v.as_string(), style_.ensure_ascii);
    else if (v.is_sequence()) {
      const auto& items = v.as_list()->items;
      if (items.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (std::size_t i = 0; i < items.size(); ++i) {
        out += i ? separator(level + 1) : opening(level + 1);
        dump(items[i], level + 1, out);
      }
      out += closing(level);
      out += ']';
    } else if (v.is_mapping()) {
      std::vector<const std::pair<Value, Value>*> entries;
      for (const auto& e : v.as_dict()->entries) entries.push_back(&e);
      if (entries.empty()) {
        out += "{}";
        return;
      }
      if (style_.sort_keys) {
        std::stable_sort(entries.begin(), entries.end(),
                         [](const auto* a, const auto* b) { return compare(a->first, b->first, "<") < 0; });
      }
      out += '{';
      for (std::size_t i = 0; i < entries.size(); ++i) {
        out += i ? separator(level + 1) : opening(level + 1);
        append_string(out, key_text(entries[i]->first), style_.ensure_ascii);
        out += style_.key_separator;
        dump(entries[i]->second, level + 1, out);
      }
      out += closing(level);
      out += '}';
    } else {
      throw Error("Object of type " + v.type_name() + " is not JSON serializable");
    }
  }

 private:
  std::string newline(int level) const {
    std::string s = "\n";
    for (int i = 0; i < level; ++i) s += *style_.indent;
    return s;
  }
  std::string opening(int level) const { return style_.indent ? newline(level) : ""; }
  std::string separator(int level) const { return style_.indent ? style_.item_separator + newline(level) : style_.item_separator; }
  std::string closing(int level) const { return style_.indent ? newline(level) : ""; }

  const JsonStyle& style_;
};

}  // namespace

std::string dump_json(const Value& v, const JsonStyle& style) {
  std::string out;
  Dumper(style).dump(v, 0, out);
  return out;
}

}  // namespace orchard::jinja
