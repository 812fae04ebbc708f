#include "tokenizer/gguf_vocab.h"

#include <algorithm>

#include "core/error.h"
#include "tokenizer/hf_json.h"

namespace orchard {

namespace {

constexpr const char* kSource = "tokenizer.json";

bool has_byte_level(const nlohmann::json& step) {
  if (!step.is_object()) return false;
  const std::string type = step.value("type", "");
  if (type == "ByteLevel") return true;
  if (type == "Sequence" && step.contains("pretokenizers") && step.at("pretokenizers").is_array())
    for (const auto& child : step.at("pretokenizers"))
      if (has_byte_level(child)) return true;
  return false;
}

// A SentencePiece BPE exported to tokenizer.json (Gemma, Llama 2): byte_fallback, spaces made
// "▁" by the normalizer (optionally with a "▁" prefix), no pre-tokenizer that changes anything.
// Returns whether the normalizer prepends "▁" (GGUF add_space_prefix); Error if the JSON does
// something llama.cpp's SPM tokenizer would not.
bool sentencepiece_space_prefix(const nlohmann::json& tj) {
  const std::string where = std::string(kSource) + ": only SentencePiece-style byte-fallback BPE converts to a GGUF llama vocab";
  bool prefix = false;
  std::vector<const nlohmann::json*> steps;
  if (tj.contains("normalizer") && !tj.at("normalizer").is_null()) steps.push_back(&tj.at("normalizer"));
  for (size_t i = 0; i < steps.size(); ++i) {
    const nlohmann::json& n = *steps[i];
    const std::string type = n.value("type", "");
    if (type == "Sequence" && n.contains("normalizers") && n.at("normalizers").is_array()) {
      for (const auto& child : n.at("normalizers")) steps.push_back(&child);
    } else if (type == "Prepend" && n.value("prepend", "") == "\u2581") {
      prefix = true;
    } else if (!(type == "Replace" && n.value("content", "") == "\u2581" && n.contains("pattern") &&
                 n.at("pattern").value("String", "") == " ")) {
      throw Error(where + " (normalizer " + type + ")");
    }
  }
  if (tj.contains("pre_tokenizer") && !tj.at("pre_tokenizer").is_null()) {
    // Splitting on " " after spaces became "▁" is a no-op (Gemma ships exactly that).
    const nlohmann::json& p = tj.at("pre_tokenizer");
    const bool noop_split = p.value("type", "") == "Split" && p.contains("pattern") &&
                            p.at("pattern").value("String", "") == " ";
    if (!noop_split) throw Error(where + " (pre_tokenizer " + p.value("type", "") + ")");
  }
  return prefix;
}

Metadata convert(const nlohmann::json& tj, const nlohmann::json* config, int64_t vocab_size) {
  hf::VocabInfo info = hf::read_vocab(tj, config, kSource);
  const Vocab& vocab = *info.vocab;
  Metadata md;

  std::vector<std::string> tokens = vocab.texts;
  std::vector<int64_t> types;
  types.reserve(tokens.size());
  for (TokenType t : vocab.types) types.push_back(static_cast<int64_t>(t));

  const bool byte_fallback = hf::bool_field(tj.at("model"), "byte_fallback", kSource, false);
  if (info.model_type == "BPE" && byte_fallback) {
    // SentencePiece merges the pair whose result has the highest score; its BPE export lists
    // the merges in that order. So a piece scores minus the rank of the first merge producing
    // it, and a piece no merge produces (base characters, control, byte tokens) scores lowest.
    md.set("tokenizer.ggml.model", MetaValue::string("llama"));
    md.set("tokenizer.ggml.add_space_prefix", MetaValue::boolean(sentencepiece_space_prefix(tj)));
    constexpr double kNeverMerged = -1e9;
    std::vector<double> scores(std::max<size_t>(tokens.size(), vocab_size > 0 ? vocab_size : 0), kNeverMerged);
    const auto merges = hf::read_merges(tj.at("model"), kSource);
    for (size_t rank = 0; rank < merges.size(); ++rank) {
      const TokenId id = vocab.find(merges[rank].first + merges[rank].second);
      if (id >= 0 && scores[id] == kNeverMerged) scores[id] = -static_cast<double>(rank);
    }
    md.set("tokenizer.ggml.scores", MetaValue::float_array(std::move(scores)));
  } else if (info.model_type == "BPE") {
    if (!tj.contains("pre_tokenizer") || !has_byte_level(tj.at("pre_tokenizer")))
      throw Error(std::string(kSource) + ": only byte-level or byte-fallback BPE converts to a GGUF vocab");
    const std::string pre = hf::pre_tokenizer_name(tj);
    if (pre.empty())
      throw Error(std::string(kSource) + ": the pre-tokenizer regex matches no llama.cpp tokenizer.ggml.pre type");
    md.set("tokenizer.ggml.model", MetaValue::string("gpt2"));
    md.set("tokenizer.ggml.pre", MetaValue::string(pre));
    std::vector<std::string> merges;
    for (auto& [left, right] : hf::read_merges(tj.at("model"), kSource)) merges.push_back(left + " " + right);
    md.set("tokenizer.ggml.merges", MetaValue::string_array(std::move(merges)));
  } else {
    md.set("tokenizer.ggml.model", MetaValue::string("bert"));
    const std::string prefix = hf::string_field(tj.at("model"), "continuing_subword_prefix", kSource, "##");
    for (size_t id = 0; id < tokens.size(); ++id) {
      if (vocab.types[id] != TokenType::Normal) continue;
      if (!prefix.empty() && tokens[id].rfind(prefix, 0) == 0) tokens[id].erase(0, prefix.size());
      else tokens[id] = "\u2581" + tokens[id];
    }
  }

  for (int64_t id = static_cast<int64_t>(tokens.size()); id < vocab_size; ++id) {
    tokens.push_back("[PAD" + std::to_string(id) + "]");
    types.push_back(static_cast<int64_t>(TokenType::Unused));
  }
  md.set("tokenizer.ggml.tokens", MetaValue::string_array(std::move(tokens)));
  md.set("tokenizer.ggml.token_type", MetaValue::int_array(GgufType::I32, std::move(types)));

  auto set_id = [&](const char* key, TokenId id) {
    if (id >= 0) md.set(std::string("tokenizer.ggml.") + key + "_token_id", MetaValue::u32(static_cast<uint32_t>(id)));
  };
  set_id("bos", vocab.bos);
  set_id("eos", vocab.eos);
  set_id("unknown", vocab.unk);
  set_id("padding", vocab.pad);
  if (info.model_type == "WordPiece" && !info.suffix.empty()) set_id("seperator", info.suffix.back());
  // Written explicitly: llama.cpp's defaults differ per pre-tokenizer (llama-bpe adds BOS).
  const bool add_bos = !info.prefix.empty(), add_eos = !info.suffix.empty() && info.model_type == "BPE";
  md.set("tokenizer.ggml.add_bos_token", MetaValue::boolean(add_bos));
  md.set("tokenizer.ggml.add_eos_token", MetaValue::boolean(add_eos));
  if (add_bos && info.prefix.front() != vocab.bos) set_id("bos", info.prefix.front());
  if (add_eos && info.suffix.back() != vocab.eos) set_id("eos", info.suffix.back());
  return md;
}

}  // namespace

Metadata gguf_tokenizer_metadata(const nlohmann::json& tokenizer_json, const nlohmann::json* tokenizer_config,
                                 int64_t vocab_size) {
  try {
    return convert(tokenizer_json, tokenizer_config, vocab_size);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string(kSource) + ": malformed: " + e.what());
  }
}

}  // namespace orchard
