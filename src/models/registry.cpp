// The architecture registry. Built-in families are registered by explicit calls listed here
// rather than by static initialisers in their own files: orchard_models is a static library,
// and the linker drops any object file nothing references, silently taking its static
// registration with it. Adding a family = its own file + one line in kBuiltinFamilies.
#include <map>
#include <mutex>

#include "core/error.h"
#include "models/model.h"

namespace orchard {

void register_llama();
void register_qwen2();
void register_qwen3();

namespace {

constexpr void (*kBuiltinFamilies[])() = {register_llama, register_qwen2, register_qwen3};

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}
std::map<std::string, ModelBuilder>& builders() {
  static std::map<std::string, ModelBuilder> map;
  return map;
}

// Runs on first lookup. Not called by register_architecture itself (the built-in families
// call that), so an application may register a name first to override a built-in family.
void register_builtin_families() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (auto family : kBuiltinFamilies) family();
  });
}

}  // namespace

bool register_architecture(const std::string& name, ModelBuilder builder) {
  std::lock_guard lock(registry_mutex());
  return builders().emplace(name, std::move(builder)).second;
}

std::vector<std::string> registered_architectures() {
  register_builtin_families();
  std::lock_guard lock(registry_mutex());
  std::vector<std::string> names;
  for (const auto& [name, builder] : builders()) names.push_back(name);
  return names;
}

std::unique_ptr<Model> load_model(std::shared_ptr<const ModelSource> source, std::shared_ptr<Backend> backend) {
  ModelBuilder builder;
  {
    register_builtin_families();
    std::lock_guard lock(registry_mutex());
    auto it = builders().find(source->architecture);
    if (it != builders().end()) builder = it->second;
  }
  if (!builder) {
    std::string supported;
    for (const std::string& name : registered_architectures()) supported += (supported.empty() ? "" : ", ") + name;
    throw file_error(source->path, "unsupported architecture '" + source->architecture + "' (supported: " + supported + ")");
  }
  return builder(std::move(source), std::move(backend));
}

}  // namespace orchard
