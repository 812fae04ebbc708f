// Builds a tokenizer from a Hugging Face tokenizer.json: each normalizer, pre-tokenizer and
// decoder entry maps onto one step of the pipeline (unsupported types are errors, never
// silently skipped, so a tokenizer either encodes like HF or refuses to load).
#include "core/error.h"
#include "tokenizer/hf_json.h"
#include "tokenizer/pipeline_tokenizer.h"

namespace orchard {

namespace {

using hf::bool_field;
using hf::field;
using hf::json;
using hf::string_field;

// Sequences nest; a bound keeps hostile files from exhausting the stack.
constexpr int kMaxNesting = 16;
void check_depth(int depth, const std::string& where) {
  if (depth > kMaxNesting) throw Error(where + ": Sequence nested deeper than " + std::to_string(kMaxNesting));
}

// A Split/Replace pattern: {"String": "..."} or {"Regex": "..."}.
struct Pattern {
  std::string text;
  bool regex = false;
};
Pattern read_pattern(const json& step, const std::string& where) {
  const json& p = field(step, "pattern", where);
  if (p.is_object() && p.contains("Regex")) return {string_field(p, "Regex", where, ""), true};
  if (p.is_object() && p.contains("String")) return {string_field(p, "String", where, ""), false};
  throw Error(where + ": pattern must be {\"String\": ...} or {\"Regex\": ...}");
}

void add_normalizers(const json& n, std::vector<Normalizer>& out, const std::string& where, int depth = 0) {
  if (n.is_null()) return;
  check_depth(depth, where);
  const std::string type = string_field(n, "type", where, "");
  if (type == "Sequence") {
    for (const json& child : field(n, "normalizers", where)) add_normalizers(child, out, where, depth + 1);
  } else if (type == "NFC") {
    out.push_back(unicode_normalizer(unicode::Form::NFC));
  } else if (type == "NFD") {
    out.push_back(unicode_normalizer(unicode::Form::NFD));
  } else if (type == "NFKC") {
    out.push_back(unicode_normalizer(unicode::Form::NFKC));
  } else if (type == "NFKD") {
    out.push_back(unicode_normalizer(unicode::Form::NFKD));
  } else if (type == "Lowercase") {
    out.push_back(lowercase_normalizer());
  } else if (type == "StripAccents") {
    out.push_back(strip_accents_normalizer());
  } else if (type == "Strip") {
    out.push_back(strip_normalizer(bool_field(n, "strip_left", where, true), bool_field(n, "strip_right", where, true)));
  } else if (type == "Prepend") {
    out.push_back(prepend_normalizer(string_field(n, "prepend", where, "")));
  } else if (type == "Replace") {
    const Pattern p = read_pattern(n, where);
    std::string content = string_field(n, "content", where, "");
    out.push_back(p.regex ? replace_regex_normalizer(Regex(p.text), content) : replace_normalizer(p.text, content));
  } else if (type == "BertNormalizer") {
    const bool lowercase = bool_field(n, "lowercase", where, true);
    out.push_back(bert_normalizer(bool_field(n, "clean_text", where, true), bool_field(n, "handle_chinese_chars", where, true),
                                  bool_field(n, "strip_accents", where, lowercase), lowercase));
  } else {
    throw Error(where + ": normalizer type '" + type + "' is not supported");
  }
}

PrependScheme read_prepend_scheme(const json& step, const std::string& where) {
  if (step.contains("prepend_scheme")) {
    const std::string s = string_field(step, "prepend_scheme", where, "always");
    if (s == "always") return PrependScheme::Always;
    if (s == "never") return PrependScheme::Never;
    if (s == "first") return PrependScheme::First;
    throw Error(where + ": prepend_scheme '" + s + "' is not always, never or first");
  }
  return bool_field(step, "add_prefix_space", where, true) ? PrependScheme::Always : PrependScheme::Never;
}

void add_pre_tokenizers(const json& p, std::vector<PreTokenizer>& out, const std::string& where, int depth = 0) {
  if (p.is_null()) return;
  check_depth(depth, where);
  const std::string type = string_field(p, "type", where, "");
  if (type == "Sequence") {
    for (const json& child : field(p, "pretokenizers", where)) add_pre_tokenizers(child, out, where, depth + 1);
  } else if (type == "Split") {
    const Pattern pattern = read_pattern(p, where);
    const SplitBehavior behavior = parse_split_behavior(string_field(p, "behavior", where, "Isolated"));
    const bool invert = bool_field(p, "invert", where, false);
    out.push_back(pattern.regex ? regex_split(Regex(pattern.text), behavior, invert)
                                : literal_split(pattern.text, behavior, invert));
  } else if (type == "ByteLevel") {
    out.push_back(byte_level(bool_field(p, "add_prefix_space", where, true), bool_field(p, "use_regex", where, true)));
  } else if (type == "Metaspace") {
    out.push_back(metaspace(string_field(p, "replacement", where, "\u2581"), read_prepend_scheme(p, where),
                            bool_field(p, "split", where, true)));
  } else if (type == "Digits") {
    out.push_back(digits(bool_field(p, "individual_digits", where, false)));
  } else if (type == "Whitespace") {
    out.push_back(whitespace_words());
  } else if (type == "WhitespaceSplit") {
    out.push_back(whitespace_split());
  } else if (type == "Punctuation") {
    out.push_back(punctuation(parse_split_behavior(string_field(p, "behavior", where, "Isolated"))));
  } else if (type == "BertPreTokenizer") {
    out.push_back(bert_pre_tokenizer());
  } else {
    throw Error(where + ": pre-tokenizer type '" + type + "' is not supported");
  }
}

void read_decoder(const json& d, DecodeRules& rules, const std::string& where, int depth = 0) {
  if (d.is_null()) return;
  check_depth(depth, where);
  const std::string type = string_field(d, "type", where, "");
  if (type == "Sequence") {
    for (const json& child : field(d, "decoders", where)) read_decoder(child, rules, where, depth + 1);
  } else if (type == "ByteLevel") {
    rules.byte_level = true;
  } else if (type == "ByteFallback") {
    rules.byte_tokens = true;
  } else if (type == "Fuse") {
    // Joining the pieces is what decode() does anyway.
  } else if (type == "Replace") {
    const Pattern p = read_pattern(d, where);
    if (p.regex || string_field(d, "content", where, "") != " ")
      throw Error(where + ": only Replace decoders that turn a marker into a space are supported");
    rules.space_marker = p.text;
  } else if (type == "Strip") {
    if (string_field(d, "content", where, " ") != " ") throw Error(where + ": only Strip of spaces is supported");
    rules.strip_leading_space = field(d, "start", where).get<int64_t>() > 0;
  } else if (type == "Metaspace") {
    rules.space_marker = string_field(d, "replacement", where, "\u2581");
    rules.strip_leading_space = read_prepend_scheme(d, where) != PrependScheme::Never;
  } else if (type == "WordPiece") {
    rules.continuation_prefix = string_field(d, "prefix", where, "##");
    rules.strip_leading_space = true;
  } else {
    throw Error(where + ": decoder type '" + type + "' is not supported");
  }
}

const json& member_or_null(const json& object, const char* key) {
  static const json null_json;
  return object.contains(key) ? object.at(key) : null_json;
}

std::unique_ptr<Tokenizer> build(const json& tj, const json* config, const std::string& source) {
  if (!tj.is_object()) throw Error(source + ": not a JSON object");
  hf::VocabInfo info = hf::read_vocab(tj, config, source);
  const json& model = tj.at("model");

  TokenizerSpec spec;
  spec.vocab = info.vocab;
  spec.prefix = info.prefix;
  spec.suffix = info.suffix;
  const std::string detected = hf::pre_tokenizer_name(tj);
  spec.pretokenizer = detected.empty() ? "custom" : detected;
  add_normalizers(member_or_null(tj, "normalizer"), spec.normalizers, source + " normalizer");
  add_pre_tokenizers(member_or_null(tj, "pre_tokenizer"), spec.pre_tokenizers, source + " pre_tokenizer");
  read_decoder(member_or_null(tj, "decoder"), spec.decode, source + " decoder");
  spec.decode.rules_apply_to_added_tokens = true;

  const std::string where = source + " model";
  if (info.model_type == "BPE") {
    spec.kind = "bpe";
    if (!string_field(model, "continuing_subword_prefix", where, "").empty() ||
        !string_field(model, "end_of_word_suffix", where, "").empty())
      throw Error(where + ": BPE continuing_subword_prefix / end_of_word_suffix are not supported");
    BpeOptions options;
    options.ignore_merges = bool_field(model, "ignore_merges", where, false);
    options.byte_fallback = bool_field(model, "byte_fallback", where, false);
    options.fuse_unk = bool_field(model, "fuse_unk", where, false);
    spec.model = make_bpe_model(spec.vocab, hf::read_merges(model, source), options);
  } else {
    spec.kind = "wordpiece";
    WordPieceOptions options;
    options.continuation_prefix = string_field(model, "continuing_subword_prefix", where, "##");
    if (model.contains("max_input_chars_per_word")) {
      const int64_t max_chars = field(model, "max_input_chars_per_word", where).get<int64_t>();
      options.max_word_chars = max_chars > 0 ? static_cast<size_t>(max_chars) : 0;
    }
    spec.model = make_wordpiece_model(spec.vocab, options);
  }

  // Added tokens are matched on the raw text (all the real tokenizers mark them
  // normalized=false); non-special ones are recognised even without parse_special.
  for (const hf::AddedToken& t : info.added)
    spec.specials.add(t.content, t.id, {t.special, t.lstrip, t.rstrip});
  return std::make_unique<PipelineTokenizer>(std::move(spec), source);
}

}  // namespace

std::unique_ptr<Tokenizer> tokenizer_from_json(const nlohmann::json& tokenizer_json, const nlohmann::json* tokenizer_config,
                                               const std::string& source_name) {
  try {
    return build(tokenizer_json, tokenizer_config, source_name);
  } catch (const nlohmann::json::exception& e) {
    throw Error(source_name + ": malformed tokenizer.json: " + e.what());
  }
}

}  // namespace orchard
