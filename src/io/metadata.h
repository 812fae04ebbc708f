#pragma once
// Key/value model metadata with GGUF's value types. GGUF files fill it directly; a Hugging Face
// folder's config.json is translated into the same keys ("llama.embedding_length", ...) so
// every model family reads one vocabulary of hyperparameters.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace orchard {

enum class GgufType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};
const char* gguf_type_name(GgufType t);

// A scalar keeps the exact GGUF type it was stored with, so a file rewritten by GgufWriter
// round-trips bit for bit. Arrays are homogeneous: one element type.
struct MetaValue {
  GgufType type = GgufType::U32;
  GgufType elem_type = GgufType::U32;  // for ARRAY
  std::variant<uint64_t, int64_t, double, bool, std::string> scalar;
  // ARRAY payloads: exactly one is used, chosen by elem_type (integers/bools in ints,
  // floats in floats, strings in strings). Nested arrays are rejected as unsupported.
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;

  static MetaValue u32(uint32_t v);
  static MetaValue i32(int32_t v);
  static MetaValue u64(uint64_t v);
  static MetaValue f32(float v);
  static MetaValue boolean(bool v);
  static MetaValue string(std::string v);
  static MetaValue string_array(std::vector<std::string> v);
  static MetaValue int_array(GgufType elem, std::vector<int64_t> v);
  static MetaValue float_array(std::vector<double> v);

  size_t array_size() const;
};

class Metadata {
 public:
  void set(const std::string& key, MetaValue v) { values_[key] = std::move(v); }
  bool has(const std::string& key) const { return values_.count(key) != 0; }
  const MetaValue* find(const std::string& key) const;
  const std::map<std::string, MetaValue>& all() const { return values_; }

  // Typed reads: nullopt when absent; an Error (naming the key) when present with a type that
  // cannot represent the request (e.g. a string read as an int).
  std::optional<int64_t> get_int(const std::string& key) const;
  std::optional<double> get_float(const std::string& key) const;
  std::optional<bool> get_bool(const std::string& key) const;
  std::optional<std::string> get_string(const std::string& key) const;
  const std::vector<std::string>* get_strings(const std::string& key) const;
  const std::vector<int64_t>* get_ints(const std::string& key) const;
  const std::vector<double>* get_floats(const std::string& key) const;

  int64_t require_int(const std::string& key) const;  // Error "missing metadata key K"

 private:
  std::map<std::string, MetaValue> values_;
};

}  // namespace orchard
