#include "io/json_file.h"

#include "core/error.h"
#include "io/mmap.h"

namespace orchard {

nlohmann::json parse_json(std::string_view text, const std::string& name) {
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line L, column C: ..." (or an
    // out_of_range error for numbers like 1e999); keep the part a user can act on.
    std::string what = e.what();
    if (auto end_of_id = what.find("] "); what.starts_with("[json.exception") && end_of_id != std::string::npos)
      what = what.substr(end_of_id + 2);
    throw file_error(name, "invalid JSON: " + what);
  }
}

nlohmann::json read_json_file(const std::string& path) {
  auto file = MappedFile::open(path);
  return parse_json(std::string_view(reinterpret_cast<const char*>(file->data()), file->size()), path);
}

}  // namespace orchard
