// Jinja2 language features, each rendered by orchard and by Python jinja2 (with the settings
// transformers uses) and required to match exactly. No expected strings are written here:
// the reference script renders the same cases.
#include <gtest/gtest.h>

#include <vector>

#include "chat/chat_template.h"
#include "core/error.h"
#include "test_chat_reference.h"

namespace orchard {
namespace {

struct Case {
  const char* name;
  const char* source;
  const char* variables = "{}";
};

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      // whitespace control, trim_blocks and lstrip_blocks
      {"trim_blocks", "{% if true %}\nyes\n{% endif %}\nafter\n"},
      {"lstrip_blocks", "  {% if true %}\n    indented\n  {% endif %}\n  text {% if true %}x{% endif %}\n"},
      {"minus_both_sides", "a   {%- if true -%}   b   {%- endif -%}   c"},
      {"minus_on_variables", "a \n {{- 'x' -}} \n b {{ 'y' }} \n"},
      {"plus_disables_lstrip", "  {%+ if true %}x{% endif +%}\nend"},
      {"comments", "a {# note #}\nb\n  {# indented comment #}\nc {#- trim -#}  d"},
      {"crlf_and_trailing_newline", "line1\r\n{% if true %}\r\nline2\r\n{% endif %}\r\n"},
      {"unicode_whitespace_strip", "x \u3000 {%- if true %}y{% endif %}"},
      {"raw_block", "{% raw %}{{ not evaluated }} {% if %}{% endraw %}!"},
      {"variable_end_at_depth", "{{ {'a': {'b': 1}} }}"},
      // literals and printing like Python
      {"print_values", "{{ none }} {{ true }} {{ False }} {{ 1 }} {{ -3 }} {{ 2.50 }} {{ 1e16 }} {{ 1e15 }} {{ 0.0001 }} {{ 1e-5 }} {{ 1_000 }}"},
      {"print_containers", "{{ [1, 'a', none, [true]] }} {{ (1,) }} {{ (1, 2) }} {{ () }} {{ {'k': 'v', 'n': 1.5} }}"},
      {"string_repr_quotes", "{{ [\"it's\", 'say \"hi\"', 'both \\' \"', 'tab\\tnl\\n', 'uni ü 🍎', '\\x01'] }}"},
      {"string_escapes", "{{ 'a\\nb\\tc\\\\d\\'e\\x41\\u00e9\\U0001F600\\101\\q' }}|{{ \"dq \\\" \" }}"},
      {"adjacent_strings", "{{ 'a' 'b' \"c\" }}"},
      {"float_formatting", "{{ 0.1 + 0.2 }} {{ 1/3 }} {{ 2.0 * 3 }} {{ 10 / 4 }} {{ 1e300 * 1e10 }} {{ 123456789.123456789 }} {{ 5e-324 }}"},
      {"input_numbers", "{{ i }} {{ f }} {{ big }} {{ neg }} {{ whole }}", R"({"i": 42, "f": 0.5, "big": 1.5e300, "neg": -7, "whole": 3.0})"},
      // arithmetic with Python semantics
      {"integer_arithmetic", "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % -3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 7 / 7 }} {{ 3 - 5 }}"},
      {"float_arithmetic", "{{ 7.5 // 2 }} {{ -7.5 // 2 }} {{ 7.5 % -2 }} {{ 2 ** 0.5 }} {{ 1 + 2.0 }} {{ true + 1 }}"},
      {"string_and_list_ops", "{{ 'ab' * 3 }} {{ [1] * 3 }} {{ 3 * 'x' }} {{ [1, 2] + [3] }} {{ 'a' ~ 1 ~ none ~ [1] }}"},
      {"unary_and_pow_precedence", "{{ -2 ** 2 }} {{ - 3 | abs }} {{ not 1 == 2 }} {{ 2 * 3 + 4 * 5 }} {{ (2 + 3) * 4 }}"},
      {"division_by_zero", "{{ 1 / 0 }}"},
      {"add_str_int_error", "{{ 'a' + 1 }}"},
      // comparisons and logic
      {"comparisons", "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1.0 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 1 != 2 }} {{ 2 >= 2 }}"},
      {"membership", "{{ 'b' in 'abc' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 3 not in [1] }} {{ 'x' in u }}"},
      {"and_or_return_operands", "{{ 0 or 'default' }} {{ 'a' and 'b' }} {{ '' and 'x' }} {{ none or [] }} {{ [] or none }}"},
      {"conditional_expression", "{{ 'yes' if 1 else 'no' }} [{{ 'shown' if false }}] {{ 'a' if false else 'b' if true else 'c' }}"},
      {"compare_incompatible_types", "{{ 1 < 'a' }}"},
      // variables, attributes, subscripts, slices
      {"attribute_and_item_access", "{{ d.name }} {{ d['name'] }} {{ d.missing }} [{{ d.nested.deep }}] {{ l[0] }} {{ l[-1] }} [{{ l[10] }}]",
       R"({"d": {"name": "x", "nested": {"deep": 5}}, "l": [1, 2, 3]})"},
      {"slices", "{{ l[1:] }} {{ l[:-1] }} {{ l[::-1] }} {{ l[::2] }} {{ l[5:] }} {{ s[1:3] }} {{ s[::-1] }} {{ s[-2:] }}",
       R"({"l": [1, 2, 3, 4], "s": "héllo"})"},
      {"string_indexing_is_by_code_point", "{{ s[1] }} {{ s|length }} {{ s[-1] }}", R"({"s": "añ日🍎"})"},
      {"undefined_prints_empty", "[{{ nothing }}] [{{ nothing|default('dflt') }}] {{ nothing is defined }} {{ nothing is undefined }}"},
      {"attribute_of_undefined_fails", "{{ nothing.attr }}"},
      {"attribute_of_missing_key_fails", "{{ d.a.b }}", R"({"d": {}})"},
      {"attribute_of_none_is_undefined", "[{{ n.attr }}]", R"({"n": null})"},
      {"dict_methods_beat_keys", "{{ d.items()|list }} {{ d['items'] }} {{ d.keys()|list }} {{ d.values()|list }} {{ d.get('x', 'none') }} {{ d.get('items') }}",
       R"({"d": {"items": 1, "b": 2}})"},
      {"mutating_methods_are_unsafe", "{% set l = [1] %}{{ l.append(2) }}"},
      {"undefined_arithmetic_fails", "{{ nothing + 1 }}"},
      {"undefined_iteration_and_length", "{% for x in nothing %}x{% else %}empty{% endfor %} {{ nothing|length }} {{ nothing|list }}"},
      // control flow
      {"if_elif_else", "{% for n in [1, 2, 3, 4] %}{% if n == 1 %}one{% elif n == 2 %}two{% elif n == 3 %}three{% else %}many{% endif %} {% endfor %}"},
      {"for_loop_variables", "{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}"},
      {"for_previtem_nextitem", "{% for x in [1, 2, 3] %}({{ loop.previtem }},{{ loop.nextitem }}){% endfor %}"},
      {"for_cycle_changed", "{% for x in [1, 1, 2] %}{{ loop.cycle('odd', 'even') }}{{ loop.changed(x) }} {% endfor %}"},
      {"for_else", "{% for x in [] %}item{% else %}no items{% endfor %}"},
      {"for_with_filter", "{% for x in range(10) if x is odd %}{{ x }}{{ loop.index }}{{ loop.last }} {% endfor %}"},
      {"for_tuple_unpacking", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }}{% endfor %}",
       R"({"d": {"z": 1, "a": 2, "m": 3}})"},
      {"for_over_dict_and_string", "{% for k in d %}{{ k }}{% endfor %} {% for c in 'hé' %}[{{ c }}]{% endfor %}", R"({"d": {"b": 1, "a": 2}})"},
      {"nested_loops", "{% for i in [1, 2] %}{% for j in [1, 2] %}{{ i }}{{ j }}{{ loop.index }} {% endfor %}{{ loop.index }}|{% endfor %}"},
      {"break_continue", "{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 5 %}{% break %}{% endif %}{{ i }}{% endfor %}"},
      {"loop_scoping", "{% set x = 'outer' %}{% for i in [1, 2] %}[{{ x }}]{% set x = i %}({{ x }}){% endfor %}{{ x }}"},
      {"loop_scoping_undefined_before", "{% for i in [1, 2] %}[{{ y }}]{% set y = i %}{% endfor %}[{{ y }}]"},
      {"if_does_not_scope", "{% if true %}{% set x = 1 %}{% endif %}{{ x }}"},
      {"iterate_none_fails", "{% for x in n %}{% endfor %}", R"({"n": null})"},
      // set, namespace, macros, call, filter blocks
      {"set_forms", "{% set a, b = 1, 2 %}{% set t = 3, 4 %}{{ a }}{{ b }}{{ t }}{% set block %}  text {{ a }}\n{% endset %}[{{ block }}]"},
      {"set_block_with_filter", "{% set shout | upper | trim %}  hello {{ 'world' }}  {% endset %}[{{ shout }}]"},
      {"namespace_updates_in_loops", "{% set ns = namespace(count=0, items=[]) %}{% for i in range(4) %}{% set ns.count = ns.count + i %}{% set ns.items = ns.items + [i] %}{% endfor %}{{ ns.count }} {{ ns.items }} {{ ns }}"},
      {"namespace_from_dict", "{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }}{{ ns['a'] }}"},
      {"set_attribute_on_non_namespace", "{% set d = {} %}{% set d.x = 1 %}"},
      {"macro_defaults_and_kwargs", "{% macro greet(name, greeting='Hello', punct='!') %}{{ greeting }}, {{ name }}{{ punct }}{% endmacro %}{{ greet('Ann') }} {{ greet('Bob', punct='?') }} {{ greet(greeting='Hi', name='Cy') }}"},
      {"macro_varargs_kwargs", "{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, x=4) }}"},
      {"macro_missing_argument", "{% macro m(a, b) %}[{{ a }}][{{ b }}]{% endmacro %}{{ m(1) }}"},
      {"macro_recursion", "{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1)|int }}{% endif %}{% endmacro %}{{ fact(10) }}"},
      {"macro_sees_outer_variables", "{% macro f() %}{{ x }}{% endmacro %}{% set x = 1 %}{{ f() }}{% set x = 2 %}{{ f() }}"},
      {"macro_whitespace", "{% macro item(x) %}\n  <{{ x }}>\n{% endmacro %}\n{{ item(1) }}{{ item(2) }}"},
      {"call_block", "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}inner {{ 1 + 1 }}{% endcall %}"},
      {"call_block_with_args", "{% macro each(items) %}{% for i in items %}{{ caller(i) }}{% endfor %}{% endmacro %}{% call(x) each([1, 2]) %}[{{ x }}]{% endcall %}"},
      {"filter_block", "{% filter upper %}hello {{ 'there' }}{% endfilter %}"},
      {"with_block", "{% with a = 1, b = 'x' %}{{ a }}{{ b }}{% endwith %}[{{ a }}]"},
      {"generation_block", "{% set x = 1 %}{% for m in ['a', 'b'] %}{% generation %}{% set x = m %}<{{ x }}>\n{% endgeneration %}{% endfor %}{{ x }}"},
      {"copy_methods", "{% set d = {'a': 1} %}{% set l = [1, 2] %}{{ d.copy() }} {{ l.copy() }} [{{ (1, 2).copy }}]"},
      {"macro_in_loop_and_namespace", "{% set ns = namespace(parts=[]) %}{% macro tag(x) %}<{{ x }}>{% endmacro %}{% for i in range(3) %}{% set ns.parts = ns.parts + [tag(i)] %}{% endfor %}{{ ns.parts|join(',') }}"},
      {"loop_length_with_break", "{% for x in [1, 2, 3] %}{{ loop.length }}{{ loop.revindex }}{% if loop.index == 2 %}{% break %}{% endif %}{% endfor %}"},
      {"raise_exception", "before {{ raise_exception('Custom failure: ' ~ 42) }}"},
      {"strftime_now", "{{ strftime_now('%Y-%m-%d %d %b %Y') }}"},
      // filters
      {"string_filters", "{{ '  pad  '|trim }}|{{ 'xxhixx'|trim('x') }}|{{ 'hello world'|upper }}|{{ 'HeLLo'|lower }}|{{ 'hello wORLD foo-bar'|title }}|{{ 'hELLO there'|capitalize }}"},
      {"replace_filter", "{{ 'a-b-c'|replace('-', '+') }} {{ 'aaa'|replace('a', 'b', 2) }} {{ 'abc'|replace('', '.') }}"},
      {"length_filters", "{{ [1, 2]|length }} {{ 'héllo'|count }} {{ {'a': 1}|length }} {{ ''|length }}"},
      {"default_filter", "{{ u|default('d') }} {{ ''|default('d') }} {{ ''|default('d', true) }} {{ none|d('x') }} {{ 0|default(5, boolean=true) }}"},
      {"first_last_join", "{{ [3, 1, 2]|first }} {{ [3, 1, 2]|last }} {{ 'abc'|first }} {{ [1, 2, 3]|join(', ') }} {{ ['a', 'b']|join }} [{{ []|first }}]"},
      {"join_attribute", "{{ users|join(', ', attribute='name') }}", R"({"users": [{"name": "a"}, {"name": "b"}]})"},
      {"list_and_items_filters", "{{ 'abc'|list }} {{ {'a': 1, 'b': 2}|items|list }} {{ (1, 2)|list }} {{ u|items|list }}"},
      {"map_filter", "{{ users|map(attribute='name')|list }} {{ ['a', 'b']|map('upper')|join }} {{ users|map(attribute='age', default=0)|list }} {{ [' a ', 'b ']|map('trim')|list }}",
       R"({"users": [{"name": "x", "age": 3}, {"name": "y"}]})"},
      {"select_reject", "{{ range(6)|select('odd')|list }} {{ range(6)|reject('even')|list }} {{ [0, 1, '', 'a', none]|select|list }} {{ [1, 2, 3]|select('>', 1)|list }} {{ ['a', 'b']|reject('equalto', 'a')|list }}"},
      {"selectattr_rejectattr", "{{ ms|selectattr('role', 'equalto', 'user')|map(attribute='content')|list }} {{ ms|rejectattr('role', 'eq', 'user')|list|length }} {{ ms|selectattr('tool')|list|length }} {{ ms|selectattr('x', 'defined')|list }}",
       R"({"ms": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b", "tool": true}, {"role": "user", "content": "c"}]})"},
      {"tojson_filter", "{{ v|tojson }}\n{{ v|tojson(indent=2) }}\n{{ v|tojson(sort_keys=true) }}\n{{ v|tojson(separators=(',', ':')) }}\n{{ v|tojson(ensure_ascii=true) }}\n{{ 'x'|tojson }} {{ none|tojson }} {{ [1.0, 2.5, 1e20]|tojson }}",
       R"({"v": {"z": [1, 2.5, true, null, {}, []], "a": "ü \"q\" \n\t\u0001 🍎", "m": {"k": -1}}})"},
      {"tojson_indent_string", "{{ {'a': [1]}|tojson(indent='\\t') }}"},
      {"tojson_undefined_fails", "{{ nothing|tojson }}"},
      {"string_int_float_filters", "{{ 12|string ~ 'x' }} {{ '42'|int + 1 }} {{ '3.7'|int }} {{ 'x'|int }} {{ 'x'|int(7) }} {{ 3.9|int }} {{ '2.5'|float }} {{ 'no'|float }} {{ 4|float }} {{ ' 1_0 '|int }} {{ 'ff'|int(base=16) }}"},
      {"abs_round_filters", "{{ -3|abs }} {{ -2.5|abs }} {{ 2.5|round }} {{ 3.5|round }} {{ 2.675|round(2) }} {{ 1.55|round(1) }} {{ 7|round }} {{ 2.1|round(method='ceil') }} {{ 2.9|round(0, 'floor') }}"},
      {"indent_filter", "{{ 'a\\nb\\n\\nc'|indent }}|{{ 'a\\nb'|indent(2, true) }}|{{ 'x\\n\\ny'|indent(1, blank=true) }}|{{ 'p\\nq'|indent('> ') }}"},
      {"escape_and_safe", "{{ '<a href=\"x\">&\\'</a>'|e }} {{ '<b>'|escape }} {{ '<i>'|safe }}"},
      {"sort_unique_dictsort", "{{ [3, 1, 2]|sort }} {{ ['b', 'A', 'c']|sort }} {{ ['b', 'A', 'c']|sort(case_sensitive=true) }} {{ [3, 1]|sort(reverse=true) }} {{ users|sort(attribute='age')|map(attribute='name')|join }} {{ ['a', 'A', 'b', 'a']|unique|list }} {{ {'b': 1, 'a': 2}|dictsort }} {{ {'b': 1, 'a': 2}|dictsort(by='value') }}",
       R"({"users": [{"name": "x", "age": 30}, {"name": "y", "age": 20}]})"},
      {"min_max_sum_reverse", "{{ [3, 1, 2]|min }} {{ [3, 1, 2]|max }} {{ [1, 2, 3]|sum }} {{ [1, 2]|sum(start=10) }} {{ 'abc'|reverse }} {{ [1, 2, 3]|reverse|list }}"},
      {"batch_center_attr", "{{ range(5)|batch(2)|list }} {{ range(5)|batch(2, 'x')|list }} [{{ 'ab'|center(7) }}] [{{ 'abc'|center(6) }}]"},
      {"printf_formatting", "{{ '%s|%r|%d|%5d|%-5d|%05d|%+d|%x|%#X|%o|%#o|%.2f|%8.3e|%g|%%|%c|%.3s' % ('s', 's', 3.9, 42, 42, -42, 5, 255, 255, 8, 8, 3.14159, 12345.678, 1e-5, 65, 'abcdef') }}"},
      {"printf_mapping_and_single", "{{ '%(a)s-%(b)03d' % {'a': 'x', 'b': 7} }} {{ '%s' % [1, 2] }} {{ '%s and %s'|format('a', 'b') }} {{ '%(n)s'|format(n=1) }} {{ '%-6s|' % 'ab' }}"},
      {"printf_too_few_arguments", "{{ '%s %s' % ('a',) }}"},
      {"printf_too_many_arguments", "{{ '%s' % ('a', 'b') }}"},
      {"unknown_filter", "{{ 1|no_such_filter }}"},
      // tests
      {"type_tests", "{{ 1 is number }} {{ true is number }} {{ 1 is integer }} {{ true is integer }} {{ 1.0 is float }} {{ 's' is string }} {{ {} is mapping }} {{ [] is sequence }} {{ 's' is sequence }} {{ none is none }} {{ true is boolean }} {{ 1 is boolean }} {{ u is iterable }} {{ 1 is iterable }} {{ 'x' is iterable }}"},
      {"value_tests", "{{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(2) }} {{ 'a' is equalto 'a' }} {{ 1 is eq 1.0 }} {{ 2 is gt 1 }} {{ 2 is lessthan 1 }} {{ 1 is in [1, 2] }} {{ true is true }} {{ 1 is true }} {{ false is false }} {{ 'abc' is lower }} {{ 'ABC' is upper }} {{ none is sameas none }}"},
      {"test_negation_and_precedence", "{{ x is not defined }} {{ not x is defined }} {{ x is defined and x > 0 }} {{ 'upper' is filter }} {{ 'odd' is test }} {{ f is callable }}", R"({"x": 1, "f": 2})"},
      {"unknown_test", "{{ 1 is no_such_test }}"},
      // string methods
      {"string_strip_methods", "[{{ '  a b  '.strip() }}][{{ 'xxaxx'.strip('x') }}][{{ '  a '.lstrip() }}][{{ ' a  '.rstrip() }}][{{ '\\n\\nx\\n'.strip('\\n') }}]"},
      {"string_split_methods", "{{ 'a,b,,c'.split(',') }} {{ '  a  b \\t c '.split() }} {{ 'a,b,c'.split(',', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ 'x</think>y</think>z'.split('</think>')[-1] }} {{ 'l1\\nl2\\r\\nl3'.splitlines() }}"},
      {"string_query_methods", "{{ 'hello'.startswith('he') }} {{ 'hello'.endswith('lo') }} {{ 'hello'.startswith(('x', 'h')) }} {{ 'hello'.find('l') }} {{ 'hello'.rfind('l') }} {{ 'hello'.find('z') }} {{ 'hello'.count('l') }} {{ 'añb'.find('b') }}"},
      {"string_transform_methods", "{{ 'Hello World'.upper() }} {{ 'Hello World'.lower() }} {{ 'hello world'.title() }} {{ 'hello World'.capitalize() }} {{ 'a-b'.replace('-', '_') }} {{ ', '.join(['x', 'y']) }} {{ '123'.isdigit() }} {{ ' '.isspace() }} {{ 'ab1'.isalnum() }}"},
      {"content_methods_on_messages", "{% for m in ms %}{{ m.content.strip()|upper }}|{{ m['content'].split()|length }}|{% endfor %}",
       R"({"ms": [{"content": " hi there "}, {"content": "one"}]})"},
      // syntax errors must be errors on both sides
      {"syntax_error_unclosed_block", "{% if true %}never closed"},
      {"syntax_error_bad_expression", "{{ 1 + }}"},
      {"syntax_error_unknown_tag", "{% frobnicate %}"},
      {"syntax_error_unclosed_comment", "{# never closed"},
      {"syntax_error_unterminated_string", "{{ 'abc }}"},
      {"syntax_error_stray_endfor", "{% endfor %}"},
  };
  return all;
}

TEST(ChatJinja, LanguageFeaturesMatchPythonJinja) {
  if (const std::string why = test::python_jinja_missing(); !why.empty()) GTEST_SKIP() << why;
  nlohmann::ordered_json request = nlohmann::ordered_json::array();
  for (const Case& c : cases())
    request.push_back({{"name", c.name}, {"template", c.source}, {"variables", nlohmann::ordered_json::parse(c.variables)}});
  const auto file = test::temp_dir("chat-jinja") / "cases.json";
  test::write_text(file, request.dump());
  const nlohmann::ordered_json expected = test::run_reference("--cases " + test::quote_arg(file.string()));
  ASSERT_EQ(expected.size(), cases().size());

  for (std::size_t i = 0; i < cases().size(); ++i) {
    const Case& c = cases()[i];
    const auto& want = expected[i];
    SCOPED_TRACE(std::string(c.name) + ": " + c.source);
    std::string got, error;
    try {
      got = ChatTemplate(c.source).render(nlohmann::ordered_json::parse(c.variables), test::kReferenceNow);
    } catch (const Error& e) {
      error = e.what();
    }
    if (want.contains("output")) {
      EXPECT_EQ(error, "");
      EXPECT_EQ(got, want["output"].get<std::string>());
    } else if (want["raised"].get<bool>()) {
      EXPECT_EQ(error, want["error"].get<std::string>());
    } else {
      EXPECT_NE(error, "") << "python failed with " << want["error"] << " but orchard rendered " << got;
    }
  }
}

}  // namespace
}  // namespace orchard
