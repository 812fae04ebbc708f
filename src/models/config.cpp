#include "models/config.h"

#include <set>

#include "core/error.h"

namespace orchard {

namespace {

// Metadata reads scoped to one architecture's "{arch}." keys, with errors naming the file.
class ArchKeys {
 public:
  explicit ArchKeys(const ModelSource& source) : source_(source), prefix_(source.architecture + ".") {}

  int64_t require_int(const std::string& key) const {
    auto v = get_int(key);
    if (!v) throw file_error(source_.path, "missing metadata key '" + prefix_ + key + "'");
    return *v;
  }
  std::optional<int64_t> get_int(const std::string& key) const { return read([&] { return md().get_int(prefix_ + key); }); }
  std::optional<double> get_float(const std::string& key) const {
    return read([&] { return md().get_float(prefix_ + key); });
  }
  std::optional<std::string> get_string(const std::string& key) const {
    return read([&] { return md().get_string(prefix_ + key); });
  }
  [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
    throw file_error(source_.path, "metadata key '" + prefix_ + key + "' " + problem);
  }

 private:
  const Metadata& md() const { return source_.metadata; }
  // Metadata type errors name the key but not the file; add it.
  template <class F> auto read(F f) const -> decltype(f()) {
    try {
      return f();
    } catch (const Error& e) {
      throw file_error(source_.path, e.what());
    }
  }
  const ModelSource& source_;
  std::string prefix_;
};

// Sizes are bounded so that products of them (shapes, cache sizes) cannot overflow int64.
int64_t positive(const ArchKeys& keys, const std::string& key, int64_t v) {
  constexpr int64_t kMaxSize = int64_t{1} << 26;
  if (v <= 0 || v > kMaxSize)
    keys.fail(key, "must be between 1 and " + std::to_string(kMaxSize) + ", got " + std::to_string(v));
  return v;
}

RopeScaling parse_rope_scaling(const ArchKeys& keys, const std::string& type) {
  if (type.empty() || type == "none") return RopeScaling::None;
  if (type == "linear") return RopeScaling::Linear;
  if (type == "llama3") return RopeScaling::Llama3;
  keys.fail("rope.scaling.type", "is '" + type + "': supported rope scaling types are none, linear and llama3");
}

void read_rope(const ArchKeys& keys, ModelConfig& c) {
  c.rope_theta = static_cast<float>(keys.get_float("rope.freq_base").value_or(10000.0));
  if (!(c.rope_theta > 1.0f)) keys.fail("rope.freq_base", "must be > 1");
  if (auto n_rot = keys.get_int("rope.dimension_count"); n_rot && *n_rot != c.head_dim)
    keys.fail("rope.dimension_count", "is " + std::to_string(*n_rot) + " but the head size is " +
                                          std::to_string(c.head_dim) + " (partial rotary is not supported)");

  c.rope_scaling = parse_rope_scaling(keys, keys.get_string("rope.scaling.type").value_or(""));
  if (c.rope_scaling == RopeScaling::None) return;
  c.rope_factor = static_cast<float>(keys.get_float("rope.scaling.factor").value_or(1.0));
  if (!(c.rope_factor >= 1.0f)) keys.fail("rope.scaling.factor", "must be >= 1");
  if (c.rope_scaling != RopeScaling::Llama3) return;
  c.rope_low_freq_factor = static_cast<float>(keys.get_float("rope.scaling.low_freq_factor").value_or(1.0));
  c.rope_high_freq_factor = static_cast<float>(keys.get_float("rope.scaling.high_freq_factor").value_or(4.0));
  c.rope_original_context = keys.get_int("rope.scaling.original_context_length").value_or(8192);
  if (!(c.rope_high_freq_factor > c.rope_low_freq_factor) || c.rope_low_freq_factor <= 0.0f)
    keys.fail("rope.scaling.high_freq_factor", "must exceed rope.scaling.low_freq_factor > 0");
  positive(keys, "rope.scaling.original_context_length", c.rope_original_context);
}

}  // namespace

std::string layer_tensor(int64_t layer, const char* name) { return "blk." + std::to_string(layer) + "." + name; }

ModelConfig read_config(const ModelSource& source) {
  if (source.architecture.empty()) throw file_error(source.path, "missing metadata key 'general.architecture'");
  ArchKeys keys(source);
  ModelConfig c;
  c.architecture = source.architecture;
  c.n_embd = positive(keys, "embedding_length", keys.require_int("embedding_length"));
  c.n_layer = positive(keys, "block_count", keys.require_int("block_count"));
  c.n_ff = positive(keys, "feed_forward_length", keys.require_int("feed_forward_length"));
  c.n_head = positive(keys, "attention.head_count", keys.require_int("attention.head_count"));
  c.n_head_kv = positive(keys, "attention.head_count_kv", keys.get_int("attention.head_count_kv").value_or(c.n_head));
  if (c.n_head % c.n_head_kv != 0)
    keys.fail("attention.head_count_kv", "(" + std::to_string(c.n_head_kv) + ") must divide attention.head_count (" +
                                             std::to_string(c.n_head) + ")");
  c.head_dim = positive(keys, "attention.key_length", keys.get_int("attention.key_length").value_or(c.n_embd / c.n_head));
  if (c.head_dim % 2 != 0) keys.fail("attention.key_length", "must be even for rotary embeddings");
  if (auto v = keys.get_int("attention.value_length"); v && *v != c.head_dim)
    keys.fail("attention.value_length", "differs from attention.key_length (not supported)");
  c.context_length = positive(keys, "context_length", keys.require_int("context_length"));
  double eps = keys.get_float("attention.layer_norm_rms_epsilon").value_or(1e-5);
  if (!(eps > 0.0 && eps < 1.0)) keys.fail("attention.layer_norm_rms_epsilon", "must be in (0, 1)");
  c.rms_eps = static_cast<float>(eps);
  read_rope(keys, c);

  const Tensor& embd = source.require("token_embd.weight");
  if (embd.ndim() != 2) throw file_error(source.path, "tensor 'token_embd.weight' must be 2-D, has shape " + shape_str(embd.shape()));
  c.n_vocab = embd.dim(0);
  if (auto v = keys.get_int("vocab_size"); v && *v != c.n_vocab)
    keys.fail("vocab_size", "is " + std::to_string(*v) + " but token_embd.weight has " + std::to_string(c.n_vocab) + " rows");
  c.tied_embeddings = source.find("output.weight") == nullptr;
  return c;
}

std::vector<TensorSpec> decoder_tensors(const ModelConfig& c) {
  using Role = TensorSpec::Role;
  const int64_t q_dim = c.n_head * c.head_dim, kv_dim = c.n_head_kv * c.head_dim;
  std::vector<TensorSpec> specs{{"token_embd.weight", {c.n_vocab, c.n_embd}, Role::Matrix}};
  for (int64_t l = 0; l < c.n_layer; ++l) {
    auto add = [&](const char* name, Shape shape, Role role) { specs.push_back({layer_tensor(l, name), std::move(shape), role}); };
    add("attn_norm.weight", {c.n_embd}, Role::Norm);
    add("attn_q.weight", {q_dim, c.n_embd}, Role::Matrix);
    add("attn_k.weight", {kv_dim, c.n_embd}, Role::Matrix);
    add("attn_v.weight", {kv_dim, c.n_embd}, Role::Matrix);
    if (c.qkv_bias) {
      add("attn_q.bias", {q_dim}, Role::Bias);
      add("attn_k.bias", {kv_dim}, Role::Bias);
      add("attn_v.bias", {kv_dim}, Role::Bias);
    }
    if (c.qk_norm) {
      add("attn_q_norm.weight", {c.head_dim}, Role::Norm);
      add("attn_k_norm.weight", {c.head_dim}, Role::Norm);
    }
    add("attn_output.weight", {c.n_embd, q_dim}, Role::Matrix);
    add("ffn_norm.weight", {c.n_embd}, Role::Norm);
    add("ffn_gate.weight", {c.n_ff, c.n_embd}, Role::Matrix);
    add("ffn_up.weight", {c.n_ff, c.n_embd}, Role::Matrix);
    add("ffn_down.weight", {c.n_embd, c.n_ff}, Role::Matrix);
  }
  specs.push_back({"output_norm.weight", {c.n_embd}, Role::Norm});
  if (!c.tied_embeddings) specs.push_back({"output.weight", {c.n_vocab, c.n_embd}, Role::Matrix});
  return specs;
}

void validate_tensors(const ModelSource& source, const ModelConfig& config) {
  // Every layer has several tensors, so a block_count above the tensor count is certainly wrong;
  // say so before building the (then huge) list of expected tensors.
  if (static_cast<int64_t>(source.tensors.size()) < config.n_layer)
    throw file_error(source.path, "metadata says " + std::to_string(config.n_layer) + " layers but the file has only " +
                                      std::to_string(source.tensors.size()) + " tensors");
  auto check = [&](const std::string& name, const Shape& want) {
    const Tensor* t = source.find(name);
    if (!t) throw file_error(source.path, "missing tensor '" + name + "' (expected shape " + shape_str(want) + ")");
    if (t->shape() != want)
      throw file_error(source.path, "tensor '" + name + "' has shape " + shape_str(t->shape()) + ", expected " +
                                        shape_str(want) + " from the model's hyperparameters");
  };
  const std::vector<TensorSpec> specs = decoder_tensors(config);
  std::set<std::string> expected{kRopeFreqsTensor};
  for (const TensorSpec& spec : specs) {
    check(spec.name, spec.shape);
    expected.insert(spec.name);
  }
  if (source.find(kRopeFreqsTensor)) check(kRopeFreqsTensor, {config.head_dim / 2});
  // Like llama.cpp, refuse weights the model would not use: they mean the metadata and the
  // tensors disagree (a wrong block_count, a bias this family does not have, ...).
  for (const auto& [name, tensor] : source.tensors)
    if (!expected.count(name))
      throw file_error(source.path, "unexpected tensor '" + name + "' (a " + config.architecture +
                                        " model with block_count " + std::to_string(config.n_layer) +
                                        " does not use it)");
}

}  // namespace orchard
