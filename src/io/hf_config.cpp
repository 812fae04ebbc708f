#include "io/hf_config.h"

#include <cmath>
#include <limits>

#include "core/error.h"
#include "io/json_file.h"

namespace orchard {
namespace {

using nlohmann::json;

struct ArchDefaults {
  std::string_view model_type;    // config.json "model_type"
  std::string_view architecture;  // GGUF general.architecture
  int64_t max_position_embeddings;  // transformers' default when the config omits it
};
constexpr ArchDefaults kArchitectures[] = {
    {"llama", "llama", 2048},
    {"mistral", "llama", 32768},
    {"qwen2", "qwen2", 32768},
    {"qwen3", "qwen3", 32768},
};
// transformers' defaults for these families.
constexpr double kDefaultRmsEps = 1e-6;
constexpr double kDefaultRopeTheta = 10000.0;

class ConfigReader {
 public:
  ConfigReader(const json& obj, const std::string& file, std::string prefix = "")
      : obj_(obj), file_(file), prefix_(std::move(prefix)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
    throw file_error(file_, "\"" + prefix_ + key + "\" " + problem);
  }
  const json* find(const std::string& key) const {
    auto it = obj_.find(key);
    return it == obj_.end() || it->is_null() ? nullptr : &*it;
  }

  // A positive integer that fits GGUF's u32 fields.
  std::optional<int64_t> count(const std::string& key) const {
    const json* v = find(key);
    if (!v) return std::nullopt;
    if (!v->is_number_integer()) fail(key, "must be an integer, got " + v->dump());
    // nlohmann stores non-negative integers as unsigned, negative ones as signed.
    if (!v->is_number_unsigned() || v->get<uint64_t>() == 0 || v->get<uint64_t>() > 0xFFFFFFFFu)
      fail(key, "must be a positive integer below 2^32, got " + v->dump());
    return static_cast<int64_t>(v->get<uint64_t>());
  }
  int64_t require_count(const std::string& key) const {
    auto v = count(key);
    if (!v) fail(key, "is missing");
    return *v;
  }

  std::optional<double> positive_number(const std::string& key) const {
    const json* v = find(key);
    if (!v) return std::nullopt;
    if (!v->is_number()) fail(key, "must be a number, got " + v->dump());
    double d = v->get<double>();
    if (!(d > 0) || !std::isfinite(d)) fail(key, "must be a positive number, got " + v->dump());
    return d;
  }
  double require_positive_number(const std::string& key) const {
    auto v = positive_number(key);
    if (!v) fail(key, "is missing");
    return *v;
  }

  std::optional<bool> boolean(const std::string& key) const {
    const json* v = find(key);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) fail(key, "must be true or false, got " + v->dump());
    return v->get<bool>();
  }

  std::optional<std::string> string(const std::string& key) const {
    const json* v = find(key);
    if (!v) return std::nullopt;
    if (!v->is_string()) fail(key, "must be a string, got " + v->dump());
    return v->get<std::string>();
  }

 private:
  const json& obj_;
  const std::string& file_;
  std::string prefix_;
};

const ArchDefaults& find_architecture(const ConfigReader& cfg) {
  auto model_type = cfg.string("model_type");
  if (!model_type) cfg.fail("model_type", "is missing");
  for (const auto& a : kArchitectures)
    if (a.model_type == *model_type) return a;
  std::string supported;
  for (const auto& a : kArchitectures) supported += (supported.empty() ? "" : ", ") + std::string(a.model_type);
  cfg.fail("model_type", "is \"" + *model_type + "\", which orchard does not support (supported: " + supported + ")");
}

// rope_scaling: {"rope_type" (or the older "type"): ..., "factor": ..., ...}; null means none.
void translate_rope_scaling(const json& config, const std::string& file, const std::string& arch, Metadata& md) {
  auto it = config.find("rope_scaling");
  if (it == config.end() || it->is_null()) return;
  if (!it->is_object()) throw file_error(file, "\"rope_scaling\" must be an object or null, got " + it->dump());
  ConfigReader rs(*it, file, "rope_scaling.");
  auto type = rs.string("rope_type");
  if (!type) type = rs.string("type");
  if (!type) rs.fail("rope_type", "is missing");
  if (*type == "default") return;
  if (*type != "linear" && *type != "llama3" && *type != "yarn")
    rs.fail("rope_type", "is \"" + *type + "\", which orchard does not support (supported: linear, llama3, yarn)");

  const std::string key = arch + ".rope.scaling.";
  md.set(key + "type", MetaValue::string(*type));
  md.set(key + "factor", MetaValue::f32(static_cast<float>(rs.require_positive_number("factor"))));
  auto original = *type == "linear" ? rs.count("original_max_position_embeddings")
                                    : std::optional(rs.require_count("original_max_position_embeddings"));
  if (original) md.set(key + "original_context_length", MetaValue::u32(static_cast<uint32_t>(*original)));
  if (*type == "llama3") {
    md.set(key + "low_freq_factor", MetaValue::f32(static_cast<float>(rs.require_positive_number("low_freq_factor"))));
    md.set(key + "high_freq_factor", MetaValue::f32(static_cast<float>(rs.require_positive_number("high_freq_factor"))));
  }
}

}  // namespace

std::optional<int64_t> hf_first_token_id(const json& obj, const std::string& key, const std::string& file) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null() || (it->is_array() && it->empty())) return std::nullopt;
  const json& v = it->is_array() && !it->empty() ? (*it)[0] : *it;
  if (!v.is_number_unsigned() || v.get<uint64_t>() > 0xFFFFFFFFu)
    throw file_error(file, "\"" + key + "\" must be a token id or a list of token ids, got " + it->dump());
  return v.get<int64_t>();
}

HfModelConfig translate_hf_config(const json& config, const std::string& file) {
  if (!config.is_object()) throw file_error(file, "must be a JSON object");
  ConfigReader cfg(config, file);
  const ArchDefaults& arch_info = find_architecture(cfg);
  HfModelConfig out;
  out.architecture = arch_info.architecture;
  const std::string a = out.architecture + ".";
  Metadata& md = out.metadata;
  auto u32 = [](int64_t v) { return MetaValue::u32(static_cast<uint32_t>(v)); };
  auto f32 = [](double v) { return MetaValue::f32(static_cast<float>(v)); };

  const int64_t hidden = cfg.require_count("hidden_size");
  const int64_t heads = cfg.require_count("num_attention_heads");
  const int64_t kv_heads = cfg.count("num_key_value_heads").value_or(heads);
  if (heads % kv_heads != 0)
    cfg.fail("num_key_value_heads", "(" + std::to_string(kv_heads) + ") must divide num_attention_heads (" +
                                        std::to_string(heads) + ")");
  auto head_dim = cfg.count("head_dim");
  if (!head_dim) {
    if (hidden % heads != 0)
      cfg.fail("num_attention_heads", "(" + std::to_string(heads) + ") must divide hidden_size (" +
                                          std::to_string(hidden) + ") when head_dim is not given");
    head_dim = hidden / heads;
  }

  md.set("general.architecture", MetaValue::string(out.architecture));
  md.set(a + "vocab_size", u32(cfg.require_count("vocab_size")));
  md.set(a + "context_length", u32(cfg.count("max_position_embeddings").value_or(arch_info.max_position_embeddings)));
  md.set(a + "embedding_length", u32(hidden));
  md.set(a + "block_count", u32(cfg.require_count("num_hidden_layers")));
  md.set(a + "feed_forward_length", u32(cfg.require_count("intermediate_size")));
  md.set(a + "attention.head_count", u32(heads));
  md.set(a + "attention.head_count_kv", u32(kv_heads));
  md.set(a + "attention.key_length", u32(*head_dim));
  md.set(a + "attention.value_length", u32(*head_dim));
  md.set(a + "attention.layer_norm_rms_epsilon", f32(cfg.positive_number("rms_norm_eps").value_or(kDefaultRmsEps)));
  md.set(a + "rope.freq_base", f32(cfg.positive_number("rope_theta").value_or(kDefaultRopeTheta)));
  md.set(a + "rope.dimension_count", u32(*head_dim));
  translate_rope_scaling(config, file, out.architecture, md);

  if (auto bos = hf_first_token_id(config, "bos_token_id", file)) md.set("tokenizer.ggml.bos_token_id", u32(*bos));
  if (auto eos = hf_first_token_id(config, "eos_token_id", file)) md.set("tokenizer.ggml.eos_token_id", u32(*eos));
  out.tie_word_embeddings = cfg.boolean("tie_word_embeddings").value_or(false);
  return out;
}

HfModelConfig translate_hf_config_text(std::string_view json_text, const std::string& file) {
  return translate_hf_config(parse_json(json_text, file), file);
}

}  // namespace orchard
