// GGUF reader: parses the header, metadata and tensor table of untrusted bytes, validating
// every length, count, shape and offset against the buffer before anything is stored.
#include <algorithm>
#include <limits>
#include <numeric>

#include "core/error.h"
#include "io/byte_reader.h"
#include "io/gguf.h"
#include "io/gguf_format.h"
#include "io/mmap.h"

namespace orchard {
namespace {

// GGUF v2+ strings: u64 byte length, then the bytes (no terminator).
std::string read_string(ByteReader& r, const char* what) {
  uint64_t n = r.read<uint64_t>(what);
  return std::string(r.bytes(n, what));
}

size_t scalar_size(GgufType t) {
  switch (t) {
    case GgufType::U8: case GgufType::I8: case GgufType::BOOL: return 1;
    case GgufType::U16: case GgufType::I16: return 2;
    case GgufType::U32: case GgufType::I32: case GgufType::F32: return 4;
    case GgufType::U64: case GgufType::I64: case GgufType::F64: return 8;
    case GgufType::STRING: case GgufType::ARRAY: break;
  }
  return 0;
}

GgufType read_value_type(ByteReader& r, const std::string& key) {
  uint32_t t = r.read<uint32_t>("value type");
  if (t > static_cast<uint32_t>(GgufType::F64))
    throw r.error("metadata key '" + key + "' has unknown value type " + std::to_string(t));
  return static_cast<GgufType>(t);
}

bool read_bool(ByteReader& r, const std::string& key) {
  uint8_t b = r.read<uint8_t>("bool");
  if (b > 1) throw r.error("metadata key '" + key + "' has bool value " + std::to_string(b));
  return b == 1;
}

// Reads one scalar of type `t` into the representation MetaValue uses for it.
std::variant<uint64_t, int64_t, double, bool, std::string> read_scalar(ByteReader& r, GgufType t,
                                                                       const std::string& key) {
  switch (t) {
    case GgufType::U8: return uint64_t{r.read<uint8_t>("u8")};
    case GgufType::U16: return uint64_t{r.read<uint16_t>("u16")};
    case GgufType::U32: return uint64_t{r.read<uint32_t>("u32")};
    case GgufType::U64: return r.read<uint64_t>("u64");
    case GgufType::I8: return int64_t{r.read<int8_t>("i8")};
    case GgufType::I16: return int64_t{r.read<int16_t>("i16")};
    case GgufType::I32: return int64_t{r.read<int32_t>("i32")};
    case GgufType::I64: return r.read<int64_t>("i64");
    case GgufType::F32: return double{r.read<float>("f32")};
    case GgufType::F64: return r.read<double>("f64");
    case GgufType::BOOL: return read_bool(r, key);
    case GgufType::STRING: return read_string(r, "string value");
    case GgufType::ARRAY: break;
  }
  throw r.error("metadata key '" + key + "': nested arrays are not supported");
}

MetaValue read_array(ByteReader& r, const std::string& key) {
  MetaValue v;
  v.type = GgufType::ARRAY;
  v.elem_type = read_value_type(r, key);
  if (v.elem_type == GgufType::ARRAY) throw r.error("metadata key '" + key + "': nested arrays are not supported");
  uint64_t n = r.read<uint64_t>("array length");
  // Bound the count by the bytes left before allocating: a string takes at least its 8-byte length.
  size_t min_elem = v.elem_type == GgufType::STRING ? 8 : scalar_size(v.elem_type);
  if (n > r.remaining() / min_elem)
    throw r.error("metadata key '" + key + "': array of " + std::to_string(n) + " " +
                  gguf_type_name(v.elem_type) + " does not fit in the " + std::to_string(r.remaining()) +
                  " bytes left");
  if (v.elem_type == GgufType::STRING) {
    v.strings.reserve(n);
    for (uint64_t i = 0; i < n; ++i) v.strings.push_back(read_string(r, "string array element"));
  } else if (v.elem_type == GgufType::F32 || v.elem_type == GgufType::F64) {
    v.floats.reserve(n);
    for (uint64_t i = 0; i < n; ++i) v.floats.push_back(std::get<double>(read_scalar(r, v.elem_type, key)));
  } else {
    v.ints.reserve(n);
    for (uint64_t i = 0; i < n; ++i) {
      auto s = read_scalar(r, v.elem_type, key);
      // u64 elements keep their bit pattern in int64 (MetaValue stores every integer array as int64).
      if (auto* u = std::get_if<uint64_t>(&s)) v.ints.push_back(static_cast<int64_t>(*u));
      else if (auto* i = std::get_if<int64_t>(&s)) v.ints.push_back(*i);
      else v.ints.push_back(std::get<bool>(s) ? 1 : 0);
    }
  }
  return v;
}

MetaValue read_value(ByteReader& r, const std::string& key) {
  GgufType t = read_value_type(r, key);
  if (t == GgufType::ARRAY) return read_array(r, key);
  MetaValue v;
  v.type = t;
  v.scalar = read_scalar(r, t, key);
  return v;
}

uint64_t read_alignment(const Metadata& md, const std::string& name) {
  const MetaValue* v = md.find(gguf::kAlignmentKey);
  if (!v) return gguf::kDefaultAlignment;
  const auto* u = std::get_if<uint64_t>(&v->scalar);
  if (v->type == GgufType::ARRAY || !u)
    throw file_error(name, std::string(gguf::kAlignmentKey) + " must be an unsigned integer, got " +
                               gguf_type_name(v->type));
  if (*u == 0 || (*u & (*u - 1)) != 0 || *u > (uint64_t{1} << 30))
    throw file_error(name, std::string(gguf::kAlignmentKey) + " = " + std::to_string(*u) +
                               " is not a power of two up to 2^30");
  return *u;
}

GgufTensorInfo read_tensor_info(ByteReader& r, uint64_t index) {
  GgufTensorInfo info;
  info.name = read_string(r, "tensor name");
  const std::string where = "tensor " + std::to_string(index) + " '" + info.name + "'";
  if (info.name.empty() || info.name.size() > gguf::kMaxTensorName)
    throw r.error(where + ": name length " + std::to_string(info.name.size()) + " is not in 1.." +
                  std::to_string(gguf::kMaxTensorName));
  uint32_t n_dims = r.read<uint32_t>("tensor n_dims");
  if (n_dims == 0 || n_dims > gguf::kMaxDims)
    throw r.error(where + ": n_dims " + std::to_string(n_dims) + " is not in 1..4");
  Shape innermost_first(n_dims);
  int64_t numel = 1;
  for (auto& d : innermost_first) {
    uint64_t raw = r.read<uint64_t>("tensor dimension");
    if (raw == 0 || raw > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
        static_cast<int64_t>(raw) > std::numeric_limits<int64_t>::max() / numel)
      throw r.error(where + ": dimension " + std::to_string(raw) + " is zero or overflows");
    d = static_cast<int64_t>(raw);
    numel *= d;
  }
  uint32_t type_id = r.read<uint32_t>("tensor type");
  auto dt = dtype_info(type_id);
  if (!dt) throw r.error(where + ": unknown ggml type " + std::to_string(type_id));
  info.dtype = dt->type;
  if (innermost_first[0] % dt->block_size != 0)
    throw r.error(where + ": row of " + std::to_string(innermost_first[0]) + " elements is not a multiple of " +
                  std::string(dt->name) + "'s block size " + std::to_string(dt->block_size));
  uint64_t blocks = static_cast<uint64_t>(numel / dt->block_size);
  if (blocks > std::numeric_limits<size_t>::max() / dt->type_size)
    throw r.error(where + ": byte size overflows");
  info.nbytes = static_cast<size_t>(blocks) * dt->type_size;
  info.offset = r.read<uint64_t>("tensor offset");
  info.shape.assign(innermost_first.rbegin(), innermost_first.rend());
  return info;
}

// Offsets must be aligned, inside the data section, and tensors must not share bytes.
void check_layout(const std::vector<GgufTensorInfo>& tensors, uint64_t alignment, uint64_t data_bytes,
                  const std::string& name) {
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), size_t{0});
  for (const auto& t : tensors) {
    if (t.offset % alignment != 0)
      throw file_error(name, "tensor '" + t.name + "' offset " + std::to_string(t.offset) +
                                 " is not a multiple of the alignment " + std::to_string(alignment));
    if (t.offset > data_bytes || t.nbytes > data_bytes - t.offset)
      throw file_error(name, "tensor '" + t.name + "' (" + std::to_string(t.nbytes) + " bytes at data offset " +
                                 std::to_string(t.offset) + ") extends past the end of the file (data section is " +
                                 std::to_string(data_bytes) + " bytes)");
  }
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return tensors[a].offset < tensors[b].offset; });
  for (size_t i = 1; i < order.size(); ++i) {
    const auto& prev = tensors[order[i - 1]];
    const auto& cur = tensors[order[i]];
    if (prev.offset + prev.nbytes > cur.offset)
      throw file_error(name, "tensors '" + prev.name + "' and '" + cur.name + "' overlap");
  }
}

}  // namespace

std::shared_ptr<GgufFile> GgufFile::open(const std::string& path) {
  auto mapping = MappedFile::open(path);
  auto file = parse(mapping->data(), mapping->size(), path);
  file->keep_alive_ = mapping;
  return file;
}

std::shared_ptr<GgufFile> GgufFile::parse(const uint8_t* data, size_t size, const std::string& name) {
  ByteReader r(data, size, name);
  auto magic = r.bytes(4, "magic");
  if (magic != std::string_view(gguf::kMagic, 4)) throw file_error(name, "not a GGUF file (bad magic)");

  auto file = std::shared_ptr<GgufFile>(new GgufFile());
  file->path_ = name;
  file->base_ = data;
  file->size_ = size;
  file->version_ = r.read<uint32_t>("version");
  if (file->version_ != 2 && file->version_ != 3) {
    bool byte_swapped = (file->version_ & 0xFFFF) == 0 && (file->version_ >> 16) != 0;
    throw file_error(name, byte_swapped ? "big-endian GGUF files are not supported"
                                        : "unsupported GGUF version " + std::to_string(file->version_) +
                                              " (orchard reads v2 and v3)");
  }
  uint64_t n_tensors = r.read<uint64_t>("tensor count");
  uint64_t n_kv = r.read<uint64_t>("metadata count");

  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = read_string(r, "metadata key");
    if (file->metadata_.has(key)) throw r.error("duplicate metadata key '" + key + "'");
    file->metadata_.set(key, read_value(r, key));
  }
  file->alignment_ = read_alignment(file->metadata_, name);

  // A tensor record takes at least 8 (name length) + 4 (n_dims) + 8 (one dim) + 4 + 8 bytes.
  constexpr uint64_t kMinTensorRecord = 32;
  if (n_tensors > r.remaining() / kMinTensorRecord)
    throw r.error("tensor count " + std::to_string(n_tensors) + " cannot fit in the " +
                  std::to_string(r.remaining()) + " bytes left");
  file->tensors_.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    file->tensors_.push_back(read_tensor_info(r, i));
    if (!file->index_.emplace(file->tensors_.back().name, i).second)
      throw r.error("duplicate tensor name '" + file->tensors_.back().name + "'");
  }

  file->data_offset_ = gguf::align_up(r.pos(), file->alignment_);
  // A file without tensors (e.g. a vocab-only GGUF) may end before the padding.
  uint64_t data_bytes = file->data_offset_ <= size ? size - file->data_offset_ : 0;
  check_layout(file->tensors_, file->alignment_, data_bytes, name);
  return file;
}

const GgufTensorInfo* GgufFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

Tensor GgufFile::tensor(const std::string& name) const {
  const GgufTensorInfo* info = find(name);
  if (!info) throw file_error(path_, "no tensor named '" + name + "'");
  return tensor(*info);
}

Tensor GgufFile::tensor(const GgufTensorInfo& info) const {
  // The mapping is read-only; Tensor's pointer is non-const because owned tensors are writable.
  auto* p = const_cast<uint8_t*>(base_ + data_offset_ + info.offset);
  return Tensor(info.dtype, info.shape, p, keep_alive_);
}

}  // namespace orchard
