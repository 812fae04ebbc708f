// safetensors reader and writer: hand-built files from the format spec, round trips, and the
// header checks (each failure must be an orchard::Error naming the file).
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "core/error.h"
#include "io/safetensors.h"
#include "support/paths.h"

namespace orchard {
namespace {

namespace fs = std::filesystem;

// A safetensors file per the spec: u64 header length, JSON header, data.
std::string make_file(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + data;
}

std::shared_ptr<SafetensorsFile> parse(const std::string& bytes) {
  return SafetensorsFile::parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "x.safetensors");
}

std::string floats(std::initializer_list<float> v) {
  return std::string(reinterpret_cast<const char*>(std::data(v)), v.size() * sizeof(float));
}

TEST(Safetensors, ReadsAHandBuiltFile) {
  // bf16 1.0 = 0x3F80, f16 -2.0 = 0xC000, little-endian.
  const std::string data = floats({1, 2, 3, 4, 5, 6}) + std::string("\x80\x3F\x00\xC0", 4) + std::string("\x00\xC0", 2) +
                           std::string("\x07\x00\x00\x00\x00\x00\x00\x00", 8);
  const std::string header =
      R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
      R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[24,28]},)"
      R"("h":{"dtype":"F16","shape":[1],"data_offsets":[28,30]},)"
      R"("i":{"dtype":"I64","shape":[],"data_offsets":[30,38]},)"
      R"("__metadata__":{"format":"pt"}})";
  const std::string file = make_file(header, data);  // parse() keeps views into it
  auto f = parse(file);
  ASSERT_EQ(f->tensors().size(), 4u);
  const Tensor& w = f->tensors().at("w");
  EXPECT_EQ(w.dtype(), DType::F32);
  EXPECT_EQ(w.shape(), (Shape{2, 3}));
  EXPECT_EQ(w.f32()[5], 6.0f);
  const Tensor& b = f->tensors().at("b");
  EXPECT_EQ(b.dtype(), DType::BF16);
  EXPECT_EQ(b.as<uint16_t>()[0], 0x3F80);
  EXPECT_EQ(f->tensors().at("h").as<uint16_t>()[0], 0xC000);
  const Tensor& i = f->tensors().at("i");
  EXPECT_EQ(i.dtype(), DType::I64);
  EXPECT_EQ(i.shape(), Shape{});
  EXPECT_EQ(i.as<int64_t>()[0], 7);
  EXPECT_EQ(f->metadata().at("format"), "pt");
}

TEST(Safetensors, RoundTripsThroughTheWriterAndKeepsTheMappingAlive) {
  std::map<std::string, Tensor> tensors;
  for (auto [name, dt, shape] : {std::tuple{"a.f32", DType::F32, Shape{3, 5}}, std::tuple{"b.f16", DType::F16, Shape{7}},
                                 std::tuple{"c.bf16", DType::BF16, Shape{2, 2, 2}}, std::tuple{"d.i32", DType::I32, Shape{4}}}) {
    Tensor t = Tensor::zeros(dt, shape);
    for (size_t k = 0; k < t.nbytes(); ++k) t.as<uint8_t>()[k] = static_cast<uint8_t>(k * 13 + 1);
    tensors[name] = t;
  }
  fs::path path = test::temp_dir("safetensors_rt") / "m.safetensors";
  write_safetensors(path.string(), tensors, {{"format", "pt"}});

  std::map<std::string, Tensor> read;
  {
    auto f = SafetensorsFile::open(path.string());
    EXPECT_EQ(f->metadata().at("format"), "pt");
    EXPECT_EQ(f->file_size(), fs::file_size(path));
    read = f->tensors();
  }  // the file object is gone; the views must still be valid
  ASSERT_EQ(read.size(), tensors.size());
  for (const auto& [name, want] : tensors) {
    const Tensor& got = read.at(name);
    EXPECT_EQ(got.dtype(), want.dtype()) << name;
    EXPECT_EQ(got.shape(), want.shape()) << name;
    EXPECT_EQ(std::memcmp(got.data(), want.data(), want.nbytes()), 0) << name;
  }
  // The header is padded so the data section starts 8-byte aligned.
  std::ifstream in(path, std::ios::binary);
  uint64_t header_bytes = 0;
  in.read(reinterpret_cast<char*>(&header_bytes), 8);
  EXPECT_EQ(header_bytes % 8, 0u);

  std::map<std::string, Tensor> quantized = {{"q", Tensor::zeros(DType::Q8_0, {1, 32})}};
  EXPECT_THROW(write_safetensors(path.string(), quantized), Error);
}

void expect_rejected(const std::string& header, const std::string& data, const std::string& fragment) {
  try {
    parse(make_file(header, data));
    ADD_FAILURE() << "accepted: " << header;
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("x.safetensors"), std::string::npos) << msg;
    EXPECT_NE(msg.find(fragment), std::string::npos) << "expected '" << fragment << "' in: " << msg;
  }
}

TEST(Safetensors, RejectsBadHeaders) {
  const std::string data(16, '\0');
  expect_rejected("[1,2]", data, "JSON object");
  expect_rejected("{\"a\":", data, "invalid JSON");
  expect_rejected(R"({"a":{"dtype":"F32","shape":[2]}})", data, "data_offsets");
  expect_rejected(R"({"a":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}})", data, "unsupported dtype");
  expect_rejected(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data, "non-negative");
  expect_rejected(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,12]}})", data, "needs 8");
  expect_rejected(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}})", data, "outside");
  expect_rejected(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", data, "outside");
  expect_rejected(R"({"a":{"dtype":"F32","shape":[4294967296,2],"data_offsets":[0,8]}})", data, "exceeds");
  expect_rejected(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", data, "overflows");
  expect_rejected(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                  R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                  data, "overlap");
  expect_rejected(R"({"__metadata__":{"k":1}})", data, "__metadata__");
  expect_rejected(R"({"a":{"dtype":"F32","shape":"2","data_offsets":[0,8]}})", data, "shape");

  std::string huge_header(8, '\xff');
  EXPECT_THROW(parse(huge_header + "{}"), Error);
  EXPECT_THROW(parse("abc"), Error);
  EXPECT_THROW(SafetensorsFile::open((test::temp_dir("safetensors_missing") / "none.safetensors").string()), Error);
}

}  // namespace
}  // namespace orchard
