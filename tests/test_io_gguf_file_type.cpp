// The per-tensor types of llama.cpp's file types (io/gguf_file_type.h): the Q4_K_M mixture as
// llama-quantize makes it for TinyLlama-1.1B (its published Q4_K_M has 21 q6_K tensors: output
// and attn_v / ffn_down of the same 10 of 22 layers), the fallbacks for rows that 256-element
// super-blocks do not tile, and general.file_type values.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "core/error.h"
#include "io/gguf_file_type.h"

namespace orchard {
namespace {

TEST(GgufFileType, Q4KMGivesQ6KToOutputAndToAttnVAndFfnDownOfTheLayersUseMoreBitsPicks) {
  const GgufFileType ft = GgufFileType::Q4_K_M();
  const std::set<int> more_bits = {0, 1, 4, 7, 10, 13, 16, 19, 20, 21};  // n_layer 22
  for (int layer = 0; layer < 22; ++layer) {
    const std::string blk = "blk." + std::to_string(layer) + ".";
    const DType wide = more_bits.count(layer) ? DType::Q6_K : DType::Q4_K;
    EXPECT_EQ(gguf_tensor_type(ft, blk + "attn_v.weight", 2048, 22, true), wide) << layer;
    EXPECT_EQ(gguf_tensor_type(ft, blk + "ffn_down.weight", 5632, 22, true), wide) << layer;
    for (const char* other : {"attn_q.weight", "attn_k.weight", "attn_output.weight", "ffn_gate.weight", "ffn_up.weight"})
      EXPECT_EQ(gguf_tensor_type(ft, blk + other, 2048, 22, true), DType::Q4_K) << blk << other;
  }
  EXPECT_EQ(gguf_tensor_type(ft, "output.weight", 2048, 22, true), DType::Q6_K);
  EXPECT_EQ(gguf_tensor_type(ft, "token_embd.weight", 2048, 22, true), DType::Q4_K);
  // Tied embeddings: token_embd is also the output.
  EXPECT_EQ(gguf_tensor_type(ft, "token_embd.weight", 1024, 28, false), DType::Q6_K);
}

TEST(GgufFileType, RowsNotTiledBySuperBlocksFallBackAsLlamaCpp) {
  const GgufFileType ft = GgufFileType::Q4_K_M();
  EXPECT_EQ(gguf_tensor_type(ft, "blk.1.attn_q.weight", 128, 3, true), DType::Q5_0);
  EXPECT_EQ(gguf_tensor_type(ft, "blk.2.attn_v.weight", 128, 3, true), DType::Q8_0);  // q6_K's fallback
  EXPECT_EQ(gguf_tensor_type(ft, "output.weight", 128, 3, true), DType::Q8_0);
  EXPECT_EQ(gguf_tensor_type(ft, "blk.0.attn_q.weight", 80, 3, true), DType::F16);  // not even 32-element blocks
  EXPECT_EQ(gguf_tensor_type(DType::Q5_K, "blk.0.ffn_up.weight", 320, 3, true), DType::Q5_1);
  EXPECT_EQ(gguf_tensor_type(DType::Q3_K, "blk.0.ffn_up.weight", 320, 3, true), DType::IQ4_NL);
  EXPECT_EQ(gguf_tensor_type(DType::Q6_K, "output.weight", 256, 3, true), DType::Q6_K);
  EXPECT_EQ(gguf_tensor_type(DType::Q8_0, "blk.0.attn_v.weight", 256, 3, true), DType::Q8_0);  // uniform: no mixture
}

TEST(GgufFileType, NamesAndLlamaFileTypes) {
  EXPECT_TRUE(gguf_file_type_from_name("q4_k_m")->q4_k_m);
  EXPECT_EQ(gguf_file_type_from_name("q5_1")->base, DType::Q5_1);
  EXPECT_FALSE(gguf_file_type_from_name("q4_k_x"));
  EXPECT_EQ(llama_ftype(GgufFileType::Q4_K_M()), 15u);
  EXPECT_EQ(llama_ftype(DType::Q4_1), 3u);
  EXPECT_EQ(llama_ftype(DType::Q5_0), 8u);
  EXPECT_EQ(llama_ftype(DType::Q5_1), 9u);
  EXPECT_EQ(llama_ftype(DType::Q6_K), 18u);
  EXPECT_THROW(llama_ftype(DType::Q8_K), Error);
}

}  // namespace
}  // namespace orchard
