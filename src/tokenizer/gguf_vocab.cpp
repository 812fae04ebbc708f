#include "tokenizer/gguf_vocab.h"

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

Metadata convert(const nlohmann::json& tj, const nlohmann::json* config, int64_t vocab_size) {
  hf::VocabInfo info = hf::read_vocab(tj, config, kSource);
  const Vocab& vocab = *info.vocab;
  Metadata md;

  std::vector<std::string> tokens = vocab.texts;
  std::vector<int64_t> types;
  types.reserve(tokens.size());
  for (TokenType t : vocab.types) types.push_back(static_cast<int64_t>(t));

  if (info.model_type == "BPE") {
    if (!tj.contains("pre_tokenizer") || !has_byte_level(tj.at("pre_tokenizer")))
      throw Error(std::string(kSource) + ": only byte-level BPE converts to a GGUF gpt2 vocab");
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
