#include "io/model_source.h"

#include <filesystem>

#include "core/error.h"
#include "io/gguf.h"
#include "io/hf_folder.h"
#include "io/quantize_weights.h"

namespace orchard {
namespace {

ModelSource open_gguf(const std::string& path, const LoadOptions& options) {
  auto file = GgufFile::open(path);
  ModelSource src;
  src.path = path;
  src.format = ModelFormat::Gguf;
  src.metadata = file->metadata();
  auto arch = src.metadata.get_string("general.architecture");
  if (!arch) throw file_error(path, "missing metadata key 'general.architecture'");
  src.architecture = *arch;
  for (const auto& info : file->tensors()) src.tensors[info.name] = file->tensor(info);  // views keep the mapping alive
  src.file_bytes = file->file_size();
  if (options.quantize) quantize_weights(src.tensors, *options.quantize);
  return src;
}

}  // namespace

const Tensor* ModelSource::find(const std::string& name) const {
  auto it = tensors.find(name);
  return it == tensors.end() ? nullptr : &it->second;
}

const Tensor& ModelSource::require(const std::string& name) const {
  if (const Tensor* t = find(name)) return *t;
  throw file_error(path, "missing tensor '" + name + "'");
}

ModelSource open_model(const std::string& path, const LoadOptions& options) {
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) throw file_error(path, "no such file or folder");
  if (std::filesystem::is_directory(status)) return open_hf_folder(path, options);
  const std::filesystem::path p(path);
  if (p.extension() == ".safetensors" || p.extension() == ".json")
    throw file_error(path, "is part of a Hugging Face model; pass the folder that holds it");
  return open_gguf(path, options);
}

}  // namespace orchard
