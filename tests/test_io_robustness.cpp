// Hostile and damaged inputs: every one must end in an orchard::Error naming the file, never a
// crash or an out-of-bounds read (run under -DORCHARD_SANITIZE=ON to make the latter loud).
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "core/error.h"
#include "io/gguf.h"
#include "io/hf_config.h"
#include "io/safetensors.h"
#include "support/paths.h"

namespace orchard {
namespace {

namespace fs = std::filesystem;
constexpr const char* kName = "hostile.gguf";

// Little-endian byte string builder for hand-made GGUF files.
struct Bytes {
  std::string s;
  template <class T> Bytes& put(T v) {
    s.append(reinterpret_cast<const char*>(&v), sizeof(T));
    return *this;
  }
  Bytes& str(const std::string& v) {
    put<uint64_t>(v.size());
    s += v;
    return *this;
  }
  Bytes& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    s += "GGUF";
    return put<uint32_t>(version).put<uint64_t>(n_tensors).put<uint64_t>(n_kv);
  }
  Bytes& kv_u32(const std::string& key, uint32_t v) { return str(key).put<uint32_t>(4).put<uint32_t>(v); }
  Bytes& tensor(const std::string& name, std::vector<uint64_t> dims, uint32_t type, uint64_t offset) {
    str(name).put<uint32_t>(static_cast<uint32_t>(dims.size()));
    for (auto d : dims) put<uint64_t>(d);
    return put<uint32_t>(type).put<uint64_t>(offset);
  }
  Bytes& pad(size_t alignment = 32) {
    s.resize((s.size() + alignment - 1) / alignment * alignment, '\0');
    return *this;
  }
  Bytes& zeros(size_t n) {
    s.append(n, '\0');
    return *this;
  }
};

// nullopt if parsed; otherwise the error message (which must name the file).
std::optional<std::string> gguf_error(const std::string& bytes) {
  try {
    auto f = GgufFile::parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), kName);
    // Whatever parses must describe only bytes inside the buffer: touch every tensor byte.
    unsigned sum = 0;
    for (const auto& info : f->tensors()) {
      Tensor t = f->tensor(info);
      EXPECT_GE(static_cast<const char*>(t.data()), bytes.data());
      EXPECT_LE(static_cast<const char*>(t.data()) + t.nbytes(), bytes.data() + bytes.size());
      for (size_t i = 0; i < t.nbytes(); ++i) sum += t.as<uint8_t>()[i];
    }
    (void)sum;
    return std::nullopt;
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(kName), std::string::npos) << msg;
    return msg;
  }
}

void expect_gguf_error(const Bytes& b, const std::string& fragment) {
  auto err = gguf_error(b.s);
  ASSERT_TRUE(err) << "accepted a file that should fail with '" << fragment << "'";
  EXPECT_NE(err->find(fragment), std::string::npos) << "expected '" << fragment << "' in: " << *err;
}

// A valid file whose last tensor ends exactly at the end of the file, so every truncation
// removes needed bytes.
std::string valid_gguf() {
  GgufWriter w;
  w.set("general.architecture", MetaValue::string("llama"));
  w.set("a.floats", MetaValue::float_array({1, 2, 3}));
  w.set("a.tokens", MetaValue::string_array({"<s>", "hello", ""}));
  w.set("a.ints", MetaValue::int_array(GgufType::I32, {-1, 2}));
  w.set("a.flag", MetaValue::boolean(true));
  w.add_tensor("w", Tensor::zeros(DType::Q8_0, {2, 32}));
  w.add_tensor("v", Tensor::zeros(DType::F32, {8}));
  fs::path path = test::temp_dir("robust_gguf") / "valid.gguf";
  w.write(path.string());
  return test::read_file(path);
}

TEST(GgufRobustness, EveryTruncationIsAnError) {
  const std::string file = valid_gguf();
  ASSERT_FALSE(gguf_error(file));
  for (size_t n = 0; n < file.size(); ++n) EXPECT_TRUE(gguf_error(file.substr(0, n))) << "truncated to " << n;
}

TEST(GgufRobustness, RandomBitFlipsNeverCrash) {
  const std::string file = valid_gguf();
  std::mt19937 rng(42);
  int rejected = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string damaged = file;
    for (int k = 1 + static_cast<int>(rng() % 3); k > 0; --k) damaged[rng() % damaged.size()] ^= static_cast<char>(1 << (rng() % 8));
    rejected += gguf_error(damaged).has_value();
  }
  EXPECT_GT(rejected, 0);
}

TEST(GgufRobustness, HostileCountsAndLengths) {
  expect_gguf_error(Bytes().header(uint64_t{1} << 62, 0), "tensor count");
  expect_gguf_error(Bytes().header(0, uint64_t{1} << 62), "truncated");
  expect_gguf_error(Bytes().header(0, 1).put<uint64_t>(UINT64_MAX), "truncated");
  expect_gguf_error(Bytes().header(0, 1).str("k").put<uint32_t>(8).put<uint64_t>(UINT64_MAX - 3), "truncated");
  expect_gguf_error(Bytes().header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(4).put<uint64_t>(uint64_t{1} << 61),
                    "does not fit");
  expect_gguf_error(Bytes().header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(uint64_t{1} << 60),
                    "does not fit");
  expect_gguf_error(Bytes().header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(9).put<uint64_t>(1), "nested arrays");
  expect_gguf_error(Bytes().header(0, 1).str("k").put<uint32_t>(13).put<uint32_t>(0), "unknown value type 13");
  expect_gguf_error(Bytes().header(0, 1).str("k").put<uint32_t>(7).put<uint8_t>(2), "bool value 2");
  expect_gguf_error(Bytes().header(0, 2).kv_u32("k", 1).kv_u32("k", 2), "duplicate metadata key 'k'");
  expect_gguf_error(Bytes().header(0, 0, 1), "unsupported GGUF version 1");
  expect_gguf_error(Bytes().header(0, 0, 0x03000000), "big-endian");
  expect_gguf_error(Bytes().put<uint32_t>(0x46554747u ^ 1), "not a GGUF file");
  expect_gguf_error(Bytes().header(0, 1).kv_u32("general.alignment", 48), "power of two");
  expect_gguf_error(Bytes().header(0, 1).kv_u32("general.alignment", 0), "power of two");
  expect_gguf_error(Bytes().header(0, 1).str("general.alignment").put<uint32_t>(8).str("32"), "unsigned integer");
}

TEST(GgufRobustness, HostileTensorTables) {
  auto one = [](std::vector<uint64_t> dims, uint32_t type, uint64_t offset, size_t data = 64) {
    Bytes b;
    b.header(1, 0).tensor("t", std::move(dims), type, offset).pad().zeros(data);
    return b;
  };
  EXPECT_FALSE(gguf_error(one({4, 4}, 0, 0).s));  // the baseline is valid
  expect_gguf_error(one({1, 1, 1, 1, 1}, 0, 0), "n_dims 5");
  expect_gguf_error(one({}, 0, 0), "n_dims 0");
  expect_gguf_error(one({4, 0}, 0, 0), "zero or overflows");
  expect_gguf_error(one({uint64_t{1} << 32, uint64_t{1} << 32}, 0, 0), "zero or overflows");
  expect_gguf_error(one({UINT64_MAX}, 0, 0), "zero or overflows");
  expect_gguf_error(one({uint64_t{1} << 62}, 0, 0), "overflows");  // bytes = 4 * 2^62
  expect_gguf_error(one({4}, 99, 0), "unknown ggml type 99");
  expect_gguf_error(one({33}, 8, 0), "block size 32");
  expect_gguf_error(one({4}, 0, 3), "not a multiple of the alignment");
  expect_gguf_error(one({4}, 0, 64), "past the end");
  expect_gguf_error(one({4}, 0, UINT64_MAX - 31), "past the end");
  expect_gguf_error(one({64}, 0, 0), "past the end");  // 256 bytes, 64 present

  Bytes long_name;
  long_name.header(1, 0).tensor(std::string(64, 'x'), {4}, 0, 0).pad().zeros(64);
  expect_gguf_error(long_name, "name length 64");

  Bytes overlap;
  overlap.header(2, 0).tensor("a", {16}, 0, 0).tensor("b", {16}, 0, 32).pad().zeros(128);
  expect_gguf_error(overlap, "overlap");
  Bytes duplicate;
  duplicate.header(2, 0).tensor("a", {8}, 0, 0).tensor("a", {8}, 0, 32).pad().zeros(128);
  expect_gguf_error(duplicate, "duplicate tensor name 'a'");
}

TEST(SafetensorsRobustness, TruncationsAndBitFlips) {
  fs::path path = test::temp_dir("robust_st") / "m.safetensors";
  write_safetensors(path.string(), {{"a", Tensor::zeros(DType::F16, {4, 4})}, {"b", Tensor::zeros(DType::F32, {3})}},
                    {{"format", "pt"}});
  std::ifstream in(path, std::ios::binary);
  const std::string file{std::istreambuf_iterator<char>(in), {}};
  auto outcome = [](const std::string& bytes) -> std::optional<std::string> {
    try {
      SafetensorsFile::parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "st.safetensors");
      return std::nullopt;
    } catch (const Error& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find("st.safetensors"), std::string::npos) << msg;
      return msg;
    }
  };
  ASSERT_FALSE(outcome(file));
  for (size_t n = 0; n < file.size(); ++n) EXPECT_TRUE(outcome(file.substr(0, n))) << "truncated to " << n;
  std::mt19937 rng(7);
  for (int iter = 0; iter < 3000; ++iter) {
    std::string damaged = file;
    damaged[rng() % damaged.size()] ^= static_cast<char>(1 << (rng() % 8));
    outcome(damaged);
  }
}

TEST(HfConfigRobustness, MutatedConfigsFailCleanly) {
  const std::string config = R"({"model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 100,
    "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
    "original_max_position_embeddings": 8192}, "eos_token_id": [1, 2], "tie_word_embeddings": false})";
  ASSERT_NO_THROW(translate_hf_config_text(config, "c.json"));
  const char replacements[] = {'-', '0', '"', '[', '}', 'x', '.', ',', 'e', '9'};
  std::mt19937 rng(3);
  for (int iter = 0; iter < 3000; ++iter) {
    std::string damaged = config;
    damaged[rng() % damaged.size()] = replacements[rng() % sizeof(replacements)];
    try {
      translate_hf_config_text(damaged, "c.json");
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("c.json"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace orchard
