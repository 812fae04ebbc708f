// What orchard promises beyond matching jinja2: syntax errors name the line and column,
// hostile templates hit clear limits instead of exhausting the stack, memory or time,
// and apply_chat_template passes the variables transformers passes.
#include <gtest/gtest.h>

#include <string>

#include "chat/chat_template.h"
#include "chat/jinja/template.h"
#include "core/error.h"

namespace orchard {
namespace {

std::string error_of(const std::string& source, const nlohmann::ordered_json& vars = nlohmann::ordered_json::object()) {
  try {
    ChatTemplate(source).render(vars, 0);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ChatErrors, SyntaxErrorsNameLineAndColumn) {
  EXPECT_EQ(error_of("ok\n  {{ 1 + }}"), "line 2, column 10: unexpected '}}'");
  EXPECT_EQ(error_of("{% if x %}\n{% endfor %}"), "line 2, column 4: encountered unknown tag 'endfor'");
  EXPECT_EQ(error_of("{{ x | nosuch }}"), "line 1, column 8: no filter named 'nosuch'");
  EXPECT_NE(error_of("{% for x in y %}").find("expected 'endfor'"), std::string::npos);
}

TEST(ChatErrors, RuntimeErrorsNameTheirStatement) {
  EXPECT_EQ(error_of("a\n{{ 1 // 0 }}"), "line 2, column 1: integer division or modulo by zero");
  EXPECT_EQ(error_of("{{ messages[0].x.y }}", {{"messages", nlohmann::ordered_json::array()}}),
            "line 1, column 1: list object has no element 0");
}

TEST(ChatErrors, RaiseExceptionMessageIsPassedVerbatim) {
  EXPECT_EQ(error_of("{% if true %}\n  {{ raise_exception('Roles must alternate') }}{% endif %}"), "Roles must alternate");
}

TEST(ChatErrors, UnboundedRecursionIsRefused) {
  EXPECT_NE(error_of("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}").find("recursion is too deep"), std::string::npos);
  const std::string nested = std::string(5000, '(') + "1" + std::string(5000, ')');
  EXPECT_NE(error_of("{{ " + nested + " }}").find("nesting is too deep"), std::string::npos);
}

TEST(ChatErrors, HugeOutputsAndEndlessWorkAreRefused) {
  EXPECT_NE(error_of("{{ 'x' * 100000000000 }}").find("output exceeds"), std::string::npos);
  EXPECT_NE(error_of("{% set s = namespace(t='ab') %}{% for i in range(100) %}{% set s.t = s.t ~ s.t %}{% endfor %}")
                .find("output exceeds"),
            std::string::npos);
  jinja::Limits small;
  small.max_steps = 100'000;
  const jinja::Template loops("{% for a in range(99999) %}{% for b in range(99999) %}{% endfor %}{% endfor %}", small);
  try {
    loops.render(nlohmann::ordered_json::object(), 0);
    ADD_FAILURE() << "expected the evaluation budget to run out";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("budget"), std::string::npos) << e.what();
  }
  EXPECT_NE(error_of("{{ range(1000000) }}").find("MAX_RANGE"), std::string::npos);
}

TEST(ChatErrors, ApplyChatTemplatePassesTransformersVariables) {
  const ChatTemplate tmpl(
      "{{ bos_token }}|{{ eos_token }}|{{ add_generation_prompt }}|{{ tools is none }}|{{ documents is none }}|"
      "{{ messages[0].content }}|"
      "{{ extra }}|{{ strftime_now('%Y') }}");
  ChatOptions options;
  options.bos_token = "<s>";
  options.eos_token = "</s>";
  options.add_generation_prompt = false;
  options.extra_variables = {{"extra", 5}};
  options.now = 15'552'000;  // 1970-06-29: the same year in every time zone
  const nlohmann::ordered_json messages = {{{"role", "user"}, {"content", "hi"}}};
  EXPECT_EQ(apply_chat_template(tmpl, messages, options), "<s>|</s>|False|True|True|hi|5|1970");
}

TEST(ChatErrors, WronglyTypedArgumentsAreErrors) {
  for (const char* source : {"{{ 'a'|replace('a', 'b', 'x') }}", "{{ 1.5|round('x') }}", "{{ 'a'|indent(none) }}",
                             "{{ 'a'|center('x') }}", "{{ 'a,b'.split(',', 'x') }}", "{{ [1][1.5:] }}", "{{ range('x') }}"})
    EXPECT_NE(error_of(source), "") << source;
}

TEST(ChatErrors, BadInputsAreErrors) {
  const ChatTemplate tmpl("{{ messages }}");
  EXPECT_THROW(apply_chat_template(tmpl, nlohmann::ordered_json::object(), ChatOptions{}), Error);
  EXPECT_THROW(tmpl.render(nlohmann::ordered_json::array()), Error);
}

}  // namespace
}  // namespace orchard
