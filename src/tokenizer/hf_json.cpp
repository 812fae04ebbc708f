#include "tokenizer/hf_json.h"

#include <algorithm>

#include "core/error.h"
#include "tokenizer/llama_pretokenizers.h"

namespace orchard::hf {

const json& field(const json& object, const char* key, const std::string& where) {
  if (!object.is_object() || !object.contains(key)) throw Error(where + ": missing field '" + key + "'");
  return object.at(key);
}

std::string string_field(const json& object, const char* key, const std::string& where, const std::string& fallback) {
  if (!object.is_object() || !object.contains(key) || object.at(key).is_null()) return fallback;
  const json& v = object.at(key);
  if (!v.is_string()) throw Error(where + ": field '" + key + "' must be a string");
  return v.get<std::string>();
}

bool bool_field(const json& object, const char* key, const std::string& where, bool fallback) {
  if (!object.is_object() || !object.contains(key) || object.at(key).is_null()) return fallback;
  const json& v = object.at(key);
  if (!v.is_boolean()) throw Error(where + ": field '" + key + "' must be true or false");
  return v.get<bool>();
}

namespace {

TokenId checked_id(const json& v, size_t limit, const std::string& where) {
  if (!v.is_number_integer() || v.get<int64_t>() < 0 || static_cast<uint64_t>(v.get<int64_t>()) >= limit)
    throw Error(where + ": token id " + v.dump() + " is not an integer in [0, " + std::to_string(limit) + ")");
  return static_cast<TokenId>(v.get<int64_t>());
}

// tokenizer_config.json names special tokens as a string or as an AddedToken object.
std::string config_token(const json* config, const char* key, const std::string& where) {
  if (!config || !config->is_object() || !config->contains(key)) return {};
  const json& v = config->at(key);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object()) return string_field(v, "content", where + " " + key, "");
  return {};
}

// BOS/EOS the post-processor adds around a single sequence; false if it has no template.
bool read_template(const json& processor, const Vocab& vocab, std::vector<TokenId>& prefix,
                   std::vector<TokenId>& suffix, const std::string& where, int depth = 0) {
  if (!processor.is_object()) return false;
  if (depth > 16) throw Error(where + ": Sequence nested too deeply");
  const std::string type = string_field(processor, "type", where, "");
  if (type == "Sequence") {
    bool found = false;
    for (const json& p : field(processor, "processors", where)) found |= read_template(p, vocab, prefix, suffix, where, depth + 1);
    return found;
  }
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    auto id_of = [&](const char* key) {
      const json& pair = field(processor, key, where);
      if (!pair.is_array() || pair.size() != 2) throw Error(where + ": '" + key + "' must be [token, id]");
      return checked_id(pair[1], vocab.texts.size(), where + " " + key);
    };
    prefix.push_back(id_of("cls"));
    suffix.push_back(id_of("sep"));
    return true;
  }
  if (type != "TemplateProcessing") return false;
  const json& specials = field(processor, "special_tokens", where);
  bool after_sequence = false;
  for (const json& item : field(processor, "single", where)) {
    if (item.contains("Sequence")) {
      after_sequence = true;
      continue;
    }
    const std::string name = string_field(field(item, "SpecialToken", where), "id", where, "");
    const json& ids = field(field(specials, name.c_str(), where + " special_tokens"), "ids", where);
    for (const json& id : ids) (after_sequence ? suffix : prefix).push_back(checked_id(id, vocab.texts.size(), where));
  }
  return true;
}

}  // namespace

VocabInfo read_vocab(const json& tokenizer_json, const json* config, const std::string& source) {
  VocabInfo info;
  const json& model = field(tokenizer_json, "model", source);
  info.model_type = string_field(model, "type", source + " model", "");
  if (info.model_type.empty()) info.model_type = model.contains("merges") ? "BPE" : "WordPiece";
  if (info.model_type != "BPE" && info.model_type != "WordPiece")
    throw Error(source + ": model type '" + info.model_type + "' is not supported (BPE and WordPiece are)");

  const json& entries = field(model, "vocab", source + " model");
  if (!entries.is_object()) throw Error(source + ": model.vocab must be an object of token -> id");
  const json empty_array = json::array();
  const json& added = tokenizer_json.contains("added_tokens") ? tokenizer_json.at("added_tokens") : empty_array;
  if (!added.is_array()) throw Error(source + ": added_tokens must be an array");
  // Ids must be dense (no id beyond the number of entries), which also bounds the table size.
  const size_t limit = entries.size() + added.size();

  std::vector<std::string> texts(limit);
  std::vector<bool> present(limit, false);
  size_t n = 0;
  for (const auto& [text, id_json] : entries.items()) {
    const TokenId id = checked_id(id_json, limit, source + " model.vocab['" + text + "']");
    texts[id] = text;
    present[id] = true;
    n = std::max(n, static_cast<size_t>(id) + 1);
  }
  for (const json& a : added) {
    AddedToken t;
    t.id = checked_id(field(a, "id", source + " added_tokens"), limit, source + " added_tokens");
    t.content = string_field(a, "content", source + " added_tokens", "");
    t.special = bool_field(a, "special", source + " added_tokens", false);
    t.lstrip = bool_field(a, "lstrip", source + " added_tokens", false);
    t.rstrip = bool_field(a, "rstrip", source + " added_tokens", false);
    if (t.content.empty()) throw Error(source + ": added token " + std::to_string(t.id) + " has no content");
    texts[t.id] = t.content;
    present[t.id] = true;
    n = std::max(n, static_cast<size_t>(t.id) + 1);
    info.added.push_back(std::move(t));
  }

  const bool byte_fallback = bool_field(model, "byte_fallback", source + " model", false);
  info.vocab = std::make_shared<Vocab>();
  Vocab& vocab = *info.vocab;
  vocab.ids.reserve(n);
  for (size_t id = 0; id < n; ++id) {
    if (!present[id]) {  // a hole: a placeholder nothing can produce, as convert_hf_to_gguf writes
      vocab.add("[PAD" + std::to_string(id) + "]", 0.0f, TokenType::Unused);
      continue;
    }
    const bool is_byte = byte_fallback && texts[id].size() == 6 && texts[id].rfind("<0x", 0) == 0;
    vocab.add(texts[id], 0.0f, is_byte ? TokenType::Byte : TokenType::Normal);
  }
  for (const AddedToken& t : info.added) vocab.types[t.id] = t.special ? TokenType::Control : TokenType::UserDefined;

  auto id_of = [&](const std::string& text) { return text.empty() ? -1 : vocab.find(text); };
  vocab.bos = id_of(config_token(config, "bos_token", source));
  vocab.eos = id_of(config_token(config, "eos_token", source));
  vocab.pad = id_of(config_token(config, "pad_token", source));
  vocab.unk = id_of(config_token(config, "unk_token", source));
  if (vocab.unk < 0) vocab.unk = id_of(string_field(model, "unk_token", source + " model", ""));

  const json null_json;
  const json& processor = tokenizer_json.contains("post_processor") ? tokenizer_json.at("post_processor") : null_json;
  if (!read_template(processor, vocab, info.prefix, info.suffix, source + " post_processor")) {
    auto config_flag = [&](const char* key) {
      return config && config->is_object() && config->contains(key) && config->at(key).is_boolean() &&
             config->at(key).get<bool>();
    };
    if (config_flag("add_bos_token")) {
      if (vocab.bos < 0) throw Error(source + ": add_bos_token is set but there is no bos_token");
      info.prefix.push_back(vocab.bos);
    }
    if (config_flag("add_eos_token")) {
      if (vocab.eos < 0) throw Error(source + ": add_eos_token is set but there is no eos_token");
      info.suffix.push_back(vocab.eos);
    }
  }
  if (vocab.bos < 0 && !info.prefix.empty()) vocab.bos = info.prefix.front();
  for (std::string_view eot : {"<|eot_id|>", "<|im_end|>", "<end_of_turn>", "<|end|>"})
    if (vocab.eot < 0) vocab.eot = vocab.find(eot);
  vocab.collect_end_of_generation();
  return info;
}

std::vector<std::pair<std::string, std::string>> read_merges(const json& model, const std::string& source) {
  const json& merges = field(model, "merges", source + " model");
  if (!merges.is_array()) throw Error(source + ": model.merges must be an array");
  std::vector<std::pair<std::string, std::string>> pairs;
  pairs.reserve(merges.size());
  for (const json& m : merges) {
    if (m.is_string()) {  // "left right"
      const std::string s = m.get<std::string>();
      const size_t space = s.find(' ', 1);
      if (space == std::string::npos) throw Error(source + ": merge '" + s + "' has no space");
      pairs.emplace_back(s.substr(0, space), s.substr(space + 1));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {  // ["left", "right"]
      pairs.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      throw Error(source + ": merge " + m.dump() + " is neither \"a b\" nor [\"a\", \"b\"]");
    }
  }
  return pairs;
}

std::string pre_tokenizer_name(const json& tokenizer_json) {
  const json* pre = tokenizer_json.contains("pre_tokenizer") ? &tokenizer_json.at("pre_tokenizer") : nullptr;
  if (!pre || !pre->is_object()) return {};
  std::vector<const json*> steps;
  if (pre->value("type", "") == "Sequence" && pre->contains("pretokenizers") && pre->at("pretokenizers").is_array())
    for (const json& p : pre->at("pretokenizers")) steps.push_back(&p);
  else
    steps.push_back(pre);
  for (const json* step : steps) {
    if (!step->is_object()) continue;
    const std::string type = step->value("type", "");
    if (type == "Split" && step->contains("pattern") && step->at("pattern").is_object() &&
        step->at("pattern").contains("Regex") && step->at("pattern").at("Regex").is_string())
      return llama_pre_tokenizer_name_for_regex(step->at("pattern").at("Regex").get<std::string>());
    if (type == "ByteLevel" && step->value("use_regex", true)) return "gpt-2";
  }
  return {};
}

}  // namespace orchard::hf
