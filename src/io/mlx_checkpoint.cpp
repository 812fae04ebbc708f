#include "io/mlx_checkpoint.h"

#include <cstring>
#include <vector>

#include "core/error.h"
#include "quant/quant.h"

namespace orchard {
namespace {

using nlohmann::json;

constexpr std::string_view kScales = ".scales";

MlxGrouping read_grouping(const json& j, const std::string& file, const std::string& what) {
  auto field = [&](const char* name) {
    auto it = j.find(name);
    if (it == j.end() || !it->is_number_integer())
      throw file_error(file, what + " needs an integer \"" + name + "\"");
    return it->get<int>();
  };
  MlxGrouping g{field("bits"), field("group_size")};
  mlx_block_type(g, file);  // validates
  return g;
}

std::string shape_mismatch(const std::string& module, const char* what, const Tensor& t, const Shape& want) {
  return "MLX-quantized '" + module + "': " + what + " has shape " + shape_str(t.shape()) + ", expected " +
         shape_str(want);
}

// One module's triplet -> [out, in] blocks: per group the scale and bias as floats, then the
// quant bytes exactly as stored (MLX's little-endian uint32 words are already in block order).
Tensor repack(const std::string& module, const Tensor& weight, const Tensor& scales, const Tensor& biases,
              const MlxGrouping& g, const std::string& where) {
  if (weight.dtype() != DType::I32)
    throw file_error(where, "MLX-quantized '" + module + "': weight must be U32 words, got " +
                                std::string(dtype_name(weight.dtype())));
  for (const Tensor* t : {&scales, &biases})
    if (t->dtype() != DType::F32 && t->dtype() != DType::F16 && t->dtype() != DType::BF16)
      throw file_error(where, "MLX-quantized '" + module + "': scales and biases must be F32, F16 or BF16, got " +
                                  std::string(dtype_name(t->dtype())));
  if (weight.ndim() != 2) throw file_error(where, "MLX-quantized '" + module + "': weight must be 2-D, got " + shape_str(weight.shape()));
  const int64_t out = weight.dim(0);
  const int64_t in = weight.dim(1) * (32 / g.bits);
  if (in % g.group_size != 0)
    throw file_error(where, "MLX-quantized '" + module + "': " + std::to_string(in) +
                                " columns are not a whole number of groups of " + std::to_string(g.group_size));
  const int64_t groups = in / g.group_size;
  if (scales.shape() != Shape{out, groups}) throw file_error(where, shape_mismatch(module, "scales", scales, {out, groups}));
  if (biases.shape() != Shape{out, groups}) throw file_error(where, shape_mismatch(module, "biases", biases, {out, groups}));

  const DType type = mlx_block_type(g, where);
  Tensor packed = Tensor::zeros(type, {out, in});
  const size_t block_bytes = dtype_info(type).type_size;
  const size_t quant_bytes = block_bytes - 2 * sizeof(float);
  std::vector<float> s(static_cast<size_t>(groups)), b(static_cast<size_t>(groups));
  for (int64_t r = 0; r < out; ++r) {
    dequantize_row(scales.dtype(), scales.row(r), s.data(), groups);
    dequantize_row(biases.dtype(), biases.row(r), b.data(), groups);
    auto* dst = packed.as<uint8_t>() + r * packed.row_bytes();
    const uint8_t* quants = weight.row(r);
    for (int64_t k = 0; k < groups; ++k) {
      uint8_t* block = dst + k * block_bytes;
      std::memcpy(block, &s[k], sizeof(float));
      std::memcpy(block + sizeof(float), &b[k], sizeof(float));
      std::memcpy(block + 2 * sizeof(float), quants + k * quant_bytes, quant_bytes);
    }
  }
  return packed;
}

}  // namespace

DType mlx_block_type(const MlxGrouping& g, const std::string& file) {
  const int group_index = g.group_size == 32 ? 0 : g.group_size == 64 ? 1 : g.group_size == 128 ? 2 : -1;
  if ((g.bits != 4 && g.bits != 8) || group_index < 0)
    throw file_error(file, "MLX quantization with " + std::to_string(g.bits) + " bits and group size " +
                               std::to_string(g.group_size) + " is not supported (orchard reads 4 or 8 bits, groups of 32, 64 or 128)");
  constexpr DType kTypes[2][3] = {{DType::MLX_Q4_G32, DType::MLX_Q4_G64, DType::MLX_Q4_G128},
                                  {DType::MLX_Q8_G32, DType::MLX_Q8_G64, DType::MLX_Q8_G128}};
  return kTypes[g.bits == 8][group_index];
}

std::optional<MlxQuantization> read_mlx_quantization(const json& config, const std::string& file) {
  if (!config.is_object()) return std::nullopt;
  auto it = config.find("quantization");
  if (it == config.end()) it = config.find("quantization_config");
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (!it->is_object()) throw file_error(file, "\"quantization\" must be an object");
  // transformers' quantization_config of other methods (gptq, awq, ...) is not MLX's.
  if (!it->contains("bits") || !it->contains("group_size"))
    throw file_error(file, "\"" + it.key() + "\" is not MLX affine quantization (needs \"bits\" and \"group_size\")");
  MlxQuantization q{read_grouping(*it, file, "\"" + it.key() + "\""), {}};
  for (const auto& [key, value] : it->items())
    if (value.is_object()) q.per_module[key] = read_grouping(value, file, "\"" + it.key() + "\" entry '" + key + "'");
  return q;
}

void repack_mlx_weights(std::map<std::string, Tensor>& tensors, const MlxQuantization& q, const std::string& where) {
  std::vector<std::string> modules;
  for (const auto& [name, t] : tensors) {
    const bool is_scales = name.ends_with(kScales);
    const bool is_biases = name.ends_with(".biases");
    if (!is_scales && !is_biases) continue;
    const std::string module = name.substr(0, name.rfind('.'));
    const std::string partner = module + (is_scales ? ".biases" : ".scales");
    if (!tensors.count(partner))
      throw file_error(where, "MLX-quantized '" + module + "' has " + name.substr(module.size() + 1) + " but no " +
                                  partner.substr(module.size() + 1));
    if (!tensors.count(module + ".weight"))
      throw file_error(where, "MLX-quantized '" + module + "' has scales and biases but no weight");
    if (is_scales) modules.push_back(module);
  }
  for (const auto& module : modules) {
    auto override_it = q.per_module.find(module);
    const MlxGrouping& g = override_it != q.per_module.end() ? override_it->second : q.defaults;
    Tensor packed = repack(module, tensors.at(module + ".weight"), tensors.at(module + ".scales"),
                           tensors.at(module + ".biases"), g, where);
    tensors.erase(module + ".scales");
    tensors.erase(module + ".biases");
    tensors[module + ".weight"] = std::move(packed);
  }
  // uint32 words left over are quants whose scales and biases are missing.
  for (const auto& [name, t] : tensors)
    if (t.dtype() == DType::I32 && name.ends_with(".weight"))
      throw file_error(where, "MLX-quantized '" + name + "' has no scales and biases beside it");
}

}  // namespace orchard
