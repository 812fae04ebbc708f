// GGUF reader and writer: byte-exact layout against the format spec, round trips of every
// metadata type and several tensor types, and the real vocab GGUFs written by llama.cpp.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "core/error.h"
#include "io/gguf.h"
#include "io/mmap.h"
#include "support/paths.h"

namespace orchard {
namespace {

namespace fs = std::filesystem;

template <class T> void append(std::string& s, T v) { s.append(reinterpret_cast<const char*>(&v), sizeof(T)); }
void append_str(std::string& s, const std::string& v) {
  append<uint64_t>(s, v.size());
  s += v;
}

Tensor filled(DType dt, Shape shape) {
  Tensor t = Tensor::zeros(dt, std::move(shape));
  auto* p = t.as<uint8_t>();
  for (size_t i = 0; i < t.nbytes(); ++i) p[i] = static_cast<uint8_t>(i * 31 + 7);
  return t;
}

TEST(GgufWriter, MatchesTheSpecByteForByte) {
  // One u32 key and a 2x3 f32 tensor, laid out by hand from the GGUF v3 spec.
  GgufWriter w;
  w.set("a.key", MetaValue::u32(7));
  Tensor t = Tensor::zeros(DType::F32, {2, 3});
  for (int i = 0; i < 6; ++i) t.f32()[i] = static_cast<float>(i);
  w.add_tensor("w", t);
  fs::path path = test::temp_dir("gguf_spec") / "spec.gguf";
  w.write(path.string());

  std::string want = "GGUF";
  append<uint32_t>(want, 3);
  append<uint64_t>(want, 1);  // tensors
  append<uint64_t>(want, 1);  // kv
  append_str(want, "a.key");
  append<uint32_t>(want, 4);  // u32
  append<uint32_t>(want, 7);
  append_str(want, "w");
  append<uint32_t>(want, 2);
  append<uint64_t>(want, 3);  // innermost dimension first
  append<uint64_t>(want, 2);
  append<uint32_t>(want, 0);  // f32
  append<uint64_t>(want, 0);  // offset
  want.resize((want.size() + 31) / 32 * 32, '\0');
  for (int i = 0; i < 6; ++i) append<float>(want, static_cast<float>(i));
  want.resize((want.size() + 31) / 32 * 32, '\0');
  EXPECT_EQ(test::read_file(path), want);
}

TEST(GgufWriter, RoundTripsEveryValueTypeAndTensorType) {
  GgufWriter w;
  auto scalar = [](GgufType t, auto v) {
    MetaValue m;
    m.type = t;
    m.scalar = v;
    return m;
  };
  w.set("t.u8", scalar(GgufType::U8, uint64_t{255}));
  w.set("t.i8", scalar(GgufType::I8, int64_t{-128}));
  w.set("t.u16", scalar(GgufType::U16, uint64_t{65535}));
  w.set("t.i16", scalar(GgufType::I16, int64_t{-32768}));
  w.set("t.u32", MetaValue::u32(4000000000u));
  w.set("t.i32", MetaValue::i32(-2000000000));
  w.set("t.u64", MetaValue::u64(18000000000000000000ull));
  w.set("t.i64", scalar(GgufType::I64, int64_t{-9000000000000000000ll}));
  w.set("t.f32", MetaValue::f32(0.1f));
  w.set("t.f64", scalar(GgufType::F64, 0.1));
  w.set("t.bool", MetaValue::boolean(true));
  w.set("t.string", MetaValue::string(std::string("h\xC3\xA9llo\0x", 8)));
  w.set("t.strings", MetaValue::string_array({"a", "", "<s>", std::string(300, 'z')}));
  w.set("t.empty", MetaValue::string_array({}));
  for (GgufType e : {GgufType::U8, GgufType::I8, GgufType::U16, GgufType::I16, GgufType::U32, GgufType::I32,
                     GgufType::U64, GgufType::I64, GgufType::BOOL})
    w.set(std::string("arr.") + gguf_type_name(e), MetaValue::int_array(e, {0, 1, e == GgufType::BOOL ? 0 : 100}));
  w.set("arr.i64_extremes", MetaValue::int_array(GgufType::I64, {INT64_MIN, INT64_MAX}));
  w.set("arr.f32", MetaValue::float_array({1.5, -2.25, 1e30}));
  MetaValue f64s = MetaValue::float_array({0.1, 1e300});
  f64s.elem_type = GgufType::F64;
  w.set("arr.f64", f64s);

  std::vector<std::pair<std::string, Tensor>> tensors = {
      {"vec.f32", filled(DType::F32, {5})},
      {"mat.f16", filled(DType::F16, {3, 7})},
      {"mat.bf16", filled(DType::BF16, {4, 2})},
      {"mat.q8_0", filled(DType::Q8_0, {3, 64})},
      {"mat.q4_0", filled(DType::Q4_0, {2, 32})},
      {"cube.i32", filled(DType::I32, {2, 3, 4})},
      {"four.f32", filled(DType::F32, {1, 2, 3, 4})},
  };
  for (auto& [name, t] : tensors) w.add_tensor(name, t);

  for (uint64_t alignment : {32u, 64u, 1u}) {
    fs::path path = test::temp_dir("gguf_roundtrip") / ("rt" + std::to_string(alignment) + ".gguf");
    w.write(path.string(), alignment);
    auto f = GgufFile::open(path.string());
    EXPECT_EQ(f->version(), 3u);
    EXPECT_EQ(f->alignment(), alignment);

    Metadata got = f->metadata();
    if (alignment != 32) {
      EXPECT_EQ(got.get_int("general.alignment"), static_cast<int64_t>(alignment));
      ASSERT_EQ(got.find("general.alignment")->type, GgufType::U32);
    }
    for (const auto& [key, want] : w.metadata().all()) {
      const MetaValue* v = got.find(key);
      ASSERT_NE(v, nullptr) << key;
      EXPECT_EQ(v->type, want.type) << key;
      if (want.type == GgufType::ARRAY) EXPECT_EQ(v->elem_type, want.elem_type) << key;
      if (want.type == GgufType::F32) EXPECT_EQ(v->scalar, MetaValue::f32(0.1f).scalar);
      else EXPECT_EQ(v->scalar, want.scalar) << key;
      EXPECT_EQ(v->ints, want.ints) << key;
      EXPECT_EQ(v->strings, want.strings) << key;
      if (want.elem_type == GgufType::F64) EXPECT_EQ(v->floats, want.floats) << key;
    }
    EXPECT_EQ(*got.get_floats("arr.f32"), (std::vector<double>{1.5, -2.25, static_cast<double>(1e30f)}));
    EXPECT_EQ(got.get_string("t.string")->size(), 8u);

    ASSERT_EQ(f->tensors().size(), tensors.size());
    for (size_t i = 0; i < tensors.size(); ++i) {
      const auto& [name, want] = tensors[i];
      EXPECT_EQ(f->tensors()[i].name, name);  // file order = insertion order
      Tensor t = f->tensor(name);
      EXPECT_EQ(t.dtype(), want.dtype()) << name;
      EXPECT_EQ(t.shape(), want.shape()) << name;
      ASSERT_EQ(t.nbytes(), want.nbytes()) << name;
      EXPECT_EQ(std::memcmp(t.data(), want.data(), t.nbytes()), 0) << name;
      EXPECT_EQ(f->find(name)->offset % alignment, 0u) << name;
      EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % alignment, 0u) << name;  // the mapping is page aligned
    }
    EXPECT_EQ(f->find("absent"), nullptr);
    EXPECT_THROW(f->tensor("absent"), Error);
  }
}

TEST(GgufWriter, OutputDoesNotDependOnInsertionOrder) {
  GgufWriter a, b;
  a.set("z", MetaValue::u32(1));
  a.set("a", MetaValue::string("x"));
  b.set("a", MetaValue::string("x"));
  b.set("z", MetaValue::u32(1));
  fs::path dir = test::temp_dir("gguf_order");
  a.write((dir / "a.gguf").string());
  b.write((dir / "b.gguf").string());
  EXPECT_EQ(test::read_file(dir / "a.gguf"), test::read_file(dir / "b.gguf"));
}

TEST(GgufWriter, RejectsWhatGgufCannotStore) {
  GgufWriter w;
  EXPECT_THROW(w.add_tensor(std::string(64, 'n'), filled(DType::F32, {2})), Error);
  EXPECT_THROW(w.add_tensor("five", filled(DType::F32, {1, 1, 1, 1, 2})), Error);
  EXPECT_THROW(w.add_tensor("q", Tensor(DType::Q8_0, {2, 16}, nullptr)), Error);
  w.add_tensor("ok", filled(DType::F32, {2}));
  EXPECT_THROW(w.add_tensor("ok", filled(DType::F32, {2})), Error);
  w.set("bad", MetaValue::int_array(GgufType::U8, {256}));
  fs::path path = test::temp_dir("gguf_reject") / "bad.gguf";
  EXPECT_THROW(w.write(path.string()), Error);
  EXPECT_FALSE(fs::exists(path));  // nothing half-written is left behind
  for (const auto& e : fs::directory_iterator(path.parent_path())) ADD_FAILURE() << "leftover " << e.path();
  EXPECT_THROW(GgufWriter().write(path.string(), 48), Error);
}

TEST(GgufWriter, ReplacesAnExistingFileAtomically) {
  fs::path path = test::temp_dir("gguf_replace") / "m.gguf";
  std::ofstream(path) << "old";
  GgufWriter w;
  w.set("k", MetaValue::u32(1));
  w.write(path.string());
  EXPECT_EQ(GgufFile::open(path.string())->metadata().get_int("k"), 1);
}

TEST(MappedFile, HandlesEmptySmallAndLargeFiles) {
  fs::path dir = test::temp_dir("mmap");
  std::ofstream(dir / "empty");
  std::ofstream(dir / "small") << "hello";
  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  std::ofstream(dir / "big", std::ios::binary) << big;

  auto empty = MappedFile::open((dir / "empty").string());
  EXPECT_EQ(empty->size(), 0u);
  auto small = MappedFile::open((dir / "small").string());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(small->data()), small->size()), "hello");
  auto large = MappedFile::open((dir / "big").string());
  ASSERT_EQ(large->size(), big.size());
  EXPECT_EQ(std::memcmp(large->data(), big.data(), big.size()), 0);
  EXPECT_THROW(MappedFile::open((dir / "missing").string()), Error);
  EXPECT_THROW(MappedFile::open(dir.string()), Error);  // a directory
  EXPECT_THROW(GgufFile::open((dir / "empty").string()), Error);
}

struct VocabCase {
  const char* file;
  const char* model;  // tokenizer.ggml.model
  size_t n_tokens;
};

TEST(GgufFile, ReadsLlamaCppVocabFiles) {
  ORCHARD_REQUIRE_SHARED();
  // Vocabulary sizes of the original models these llama.cpp test files were converted from.
  const VocabCase cases[] = {
      {"ggml-vocab-llama-spm.gguf", "llama", 32000}, {"ggml-vocab-phi-3.gguf", "llama", 32064},
      {"ggml-vocab-gpt-2.gguf", "gpt2", 50257},      {"ggml-vocab-bert-bge.gguf", "bert", 30522},
      {"ggml-vocab-falcon.gguf", "gpt2", 65024},     {"ggml-vocab-deepseek-llm.gguf", "gpt2", 102400},
  };
  for (const auto& c : cases) {
    fs::path path = test::shared_dir() / "data" / "tokenizer-tests" / c.file;
    auto f = GgufFile::open(path.string());
    const Metadata& md = f->metadata();
    EXPECT_EQ(md.get_string("tokenizer.ggml.model"), c.model) << c.file;
    const auto* tokens = md.get_strings("tokenizer.ggml.tokens");
    ASSERT_NE(tokens, nullptr) << c.file;
    EXPECT_EQ(tokens->size(), c.n_tokens) << c.file;
    if (const auto* types = md.get_ints("tokenizer.ggml.token_type")) EXPECT_EQ(types->size(), c.n_tokens) << c.file;
    EXPECT_TRUE(f->tensors().empty()) << c.file;

    // Rewriting keeps every value (llama.cpp writes keys in insertion order, orchard sorted).
    GgufWriter w;
    w.metadata() = md;
    fs::path copy = test::temp_dir("gguf_vocab") / c.file;
    w.write(copy.string());
    auto again = GgufFile::open(copy.string());
    ASSERT_EQ(again->metadata().all().size(), md.all().size());
    for (const auto& [key, v] : md.all()) {
      const MetaValue* u = again->metadata().find(key);
      ASSERT_NE(u, nullptr) << key;
      EXPECT_TRUE(u->type == v.type && u->elem_type == v.elem_type && u->scalar == v.scalar && u->ints == v.ints &&
                  u->floats == v.floats && u->strings == v.strings)
          << c.file << " " << key;
    }
  }
  auto spm = GgufFile::open((test::shared_dir() / "data/tokenizer-tests/ggml-vocab-llama-spm.gguf").string());
  EXPECT_EQ((*spm->metadata().get_strings("tokenizer.ggml.tokens"))[1], "<s>");
  EXPECT_EQ(spm->metadata().get_int("tokenizer.ggml.bos_token_id"), 1);
}

}  // namespace
}  // namespace orchard
