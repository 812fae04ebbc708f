#include "chat/jinja/format.h"

#include <cmath>
#include <cstdio>

#include "chat/jinja/pystr.h"
#include "core/utf8.h"
#include "core/error.h"

namespace orchard::jinja {

namespace {

struct Spec {
  std::string flags;
  int width = -1;
  int precision = -1;
  char conversion = 0;
};

// Pads a string conversion to the field width ('-' aligns left), counting code points.
std::string pad(std::string text, const Spec& spec) {
  const auto len = static_cast<int>(pystr::length(text));
  if (spec.width <= len) return text;
  const std::string fill(static_cast<std::size_t>(spec.width - len), ' ');
  return spec.flags.find('-') != std::string::npos ? text + fill : fill + text;
}

// Floats: C's printf rounds exactly like Python's formatting for e/f/g.
std::string c_format(const Spec& spec, double value) {
  std::string fmt = "%" + spec.flags;
  if (spec.width >= 0) fmt += std::to_string(spec.width);
  if (spec.precision >= 0) {
    fmt += '.';
    fmt += std::to_string(spec.precision);
  }
  fmt += spec.conversion;
  const int n = std::snprintf(nullptr, 0, fmt.c_str(), value);
  std::string out(static_cast<std::size_t>(std::max(n, 0)) + 1, '\0');
  std::snprintf(out.data(), out.size(), fmt.c_str(), value);
  out.resize(static_cast<std::size_t>(std::max(n, 0)));
  return out;
}

bool has_flag(const Spec& spec, char flag) { return spec.flags.find(flag) != std::string::npos; }

// Python lays out integers itself: sign, "0x"/"0o" prefix for '#', at least `precision`
// digits, then spaces (or zeros after the prefix with '0') up to the width.
std::string format_integer(const Spec& spec, const Value& v) {
  const double d = v.number();
  if (v.is_float() && (!std::isfinite(d) || std::fabs(d) >= 9.2e18)) throw Error("cannot convert float to integer");
  const long long i = v.is_float() ? static_cast<long long>(d) : static_cast<long long>(v.integer());
  const unsigned long long magnitude = i < 0 ? 0ull - static_cast<unsigned long long>(i) : static_cast<unsigned long long>(i);
  const char c = spec.conversion;
  char buf[32];
  std::snprintf(buf, sizeof buf, c == 'x' ? "%llx" : c == 'X' ? "%llX" : c == 'o' ? "%llo" : "%llu", magnitude);
  std::string digits = buf;
  if (spec.precision > static_cast<int>(digits.size())) digits.insert(0, static_cast<std::size_t>(spec.precision) - digits.size(), '0');
  std::string head = i < 0 ? "-" : has_flag(spec, '+') ? "+" : has_flag(spec, ' ') ? " " : "";
  if (has_flag(spec, '#') && (c == 'x' || c == 'X' || c == 'o')) head += c == 'o' ? "0o" : c == 'x' ? "0x" : "0X";
  const int len = static_cast<int>(head.size() + digits.size());
  if (spec.width <= len) return head + digits;
  const std::size_t fill = static_cast<std::size_t>(spec.width - len);
  if (has_flag(spec, '-')) return head + digits + std::string(fill, ' ');
  if (has_flag(spec, '0')) return head + std::string(fill, '0') + digits;
  return std::string(fill, ' ') + head + digits;
}

std::string convert(const Spec& spec, const Value& v) {
  const char c = spec.conversion;
  if (c == 's' || c == 'r' || c == 'a') {
    std::string text = c == 's' ? to_str(v) : repr(v);
    if (spec.precision >= 0) {
      const std::vector<std::size_t> offsets = pystr::char_offsets(text);
      if (static_cast<std::size_t>(spec.precision) + 1 < offsets.size()) text.resize(offsets[spec.precision]);
    }
    return pad(std::move(text), spec);
  }
  if (c == 'c') {
    if (v.is_string() && pystr::length(v.as_string()) == 1) return pad(v.as_string(), spec);
    if (!v.is_int() || v.as_int() < 0 || v.as_int() > 0x10FFFF) throw Error("%c requires int or char");
    std::string ch;
    utf8::append(ch, static_cast<std::uint32_t>(v.as_int()));
    return pad(std::move(ch), spec);
  }
  v.require_defined();
  const bool integral = c == 'd' || c == 'i' || c == 'u' || c == 'x' || c == 'X' || c == 'o';
  const bool hex_or_octal = c == 'x' || c == 'X' || c == 'o';
  if (!v.is_number() || (hex_or_octal && v.is_float()))
    throw Error(std::string("%") + c + " format: " + (hex_or_octal ? "an integer" : "a real number") +
                " is required, not " + v.type_name());
  if (integral) return format_integer(spec, v);
  if (c == 'f' || c == 'F' || c == 'e' || c == 'E' || c == 'g' || c == 'G') return c_format(spec, v.number());
  throw Error(std::string("unsupported format character '") + c + "'");
}

}  // namespace

std::string printf_format(const std::string& format, const Value& args) {
  const bool tuple = args.is_sequence() && args.as_list()->is_tuple;
  const std::vector<Value> positional = tuple ? args.as_list()->items : std::vector<Value>{args};
  std::size_t next = 0;
  bool used_mapping = false;
  std::string out;
  for (std::size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      out += format[i];
      continue;
    }
    if (++i >= format.size()) throw Error("incomplete format");
    const Value* value = nullptr;
    if (format[i] == '(') {
      const std::size_t close = format.find(')', i);
      if (close == std::string::npos) throw Error("incomplete format key");
      if (!args.is_mapping()) throw Error("format requires a mapping");
      value = args.as_dict()->find(format.substr(i + 1, close - i - 1));
      if (!value) throw Error("KeyError: " + pystr::quote(format.substr(i + 1, close - i - 1)));
      used_mapping = true;
      i = close + 1;
    }
    Spec spec;
    while (i < format.size() && std::string("-+ #0").find(format[i]) != std::string::npos) spec.flags += format[i++];
    auto number = [&]() {
      int n = 0;
      while (i < format.size() && format[i] >= '0' && format[i] <= '9') n = std::min(n * 10 + (format[i++] - '0'), 100000);
      return n;
    };
    if (i < format.size() && format[i] >= '0' && format[i] <= '9') spec.width = number();
    if (i < format.size() && format[i] == '.') {
      ++i;
      spec.precision = number();
    }
    if (i >= format.size()) throw Error("incomplete format");
    spec.conversion = format[i];
    if (spec.conversion == '%') {
      out += '%';
      continue;
    }
    if (!value) {
      if (next >= positional.size()) throw Error("not enough arguments for format string");
      value = &positional[next++];
    }
    out += convert(spec, *value);
  }
  if (!used_mapping && !args.is_mapping() && next < positional.size())
    throw Error("not all arguments converted during string formatting");
  return out;
}

}  // namespace orchard::jinja
