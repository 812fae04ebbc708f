// GGUF v3 writer: header, metadata (sorted by key), tensor table, padded data section.
#include <cstring>
#include <limits>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/gguf.h"
#include "io/gguf_format.h"

namespace orchard {
namespace {

template <class T> void put(AtomicFile& out, T v) { out.write(&v, sizeof(T)); }

void put_string(AtomicFile& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  out.write(s);
}

// Writes one integer of GGUF type `t`, checking the value fits (MetaValue stores integers wide).
void put_int(AtomicFile& out, GgufType t, int64_t v, const std::string& path, const std::string& key) {
  auto fits = [&](int64_t lo, int64_t hi) {
    if (v < lo || v > hi)
      throw file_error(path, "metadata key '" + key + "': value " + std::to_string(v) + " does not fit in " +
                                 gguf_type_name(t));
  };
  switch (t) {
    case GgufType::U8: fits(0, 0xFF); put<uint8_t>(out, static_cast<uint8_t>(v)); return;
    case GgufType::I8: fits(-128, 127); put<int8_t>(out, static_cast<int8_t>(v)); return;
    case GgufType::U16: fits(0, 0xFFFF); put<uint16_t>(out, static_cast<uint16_t>(v)); return;
    case GgufType::I16: fits(-32768, 32767); put<int16_t>(out, static_cast<int16_t>(v)); return;
    case GgufType::U32: fits(0, 0xFFFFFFFFll); put<uint32_t>(out, static_cast<uint32_t>(v)); return;
    case GgufType::I32: fits(INT32_MIN, INT32_MAX); put<int32_t>(out, static_cast<int32_t>(v)); return;
    case GgufType::BOOL: fits(0, 1); put<uint8_t>(out, static_cast<uint8_t>(v)); return;
    // 64-bit values keep their bit pattern (u64 array elements are stored as int64).
    case GgufType::U64: case GgufType::I64: put<int64_t>(out, v); return;
    default: break;
  }
  throw file_error(path, std::string("metadata key '") + key + "': " + gguf_type_name(t) + " is not an integer type");
}

void put_float(AtomicFile& out, GgufType t, double v) {
  if (t == GgufType::F32) put<float>(out, static_cast<float>(v));
  else put<double>(out, v);
}

void put_scalar(AtomicFile& out, const MetaValue& v, const std::string& path, const std::string& key) {
  const auto& s = v.scalar;
  if (v.type == GgufType::STRING && std::holds_alternative<std::string>(s)) return put_string(out, std::get<std::string>(s));
  if ((v.type == GgufType::F32 || v.type == GgufType::F64) && std::holds_alternative<double>(s))
    return put_float(out, v.type, std::get<double>(s));
  if (v.type == GgufType::BOOL && std::holds_alternative<bool>(s)) return put<uint8_t>(out, std::get<bool>(s) ? 1 : 0);
  if (auto* u = std::get_if<uint64_t>(&s)) {
    if (v.type == GgufType::U64) return put<uint64_t>(out, *u);
    if (*u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return put_int(out, v.type, static_cast<int64_t>(*u), path, key);
  }
  if (auto* i = std::get_if<int64_t>(&s)) return put_int(out, v.type, *i, path, key);
  throw file_error(path, "metadata key '" + key + "': value does not match its type " + gguf_type_name(v.type));
}

void put_value(AtomicFile& out, const MetaValue& v, const std::string& path, const std::string& key) {
  put<uint32_t>(out, static_cast<uint32_t>(v.type));
  if (v.type != GgufType::ARRAY) return put_scalar(out, v, path, key);
  if (v.elem_type == GgufType::ARRAY) throw file_error(path, "metadata key '" + key + "': nested arrays are not supported");
  put<uint32_t>(out, static_cast<uint32_t>(v.elem_type));
  put<uint64_t>(out, v.array_size());
  if (v.elem_type == GgufType::STRING) {
    for (const auto& s : v.strings) put_string(out, s);
  } else if (v.elem_type == GgufType::F32 || v.elem_type == GgufType::F64) {
    for (double d : v.floats) put_float(out, v.elem_type, d);
  } else {
    for (int64_t i : v.ints) put_int(out, v.elem_type, i, path, key);
  }
}

}  // namespace

void GgufWriter::set(const std::string& key, MetaValue value) { metadata_.set(key, std::move(value)); }

void GgufWriter::add_tensor(const std::string& name, const Tensor& t) {
  if (name.empty() || name.size() > gguf::kMaxTensorName)
    throw Error("GGUF tensor name '" + name + "' must be 1.." + std::to_string(gguf::kMaxTensorName) + " bytes");
  if (t.ndim() < 1 || t.ndim() > static_cast<int>(gguf::kMaxDims))
    throw Error("GGUF tensor '" + name + "' has " + std::to_string(t.ndim()) + " dimensions; GGUF stores 1..4");
  for (int64_t d : t.shape())
    if (d <= 0) throw Error("GGUF tensor '" + name + "' has shape " + shape_str(t.shape()));
  if (t.cols() % dtype_info(t.dtype()).block_size != 0)
    throw Error("GGUF tensor '" + name + "': row length " + std::to_string(t.cols()) +
                " is not a multiple of the block size of " + std::string(dtype_name(t.dtype())));
  if (t.empty()) throw Error("GGUF tensor '" + name + "' has no data");
  for (const auto& [existing, _] : tensors_)
    if (existing == name) throw Error("GGUF tensor '" + name + "' added twice");
  tensors_.emplace_back(name, t);
}

void GgufWriter::write(const std::string& path, uint64_t alignment) const {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0)
    throw file_error(path, "GGUF alignment " + std::to_string(alignment) + " is not a power of two");
  Metadata md = metadata_;
  if (auto existing = md.get_int(gguf::kAlignmentKey); existing && static_cast<uint64_t>(*existing) != alignment)
    throw file_error(path, std::string(gguf::kAlignmentKey) + " = " + std::to_string(*existing) +
                               " in the metadata contradicts the requested alignment " + std::to_string(alignment));
  if (alignment != gguf::kDefaultAlignment && !md.has(gguf::kAlignmentKey))
    md.set(gguf::kAlignmentKey, MetaValue::u32(static_cast<uint32_t>(alignment)));

  AtomicFile out(path);
  out.write(gguf::kMagic, sizeof(gguf::kMagic));
  put<uint32_t>(out, gguf::kWriteVersion);
  put<uint64_t>(out, tensors_.size());
  put<uint64_t>(out, md.all().size());
  for (const auto& [key, value] : md.all()) {
    put_string(out, key);
    put_value(out, value, path, key);
  }

  uint64_t offset = 0;
  for (const auto& [name, t] : tensors_) {
    put_string(out, name);
    put<uint32_t>(out, static_cast<uint32_t>(t.ndim()));
    for (int i = t.ndim() - 1; i >= 0; --i) put<uint64_t>(out, static_cast<uint64_t>(t.dim(i)));  // innermost first
    put<uint32_t>(out, static_cast<uint32_t>(t.dtype()));
    put<uint64_t>(out, offset);
    offset = gguf::align_up(offset + t.nbytes(), alignment);
  }

  out.pad_zeros(gguf::align_up(out.written(), alignment) - out.written());
  for (const auto& [name, t] : tensors_) {
    out.write(t.data(), t.nbytes());
    out.pad_zeros(gguf::align_up(t.nbytes(), alignment) - t.nbytes());
  }
  out.commit();
}

}  // namespace orchard
