#include "adapters/fuse.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/gguf.h"
#include "io/hf_tensor_names.h"
#include "io/safetensors.h"
#include "models/config.h"
#include "models/rope.h"
#include "quant/quant.h"

namespace orchard {

namespace fs = std::filesystem;

namespace {

Tensor to_f32(const Tensor& t) {
  Tensor out = Tensor::zeros(DType::F32, t.shape());
  for (int64_t r = 0; r < t.rows(); ++r) dequantize_row(t.dtype(), t.row(r), out.f32() + r * t.cols(), t.cols());
  return out;
}

Tensor fuse_weight(const Tensor& w, const LoraAdapter& a, bool dequantize) {
  const int64_t out_f = w.dim(0), in_f = w.dim(1), rank = a.rank();
  Tensor fused = to_f32(w);
  std::vector<float> factor;
  if (!a.magnitude.empty()) {
    factor.resize(out_f);
    dora_row_factor(w, a, factor.data());
  }
  const float* A = a.a.f32();
  const float* B = a.b.f32();
  for (int64_t r = 0; r < out_f; ++r) {
    float* row = fused.f32() + r * in_f;
    for (int64_t k = 0; k < rank; ++k) {
      const float s = a.scale * B[r * rank + k];
      const float* a_row = A + k * in_f;
      for (int64_t c = 0; c < in_f; ++c) row[c] += s * a_row[c];
    }
    if (!factor.empty())
      for (int64_t c = 0; c < in_f; ++c) row[c] *= factor[r];
  }
  if (dequantize || w.dtype() == DType::F32) return fused;
  Tensor out = Tensor::zeros(w.dtype(), w.shape());
  try {
    for (int64_t r = 0; r < out_f; ++r)
      quantize_row(w.dtype(), fused.f32() + r * in_f, const_cast<uint8_t*>(out.row(r)), in_f);
  } catch (const Error& e) {
    throw Error("fusing '" + a.weight_name + "': cannot write its type " + std::string(dtype_name(w.dtype())) +
                " (" + e.what() + "); use --dequantize");
  }
  return out;
}

void copy_file_atomically(const fs::path& from, const fs::path& to) {
  std::ifstream in(from, std::ios::binary);
  if (!in) throw file_error(from.string(), "cannot read");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  AtomicFile out(to.string());
  out.write(bytes);
  out.commit();
}

void write_hf_folder(const ModelSource& base, const std::map<std::string, Tensor>& tensors, const fs::path& dir) {
  std::map<std::string, Tensor> hf;
  for (const auto& [name, t] : tensors) {
    const auto hf_name = hf_tensor_name(name);
    if (!hf_name) throw file_error(base.path, "tensor '" + name + "' has no Hugging Face name to write it under");
    if (is_quantized(t.dtype()))
      throw file_error(base.path, "tensor '" + name + "' is " + std::string(dtype_name(t.dtype())) +
                                      ", which safetensors cannot hold; use --dequantize or --gguf");
    hf.emplace(*hf_name, t);
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw file_error(dir.string(), "cannot create the output folder: " + ec.message());
  // Config, tokenizer and generation files as they are; the weights are the new ones.
  for (const auto& entry : fs::directory_iterator(base.path)) {
    const std::string file = entry.path().filename().string();
    if (!entry.is_regular_file() || file.ends_with(".safetensors") || file == "model.safetensors.index.json") continue;
    copy_file_atomically(entry.path(), dir / file);
  }
  write_safetensors((dir / "model.safetensors").string(), hf, {{"format", "pt"}});
}

// llama.cpp's Q/K row order for a llama written as GGUF from Hugging Face weights.
Tensor to_gguf_rows(const ModelSource& base, const std::string& name, const Tensor& t) {
  if (base.format != ModelFormat::HuggingFace || base.architecture != "llama") return t;
  const bool q = name.ends_with(".attn_q.weight") || name.ends_with(".attn_q.bias");
  const bool k = name.ends_with(".attn_k.weight") || name.ends_with(".attn_k.bias");
  if (!q && !k) return t;
  const ModelConfig c = read_config(base);
  const std::vector<int64_t> order = interleave_rope_rows(q ? c.n_head : c.n_head_kv, c.head_dim);
  const bool vector = t.ndim() == 1;  // a bias: its elements are the rows
  const size_t bytes = vector ? row_bytes(t.dtype(), 1) : t.row_bytes();
  Tensor out = Tensor::zeros(t.dtype(), t.shape());
  for (size_t r = 0; r < order.size(); ++r)
    std::memcpy(static_cast<uint8_t*>(out.data()) + r * bytes, static_cast<const uint8_t*>(t.data()) + order[r] * bytes,
                bytes);
  return out;
}

void write_gguf(const ModelSource& base, const std::map<std::string, Tensor>& tensors, const std::string& path,
                bool dequantized, const Metadata& tokenizer) {
  GgufWriter writer;
  for (const auto& [key, value] : base.metadata.all()) writer.set(key, value);
  for (const auto& [key, value] : tokenizer.all()) writer.set(key, value);
  bool all_f32 = true;
  for (const auto& [name, t] : tensors) {
    writer.add_tensor(name, to_gguf_rows(base, name, t));
    all_f32 = all_f32 && t.dtype() == DType::F32;
  }
  if (dequantized && all_f32) writer.set("general.file_type", MetaValue::u32(0));  // LLAMA_FTYPE_ALL_F32
  const auto alignment = base.metadata.get_int("general.alignment");
  writer.write(path, alignment ? static_cast<uint64_t>(*alignment) : 32);
}

}  // namespace

std::map<std::string, Tensor> fused_tensors(const ModelSource& base, const AdapterSet& adapters, bool dequantize) {
  std::map<std::string, Tensor> out;
  for (const auto& [name, t] : base.tensors) {
    const LoraAdapter* a = adapters.find(&t);
    if (a)
      out.emplace(name, fuse_weight(t, *a, dequantize));
    else
      out.emplace(name, dequantize && is_quantized(t.dtype()) ? to_f32(t) : t);
  }
  for (const LoraAdapter& a : adapters.adapters())
    if (!adapters.find(&base.require(a.weight_name)))
      throw Error("adapter on '" + a.weight_name + "' is not bound to " + base.path);
  return out;
}

void fuse_model(const ModelSource& base, const AdapterSet& adapters, const std::string& save_path,
                const FuseOptions& options) {
  const std::map<std::string, Tensor> tensors = fused_tensors(base, adapters, options.dequantize);
  if (base.format == ModelFormat::Gguf || options.gguf) {
    write_gguf(base, tensors, save_path, options.dequantize, options.gguf_tokenizer);
  } else {
    write_hf_folder(base, tensors, save_path);
  }
}

}  // namespace orchard
