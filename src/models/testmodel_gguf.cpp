// A test model as a GGUF file in llama.cpp's conventions (what convert_hf_to_gguf.py writes).
#include <algorithm>

#include "core/error.h"
#include "io/gguf.h"
#include "models/rope.h"
#include "models/testmodel.h"

namespace orchard {

namespace {

void set_hparams(GgufWriter& out, const TestModelSpec& spec, const ModelConfig& c, const GgufFileType& file_type) {
  const std::string a = c.architecture + ".";
  auto u32 = [](int64_t v) { return MetaValue::u32(static_cast<uint32_t>(v)); };
  out.set("general.architecture", MetaValue::string(c.architecture));
  out.set("general.name", MetaValue::string(spec.name));
  out.set("general.file_type", MetaValue::u32(llama_ftype(file_type)));
  out.set(a + "vocab_size", u32(c.n_vocab));
  out.set(a + "context_length", u32(c.context_length));
  out.set(a + "embedding_length", u32(c.n_embd));
  out.set(a + "block_count", u32(c.n_layer));
  out.set(a + "feed_forward_length", u32(c.n_ff));
  out.set(a + "attention.head_count", u32(c.n_head));
  out.set(a + "attention.head_count_kv", u32(c.n_head_kv));
  out.set(a + "attention.key_length", u32(c.head_dim));
  out.set(a + "attention.value_length", u32(c.head_dim));
  out.set(a + "attention.layer_norm_rms_epsilon", MetaValue::f32(c.rms_eps));
  out.set(a + "rope.dimension_count", u32(c.head_dim));
  out.set(a + "rope.freq_base", MetaValue::f32(c.rope_theta));
  // Llama 3 scaling travels as the rope_freqs.weight tensor instead (llama.cpp has no key for it).
  if (c.rope_scaling == RopeScaling::Linear) {
    out.set(a + "rope.scaling.type", MetaValue::string("linear"));
    out.set(a + "rope.scaling.factor", MetaValue::f32(c.rope_factor));
  }
}

}  // namespace

void write_test_gguf(const TestModelSpec& spec, const TestVocab& vocab, const GgufFileType& file_type, uint64_t seed,
                     const std::string& path) {
  const ModelConfig c = resolve_test_config(spec, vocab);
  GgufWriter out;
  set_hparams(out, spec, c, file_type);
  const Metadata tokenizer = test_tokenizer_metadata(vocab, c.n_vocab);
  for (const auto& [key, value] : tokenizer.all()) out.set(key, value);

  const auto q_rows = interleave_rope_rows(c.n_head, c.head_dim);
  const auto k_rows = interleave_rope_rows(c.n_head_kv, c.head_dim);
  // Each Tensor owns its storage, so the writer's copies keep the bytes alive until write().
  for (const TensorSpec& t : decoder_tensors(c)) {
    const std::vector<int64_t>* order = nullptr;
    if (c.architecture == "llama" && (t.name.ends_with(".attn_q.weight") || t.name.ends_with(".attn_q.bias"))) order = &q_rows;
    if (c.architecture == "llama" && (t.name.ends_with(".attn_k.weight") || t.name.ends_with(".attn_k.bias"))) order = &k_rows;
    const DType type = t.role == TensorSpec::Role::Matrix
                           ? gguf_tensor_type(file_type, t.name, t.shape.back(), c.n_layer, !c.tied_embeddings)
                           : DType::F32;
    out.add_tensor(t.name, test_weight(t, type, seed, order));
  }
  if (c.rope_scaling == RopeScaling::Llama3) {
    std::vector<float> divisors = llama3_rope_divisors(c);
    Tensor t = Tensor::zeros(DType::F32, {static_cast<int64_t>(divisors.size())});
    std::copy(divisors.begin(), divisors.end(), t.f32());
    out.add_tensor(kRopeFreqsTensor, t);
  }
  out.write(path);
}

}  // namespace orchard
