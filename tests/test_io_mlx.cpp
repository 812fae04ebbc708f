// MLX-quantized checkpoints: config.json's "quantization" and the repacking of each module's
// uint32 weight words, scales and biases into orchard's MLX block types, with clear errors for
// inconsistent folders.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <random>

#include "core/error.h"
#include "io/mlx_checkpoint.h"
#include "quant/quant.h"

namespace orchard {
namespace {

using nlohmann::json;

struct Triplet {
  Tensor words, scales, biases;
  std::string blocks;  // what the repacked weight must hold
};

// Random rows encoded as `type`, then split the way mlx_lm stores them (scales/biases in `dtype`).
Triplet make_triplet(DType type, int bits, int64_t rows, int64_t cols, DType dtype, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.1f);
  const int64_t group = dtype_info(type).block_size, groups = cols / group;
  const size_t block_bytes = dtype_info(type).type_size, quant_bytes = block_bytes - 8;
  Triplet t{Tensor::zeros(DType::I32, {rows, cols * bits / 32}), Tensor::zeros(dtype, {rows, groups}),
            Tensor::zeros(dtype, {rows, groups}), std::string(row_bytes(type, cols) * rows, '\0')};
  std::vector<float> row(static_cast<size_t>(cols)), s(static_cast<size_t>(groups)), b(static_cast<size_t>(groups));
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : row) v = normal(rng);
    char* blocks = t.blocks.data() + r * row_bytes(type, cols);
    quantize_row(type, row.data(), blocks, cols);
    for (int64_t k = 0; k < groups; ++k) {
      char* block = blocks + k * block_bytes;
      std::memcpy(&s[k], block, 4);
      std::memcpy(&b[k], block + 4, 4);
      std::memcpy(t.words.as<uint8_t>() + r * t.words.row_bytes() + k * quant_bytes, block + 8, quant_bytes);
    }
    quantize_row(dtype, s.data(), t.scales.as<uint8_t>() + r * t.scales.row_bytes(), groups);
    quantize_row(dtype, b.data(), t.biases.as<uint8_t>() + r * t.biases.row_bytes(), groups);
    // The block holds the scales and biases as the file stores them (rounded to `dtype`).
    dequantize_row(dtype, t.scales.row(r), s.data(), groups);
    dequantize_row(dtype, t.biases.row(r), b.data(), groups);
    for (int64_t k = 0; k < groups; ++k) {
      std::memcpy(blocks + k * block_bytes, &s[k], 4);
      std::memcpy(blocks + k * block_bytes + 4, &b[k], 4);
    }
  }
  return t;
}

std::map<std::string, Tensor> module_tensors(const std::string& module, const Triplet& t) {
  return {{module + ".weight", t.words}, {module + ".scales", t.scales}, {module + ".biases", t.biases}};
}

MlxQuantization config(int bits, int group) {
  return *read_mlx_quantization(json{{"quantization", {{"bits", bits}, {"group_size", group}}}}, "config.json");
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(IoMlx, RepacksEveryBitsAndGroupIntoTheBlockType) {
  struct Case { DType type; int bits, group; DType dtype; };
  for (const Case c : {Case{DType::MLX_Q4_G32, 4, 32, DType::F16}, Case{DType::MLX_Q4_G64, 4, 64, DType::BF16},
                       Case{DType::MLX_Q4_G128, 4, 128, DType::F32}, Case{DType::MLX_Q8_G32, 8, 32, DType::F32},
                       Case{DType::MLX_Q8_G64, 8, 64, DType::F16}, Case{DType::MLX_Q8_G128, 8, 128, DType::BF16}}) {
    SCOPED_TRACE(std::string(dtype_name(c.type)));
    const Triplet t = make_triplet(c.type, c.bits, 5, 256, c.dtype, 3);
    auto tensors = module_tensors("model.layers.0.mlp.up_proj", t);
    tensors["model.norm.weight"] = Tensor::zeros(DType::F16, {256});
    repack_mlx_weights(tensors, config(c.bits, c.group), "folder");
    ASSERT_EQ(tensors.size(), 2u);
    const Tensor& w = tensors.at("model.layers.0.mlp.up_proj.weight");
    EXPECT_EQ(w.dtype(), c.type);
    EXPECT_EQ(w.shape(), (Shape{5, 256}));
    ASSERT_EQ(w.nbytes(), t.blocks.size());
    EXPECT_EQ(0, std::memcmp(w.data(), t.blocks.data(), t.blocks.size()));
    EXPECT_EQ(tensors.at("model.norm.weight").dtype(), DType::F16);
  }
}

TEST(IoMlx, PerModuleOverridesChooseTheirOwnBits) {
  const json cfg = {{"quantization", {{"bits", 4}, {"group_size", 64}, {"mode", "affine"},
                                      {"model.layers.0.mlp.down_proj", {{"bits", 8}, {"group_size", 32}}}}}};
  const MlxQuantization q = *read_mlx_quantization(cfg, "config.json");
  auto tensors = module_tensors("model.layers.0.mlp.down_proj", make_triplet(DType::MLX_Q8_G32, 8, 2, 128, DType::F16, 1));
  for (auto& [name, t] : module_tensors("model.layers.0.mlp.up_proj", make_triplet(DType::MLX_Q4_G64, 4, 2, 128, DType::F16, 2)))
    tensors[name] = t;
  repack_mlx_weights(tensors, q, "folder");
  EXPECT_EQ(tensors.at("model.layers.0.mlp.down_proj.weight").dtype(), DType::MLX_Q8_G32);
  EXPECT_EQ(tensors.at("model.layers.0.mlp.up_proj.weight").dtype(), DType::MLX_Q4_G64);
}

TEST(IoMlx, ConfigWithoutQuantizationIsNotMlx) {
  EXPECT_FALSE(read_mlx_quantization(json{{"model_type", "llama"}}, "config.json"));
  EXPECT_FALSE(read_mlx_quantization(json{{"quantization", nullptr}}, "config.json"));
}

TEST(IoMlx, UnsupportedQuantizationIsAClearError) {
  auto read = [](const json& q) { return error_of([&] { read_mlx_quantization(json{{"quantization", q}}, "config.json"); }); };
  EXPECT_NE(read({{"bits", 3}, {"group_size", 64}}).find("3 bits and group size 64 is not supported"), std::string::npos);
  EXPECT_NE(read({{"bits", 4}, {"group_size", 16}}).find("group size 16 is not supported"), std::string::npos);
  EXPECT_NE(read({{"bits", 4}}).find("\"group_size\""), std::string::npos);
  const std::string gptq = error_of([] {
    read_mlx_quantization(json{{"quantization_config", {{"quant_method", "gptq"}}}}, "config.json");
  });
  EXPECT_NE(gptq.find("not MLX affine quantization"), std::string::npos) << gptq;
}

TEST(IoMlx, InconsistentTripletsAreClearErrors) {
  const std::string m = "model.layers.1.self_attn.q_proj";
  const Triplet t = make_triplet(DType::MLX_Q4_G64, 4, 4, 128, DType::F16, 9);
  auto fails = [&](std::map<std::string, Tensor> tensors, const MlxQuantization& q) {
    return error_of([&] { repack_mlx_weights(tensors, q, "some/folder"); });
  };
  auto without = [&](const std::string& suffix) {
    auto tensors = module_tensors(m, t);
    tensors.erase(m + suffix);
    return tensors;
  };
  EXPECT_NE(fails(without(".biases"), config(4, 64)).find("has scales but no biases"), std::string::npos);
  EXPECT_NE(fails(without(".scales"), config(4, 64)).find("has biases but no scales"), std::string::npos);
  EXPECT_NE(fails(without(".weight"), config(4, 64)).find("no weight"), std::string::npos);
  auto only_words = without(".scales");
  only_words.erase(m + ".biases");
  EXPECT_NE(fails(only_words, config(4, 64)).find("has no scales and biases"), std::string::npos);
  // Declared 8 bits: the words hold 64 columns, one group of 64 per row, but the scales say 2.
  const std::string wrong_bits = fails(module_tensors(m, t), config(8, 64));
  EXPECT_NE(wrong_bits.find("scales has shape [4, 2], expected [4, 1]"), std::string::npos) << wrong_bits;
  auto bad_biases = module_tensors(m, t);
  bad_biases[m + ".biases"] = Tensor::zeros(DType::F16, {4, 3});
  EXPECT_NE(fails(bad_biases, config(4, 64)).find("biases has shape [4, 3], expected [4, 2]"), std::string::npos);
  auto int_scales = module_tensors(m, t);
  int_scales[m + ".scales"] = Tensor::zeros(DType::I32, {4, 2});
  EXPECT_NE(fails(int_scales, config(4, 64)).find("must be F32, F16 or BF16"), std::string::npos);
  const Triplet g32 = make_triplet(DType::MLX_Q4_G32, 4, 4, 96, DType::F16, 9);
  EXPECT_NE(fails(module_tensors(m, g32), config(4, 64)).find("96 columns are not a whole number of groups of 64"),
            std::string::npos);
  EXPECT_EQ(fails(module_tensors(m, t), config(4, 64)), "no error");
  EXPECT_NE(fails(bad_biases, config(4, 64)).find("some/folder"), std::string::npos);
}

}  // namespace
}  // namespace orchard
