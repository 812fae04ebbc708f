#include "io/metadata.h"

#include "core/error.h"

namespace orchard {

const char* gguf_type_name(GgufType t) {
  switch (t) {
    case GgufType::U8: return "u8";
    case GgufType::I8: return "i8";
    case GgufType::U16: return "u16";
    case GgufType::I16: return "i16";
    case GgufType::U32: return "u32";
    case GgufType::I32: return "i32";
    case GgufType::F32: return "f32";
    case GgufType::BOOL: return "bool";
    case GgufType::STRING: return "string";
    case GgufType::ARRAY: return "array";
    case GgufType::U64: return "u64";
    case GgufType::I64: return "i64";
    case GgufType::F64: return "f64";
  }
  return "unknown";
}

MetaValue MetaValue::u32(uint32_t v) { MetaValue m; m.type = GgufType::U32; m.scalar = uint64_t{v}; return m; }
MetaValue MetaValue::i32(int32_t v) { MetaValue m; m.type = GgufType::I32; m.scalar = int64_t{v}; return m; }
MetaValue MetaValue::u64(uint64_t v) { MetaValue m; m.type = GgufType::U64; m.scalar = v; return m; }
MetaValue MetaValue::f32(float v) { MetaValue m; m.type = GgufType::F32; m.scalar = double{v}; return m; }
MetaValue MetaValue::boolean(bool v) { MetaValue m; m.type = GgufType::BOOL; m.scalar = v; return m; }
MetaValue MetaValue::string(std::string v) { MetaValue m; m.type = GgufType::STRING; m.scalar = std::move(v); return m; }
MetaValue MetaValue::string_array(std::vector<std::string> v) {
  MetaValue m; m.type = GgufType::ARRAY; m.elem_type = GgufType::STRING; m.strings = std::move(v); return m;
}
MetaValue MetaValue::int_array(GgufType elem, std::vector<int64_t> v) {
  MetaValue m; m.type = GgufType::ARRAY; m.elem_type = elem; m.ints = std::move(v); return m;
}
MetaValue MetaValue::float_array(std::vector<double> v) {
  MetaValue m; m.type = GgufType::ARRAY; m.elem_type = GgufType::F32; m.floats = std::move(v); return m;
}

size_t MetaValue::array_size() const {
  if (type != GgufType::ARRAY) return 0;
  if (elem_type == GgufType::STRING) return strings.size();
  if (elem_type == GgufType::F32 || elem_type == GgufType::F64) return floats.size();
  return ints.size();
}

const MetaValue* Metadata::find(const std::string& key) const {
  auto it = values_.find(key);
  return it == values_.end() ? nullptr : &it->second;
}

static Error type_error(const std::string& key, const MetaValue& v, const char* want) {
  return Error("metadata key '" + key + "' is " + gguf_type_name(v.type) + ", expected " + want);
}

std::optional<int64_t> Metadata::get_int(const std::string& key) const {
  const MetaValue* v = find(key);
  if (!v) return std::nullopt;
  if (auto* u = std::get_if<uint64_t>(&v->scalar); u && v->type != GgufType::ARRAY) return static_cast<int64_t>(*u);
  if (auto* i = std::get_if<int64_t>(&v->scalar); i && v->type != GgufType::ARRAY) return *i;
  if (auto* b = std::get_if<bool>(&v->scalar); b && v->type == GgufType::BOOL) return *b ? 1 : 0;
  throw type_error(key, *v, "an integer");
}

std::optional<double> Metadata::get_float(const std::string& key) const {
  const MetaValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type == GgufType::ARRAY || v->type == GgufType::STRING) throw type_error(key, *v, "a number");
  if (auto* d = std::get_if<double>(&v->scalar)) return *d;
  if (auto* u = std::get_if<uint64_t>(&v->scalar)) return static_cast<double>(*u);
  if (auto* i = std::get_if<int64_t>(&v->scalar)) return static_cast<double>(*i);
  throw type_error(key, *v, "a number");
}

std::optional<bool> Metadata::get_bool(const std::string& key) const {
  const MetaValue* v = find(key);
  if (!v) return std::nullopt;
  if (auto* b = std::get_if<bool>(&v->scalar); b && v->type == GgufType::BOOL) return *b;
  throw type_error(key, *v, "a bool");
}

std::optional<std::string> Metadata::get_string(const std::string& key) const {
  const MetaValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufType::STRING) throw type_error(key, *v, "a string");
  return std::get<std::string>(v->scalar);
}

const std::vector<std::string>* Metadata::get_strings(const std::string& key) const {
  const MetaValue* v = find(key);
  if (!v) return nullptr;
  if (v->type != GgufType::ARRAY || v->elem_type != GgufType::STRING) throw type_error(key, *v, "a string array");
  return &v->strings;
}

const std::vector<int64_t>* Metadata::get_ints(const std::string& key) const {
  const MetaValue* v = find(key);
  if (!v) return nullptr;
  if (v->type != GgufType::ARRAY || v->elem_type == GgufType::STRING || v->elem_type == GgufType::F32 ||
      v->elem_type == GgufType::F64)
    throw type_error(key, *v, "an integer array");
  return &v->ints;
}

const std::vector<double>* Metadata::get_floats(const std::string& key) const {
  const MetaValue* v = find(key);
  if (!v) return nullptr;
  if (v->type != GgufType::ARRAY || (v->elem_type != GgufType::F32 && v->elem_type != GgufType::F64))
    throw type_error(key, *v, "a float array");
  return &v->floats;
}

int64_t Metadata::require_int(const std::string& key) const {
  auto v = get_int(key);
  if (!v) throw Error("missing metadata key '" + key + "'");
  return *v;
}

}  // namespace orchard
