// Builds a tokenizer from GGUF "tokenizer.ggml.*" metadata with llama.cpp's semantics.
#include "core/error.h"
#include "io/metadata.h"
#include "tokenizer/llama_pretokenizers.h"
#include "tokenizer/pipeline_tokenizer.h"

namespace orchard {

namespace {

constexpr const char* kModelKey = "tokenizer.ggml.model";
constexpr const char* kTokensKey = "tokenizer.ggml.tokens";
constexpr const char* kScoresKey = "tokenizer.ggml.scores";
constexpr const char* kTypesKey = "tokenizer.ggml.token_type";
constexpr const char* kMergesKey = "tokenizer.ggml.merges";

std::shared_ptr<Vocab> read_vocab(const Metadata& md, const std::string& source) {
  const std::vector<std::string>* tokens = md.get_strings(kTokensKey);
  if (!tokens) throw file_error(source, std::string("missing metadata key ") + kTokensKey + " (a string array)");
  const std::vector<double>* scores = md.get_floats(kScoresKey);
  const std::vector<int64_t>* types = md.get_ints(kTypesKey);
  const size_t n = tokens->size();
  if (scores && scores->size() != n)
    throw file_error(source, std::string(kScoresKey) + " has " + std::to_string(scores->size()) + " entries but " +
                                 kTokensKey + " has " + std::to_string(n));
  if (types && types->size() != n)
    throw file_error(source, std::string(kTypesKey) + " has " + std::to_string(types->size()) + " entries but " +
                                 kTokensKey + " has " + std::to_string(n));
  auto vocab = std::make_shared<Vocab>();
  vocab->texts.reserve(n);
  vocab->ids.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t t = types ? (*types)[i] : 1;
    const TokenType type = t >= 0 && t <= 6 ? static_cast<TokenType>(t) : TokenType::Undefined;
    vocab->add((*tokens)[i], scores ? static_cast<float>((*scores)[i]) : 0.0f, type);
  }
  return vocab;
}

// Special ids: the per-model default unless the key holds an id inside the vocab.
TokenId special_id(const Metadata& md, const std::string& name, TokenId fallback, const Vocab& vocab) {
  const std::optional<int64_t> id = md.get_int("tokenizer.ggml." + name + "_token_id");
  if (id && *id >= 0 && *id < vocab.size()) return static_cast<TokenId>(*id);
  return vocab.contains(fallback) ? fallback : -1;
}

std::vector<std::pair<std::string, std::string>> read_merges(const Metadata& md, const std::string& source) {
  const std::vector<std::string>* merges = md.get_strings(kMergesKey);
  if (!merges) throw file_error(source, std::string("missing metadata key ") + kMergesKey + " (needed by a gpt2 vocab)");
  std::vector<std::pair<std::string, std::string>> pairs;
  pairs.reserve(merges->size());
  for (const std::string& m : *merges) {
    // Search from 1: a merge may start with a space symbol in non-byte-level vocabs.
    const size_t space = m.find(' ', 1);
    if (space == std::string::npos) throw file_error(source, std::string(kMergesKey) + " entry '" + m + "' has no space");
    pairs.emplace_back(m.substr(0, space), m.substr(space + 1));
  }
  return pairs;
}

// Texts llama.cpp treats as control tokens whatever token_type says (end-of-turn and
// fill-in-the-middle markers that converters often store as user-defined, e.g. Qwen's
// "<|fim_prefix|>"), so they are only recognised with parse_special.
void mark_control_looking_tokens(Vocab& vocab) {
  static constexpr std::string_view kTexts[] = {
      "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>",
      "<\uff5cend\u2581of\u2581sentence\uff5c>", "<end_of_utterance>", "<|eom_id|>", "<|return|>", "<|call|>",
      "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<\uff5cfim\u2581begin\uff5c>", "<PRE>", "\u2581<PRE>",
      "<|code_prefix|>", "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<\uff5cfim\u2581hole\uff5c>", "<SUF>",
      "\u2581<SUF>", "<|code_suffix|>", "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<\uff5cfim\u2581end\uff5c>",
      "<MID>", "\u2581<MID>", "<|code_middle|>", "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "<|fim_repo|>",
      "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>", "<|file_sep|>"};
  for (std::string_view text : kTexts)
    if (TokenId id = vocab.find(text); id >= 0) vocab.types[id] = TokenType::Control;
}

}  // namespace

std::unique_ptr<Tokenizer> tokenizer_from_gguf_metadata(const Metadata& md, const std::string& source_name) {
  const std::optional<std::string> model = md.get_string(kModelKey);
  if (!model) throw file_error(source_name, std::string("missing metadata key ") + kModelKey);

  TokenizerSpec spec;
  spec.vocab = read_vocab(md, source_name);
  Vocab& vocab = *spec.vocab;
  bool add_bos = false, add_eos = false, add_sep = false;

  if (*model == "llama") {
    spec.kind = "spm";
    spec.pretokenizer = "default";
    vocab.bos = special_id(md, "bos", 1, vocab);
    vocab.eos = special_id(md, "eos", 2, vocab);
    vocab.unk = special_id(md, "unknown", 0, vocab);
    add_bos = true;
    const bool add_space_prefix = md.get_bool("tokenizer.ggml.add_space_prefix").value_or(true);
    spec.normalizers.push_back(replace_normalizer(" ", "\u2581"));
    if (add_space_prefix) spec.normalizers.push_back(prepend_normalizer("\u2581"));
    spec.model = make_spm_model(spec.vocab);
    spec.decode.byte_tokens = true;
    spec.decode.space_marker = "\u2581";
    spec.decode.strip_leading_space = add_space_prefix;
  } else if (*model == "gpt2") {
    const std::string pre = md.get_string("tokenizer.ggml.pre").value_or("");
    const LlamaPreTokenizer recipe = [&] {
      try {
        return llama_pre_tokenizer(pre);
      } catch (const Error& e) {
        throw file_error(source_name, e.what());
      }
    }();
    spec.kind = "bpe";
    spec.pretokenizer = recipe.family;
    vocab.bos = special_id(md, "bos", 11, vocab);
    vocab.eos = special_id(md, "eos", 11, vocab);
    vocab.unk = special_id(md, "unknown", -1, vocab);
    add_bos = recipe.add_bos;
    for (const std::string& pattern : recipe.regexes)
      spec.pre_tokenizers.push_back(regex_split(Regex(pattern), SplitBehavior::Isolated));
    spec.pre_tokenizers.push_back(byte_level(/*add_prefix_space=*/false, /*use_regex=*/false));
    BpeOptions options;
    options.ignore_merges = recipe.ignore_merges;
    spec.model = make_bpe_model(spec.vocab, read_merges(md, source_name), options);
    spec.decode.byte_level = true;
  } else if (*model == "bert") {
    spec.kind = "wordpiece";
    spec.pretokenizer = "bert";
    vocab.bos = special_id(md, "bos", 101, vocab);  // [CLS]
    vocab.eos = special_id(md, "eos", -1, vocab);
    vocab.unk = special_id(md, "unknown", 100, vocab);
    vocab.sep = special_id(md, "seperator", 102, vocab);
    add_bos = add_sep = true;
    // GGUF BERT vocabs are uncased BERT: lowercase and strip accents like HF's BertNormalizer.
    spec.normalizers.push_back(bert_normalizer(true, true, true, true));
    spec.pre_tokenizers.push_back(bert_pre_tokenizer());
    WordPieceOptions options;
    options.word_prefix = "\u2581";
    spec.model = make_wordpiece_model(spec.vocab, options);
    spec.decode.space_marker = "\u2581";
    spec.decode.strip_leading_space = true;
  } else {
    throw file_error(source_name, std::string(kModelKey) + " '" + *model +
                                      "' is not supported (expected llama, gpt2 or bert)");
  }
  mark_control_looking_tokens(vocab);
  vocab.pad = special_id(md, "padding", -1, vocab);
  vocab.eot = special_id(md, "eot", -1, vocab);
  vocab.collect_end_of_generation();

  add_bos = md.get_bool("tokenizer.ggml.add_bos_token").value_or(add_bos);
  add_eos = md.get_bool("tokenizer.ggml.add_eos_token").value_or(add_eos);
  add_sep = md.get_bool("tokenizer.ggml.add_sep_token").value_or(add_sep);
  auto require = [&](bool wanted, TokenId id, const char* what) {
    if (!wanted) return;
    if (id < 0) throw file_error(source_name, std::string("tokenizer adds ") + what + " but has no " + what + " token id");
    (std::string_view(what) == "BOS" ? spec.prefix : spec.suffix).push_back(id);
  };
  require(add_bos, vocab.bos, "BOS");
  require(add_eos, vocab.eos, "EOS");
  require(add_sep, vocab.sep, "SEP");

  // llama.cpp splits on control, user-defined and unknown-type tokens; only user-defined ones
  // are recognised without parse_special.
  for (TokenId id = 0; id < vocab.size(); ++id) {
    const TokenType t = vocab.types[id];
    if (t == TokenType::Control || t == TokenType::Unknown || t == TokenType::UserDefined)
      spec.specials.add(vocab.texts[id], id, {t != TokenType::UserDefined, false, false});
  }
  return std::make_unique<PipelineTokenizer>(std::move(spec), source_name);
}

}  // namespace orchard
