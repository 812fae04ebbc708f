// safetensors reader (zero-copy views into the mapping, every header field checked against the
// file) and atomic writer.
#include "io/safetensors.h"

#include <algorithm>
#include <limits>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/byte_reader.h"
#include "io/json_file.h"
#include "io/mmap.h"

namespace orchard {
namespace {

using nlohmann::json;

struct SafetensorsDType {
  std::string_view name;
  DType dtype;
};
constexpr SafetensorsDType kDTypes[] = {
    {"F32", DType::F32}, {"F16", DType::F16}, {"BF16", DType::BF16}, {"F64", DType::F64},
    {"I64", DType::I64}, {"I32", DType::I32}, {"I16", DType::I16},   {"I8", DType::I8},
    // MLX's packed quant words; orchard has no unsigned dtype and only moves their bytes.
    {"U32", DType::I32},
};
// The reference implementation refuses larger headers too; it bounds what a hostile size can make us parse.
constexpr uint64_t kMaxHeaderBytes = 100u << 20;

std::optional<DType> dtype_from_safetensors(std::string_view name) {
  for (const auto& d : kDTypes)
    if (d.name == name) return d.dtype;
  return std::nullopt;
}

std::optional<std::string_view> safetensors_name(DType t) {
  for (const auto& d : kDTypes)
    if (d.dtype == t) return d.name;
  return std::nullopt;
}

uint64_t get_u64(const json& v, const std::string& file, const std::string& what) {
  if (!v.is_number_unsigned()) throw file_error(file, what + " must be a non-negative integer, got " + v.dump());
  return v.get<uint64_t>();
}

struct Entry {
  std::string name;
  uint64_t begin, end;
};

Tensor parse_entry(const std::string& key, const json& v, const uint8_t* data, uint64_t data_bytes,
                   const std::shared_ptr<void>& owner, const std::string& file, Entry& entry) {
  const std::string where = "tensor '" + key + "'";
  if (!v.is_object()) throw file_error(file, where + ": header entry must be an object");
  auto field = [&](const char* name) -> const json& {
    auto it = v.find(name);
    if (it == v.end()) throw file_error(file, where + ": missing \"" + name + "\"");
    return *it;
  };
  const json& dtype_json = field("dtype");
  if (!dtype_json.is_string()) throw file_error(file, where + ": \"dtype\" must be a string");
  auto dtype = dtype_from_safetensors(dtype_json.get_ref<const std::string&>());
  if (!dtype)
    throw file_error(file, where + ": unsupported dtype " + dtype_json.dump() +
                               " (orchard reads F32, F16, BF16, F64, I64, I32, U32, I16, I8)");

  const json& shape_json = field("shape");
  if (!shape_json.is_array() || shape_json.size() > 8)
    throw file_error(file, where + ": \"shape\" must be an array of at most 8 dimensions");
  Shape shape;
  uint64_t numel = 1;
  for (const auto& d : shape_json) {
    uint64_t n = get_u64(d, file, where + " shape dimension");
    if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) || (n && numel > UINT64_MAX / n))
      throw file_error(file, where + ": shape " + shape_json.dump() + " overflows");
    numel *= n;
    shape.push_back(static_cast<int64_t>(n));
  }
  const size_t elem = dtype_info(*dtype).type_size;
  if (numel > data_bytes / elem) throw file_error(file, where + ": shape " + shape_json.dump() + " exceeds the file");

  const json& offsets = field("data_offsets");
  if (!offsets.is_array() || offsets.size() != 2)
    throw file_error(file, where + ": \"data_offsets\" must be [begin, end]");
  entry = {key, get_u64(offsets[0], file, where + " data_offsets"), get_u64(offsets[1], file, where + " data_offsets")};
  if (entry.begin > entry.end || entry.end > data_bytes)
    throw file_error(file, where + ": data_offsets [" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) +
                               "] are outside the " + std::to_string(data_bytes) + "-byte data section");
  if (entry.end - entry.begin != numel * elem)
    throw file_error(file, where + ": data_offsets span " + std::to_string(entry.end - entry.begin) + " bytes but " +
                               dtype_json.get<std::string>() + " " + shape_json.dump() + " needs " +
                               std::to_string(numel * elem));
  // The mapping is read-only; Tensor's pointer is non-const because owned tensors are writable.
  return Tensor(*dtype, std::move(shape), const_cast<uint8_t*>(data + entry.begin), owner);
}

}  // namespace

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  auto mapping = MappedFile::open(path);
  return parse(mapping->data(), mapping->size(), path, mapping);
}

std::shared_ptr<SafetensorsFile> SafetensorsFile::parse(const uint8_t* data, size_t size, const std::string& name) {
  return parse(data, size, name, nullptr);
}

std::shared_ptr<SafetensorsFile> SafetensorsFile::parse(const uint8_t* data, size_t size, const std::string& name,
                                                        std::shared_ptr<void> owner) {
  ByteReader r(data, size, name);
  uint64_t header_bytes = r.read<uint64_t>("header size");
  if (header_bytes > kMaxHeaderBytes || header_bytes > r.remaining())
    throw file_error(name, "safetensors header size " + std::to_string(header_bytes) + " exceeds the file (" +
                               std::to_string(size) + " bytes) or the 100 MB limit; not a safetensors file?");
  json header = parse_json(r.bytes(header_bytes, "header"), name);
  if (!header.is_object()) throw file_error(name, "safetensors header must be a JSON object");

  auto file = std::shared_ptr<SafetensorsFile>(new SafetensorsFile());
  file->path_ = name;
  file->size_ = size;
  file->keep_alive_ = owner;
  const uint8_t* section = data + r.pos();
  const uint64_t section_bytes = r.remaining();
  std::vector<Entry> entries;
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) throw file_error(name, "__metadata__ must be an object of strings");
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string()) throw file_error(name, "__metadata__ value '" + mk + "' must be a string");
        file->metadata_[mk] = mv.get<std::string>();
      }
      continue;
    }
    Entry entry;
    file->tensors_[key] = parse_entry(key, value, section, section_bytes, owner, name, entry);
    entries.push_back(std::move(entry));
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < entries.size(); ++i)
    if (entries[i - 1].end > entries[i].begin)
      throw file_error(name, "tensors '" + entries[i - 1].name + "' and '" + entries[i].name + "' overlap");
  return file;
}

void write_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    auto dtype = safetensors_name(t.dtype());
    if (!dtype)
      throw file_error(path, "tensor '" + name + "': safetensors cannot store " + std::string(dtype_name(t.dtype())));
    if (t.empty() && t.nbytes() != 0) throw file_error(path, "tensor '" + name + "' has no data");
    header[name] = {{"dtype", *dtype}, {"shape", t.shape()}, {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  std::string text = header.dump();
  text.resize((text.size() + 7) / 8 * 8, ' ');  // the reference writer pads so the data starts 8-aligned

  AtomicFile out(path);
  uint64_t header_bytes = text.size();
  out.write(&header_bytes, sizeof(header_bytes));
  out.write(text);
  for (const auto& [name, t] : tensors) out.write(t.data(), t.nbytes());
  out.commit();
}

}  // namespace orchard
