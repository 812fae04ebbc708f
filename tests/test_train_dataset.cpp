// Fine-tuning data: every JSONL format through a real vocabulary and chat template from the
// shared data (Phi-3's vocabulary with the Phi-3.5 template, whose special tokens it has; the
// Qwen2.5 template for tools), prompt masking, truncation, batching by length and packing with
// resumable positions, and the errors a user sees for bad files.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>

#include "chat/chat_template.h"
#include "core/error.h"
#include "generate/loaded_model.h"
#include "io/gguf.h"
#include "kernels/cpu/backward.h"
#include "support/errors.h"
#include "support/paths.h"
#include "train/dataset.h"

namespace orchard::train {
namespace {

namespace fs = std::filesystem;
using Tokens = std::vector<int32_t>;
using cpu::kIgnoreIndex;

struct Model {
  std::unique_ptr<Tokenizer> tokenizer;
  std::optional<ChatTemplate> chat_template;
  TextFormat format(bool with_template = true) const {
    TextFormat f;
    f.tokenizer = tokenizer.get();
    f.chat_template = with_template && chat_template ? &*chat_template : nullptr;
    if (tokenizer->bos() >= 0) f.bos_token = tokenizer->token_text(tokenizer->bos());
    if (tokenizer->eos() >= 0) f.eos_token = tokenizer->token_text(tokenizer->eos());
    return f;
  }
};

Model shared_model(const std::string& vocab, const std::string& chat_template) {
  const fs::path data = test::shared_dir() / "data";
  auto gguf = GgufFile::open((data / "tokenizer-tests" / (vocab + ".gguf")).string());
  Model m;
  m.tokenizer = tokenizer_from_gguf_metadata(gguf->metadata(), vocab);
  m.chat_template.emplace(test::read_file(data / "chat-templates" / (chat_template + ".jinja")));
  return m;
}

// A vocabulary of a few byte-level BPE tokens, for tests about files rather than tokens.
Model tiny_model() {
  const char* const source = R"({
    "added_tokens": [{"id": 6, "content": "<|end|>", "special": true}],
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
    "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "Ġ": 3, "Ġa": 4, "Ġab": 5}, "merges": ["a b", "Ġ a", "Ġa b"]}
  })";
  Model m;
  m.tokenizer = tokenizer_from_json(nlohmann::json::parse(source),
                                    nullptr, "tiny");
  return m;
}

fs::path write_file(const fs::path& dir, const std::string& name, const std::string& text) {
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << text;
  return dir / name;
}

// The trained targets of a one-example batch, in order.
Tokens trained_targets(const Example& e, int64_t max_seq_length = 4096) {
  Dataset d;
  d.examples = {e};
  BatchIterator it(d, 1, max_seq_length, 0);
  const TrainBatch b = it.next();
  Tokens out;
  for (int32_t t : b.targets)
    if (t != kIgnoreIndex) out.push_back(t);
  return out;
}

Tokens tail(const Tokens& t, int64_t from) { return Tokens(t.begin() + from, t.end()); }

TEST(TrainDataset, TextAddsEosAsMlxLm) {
  ORCHARD_REQUIRE_SHARED();
  const Model m = shared_model("ggml-vocab-phi-3", "microsoft-Phi-3.5-mini-instruct");
  const auto path = write_file(test::temp_dir("dataset_text"), "train.jsonl",
                               "{\"text\": \"The quick brown fox.\"}\n{\"text\": \"ends<|endoftext|>\"}\n");
  const Dataset d = load_jsonl(path.string(), m.format(), {});
  ASSERT_EQ(d.examples.size(), 2u);
  Tokens want = tokenize_prompt(*m.tokenizer, "The quick brown fox.");
  want.push_back(m.tokenizer->eos());
  EXPECT_EQ(d.examples[0].tokens, want);
  EXPECT_EQ(d.examples[0].tokens.front(), m.tokenizer->bos());
  EXPECT_EQ(d.examples[0].prompt_length, 0);
  // Text that already ends with EOS gets no second one.
  EXPECT_EQ(d.examples[1].tokens, tokenize_prompt(*m.tokenizer, "ends<|endoftext|>"));
  EXPECT_EQ(d.tokens(), int64_t(d.examples[0].tokens.size() + d.examples[1].tokens.size()));
  EXPECT_EQ(trained_targets(d.examples[0]), tail(want, 1));
}

TEST(TrainDataset, CompletionThroughTheChatTemplateMasksThePrompt) {
  ORCHARD_REQUIRE_SHARED();
  const Model m = shared_model("ggml-vocab-phi-3", "microsoft-Phi-3.5-mini-instruct");
  const auto path = write_file(test::temp_dir("dataset_completion"), "train.jsonl",
                               R"({"prompt": "What is 2+2?", "completion": "It is 4."})" "\n");
  const Dataset plain = load_jsonl(path.string(), m.format(), {});
  const Dataset masked = load_jsonl(path.string(), m.format(), {.mask_prompt = true});
  const std::string full = "<|user|>\nWhat is 2+2?<|end|>\n<|assistant|>\nIt is 4.<|end|>\n<|endoftext|>";
  const std::string prompt = "<|user|>\nWhat is 2+2?<|end|>\n<|assistant|>\n";
  const Tokens tokens = tokenize_prompt(*m.tokenizer, full);
  EXPECT_EQ(plain.examples[0].tokens, tokens);
  EXPECT_EQ(plain.examples[0].prompt_length, 0);
  const Example& e = masked.examples[0];
  EXPECT_EQ(e.tokens, tokens);
  const Tokens prompt_tokens = tokenize_prompt(*m.tokenizer, prompt);
  ASSERT_EQ(e.prompt_length, int64_t(prompt_tokens.size()));
  EXPECT_EQ(Tokens(tokens.begin(), tokens.begin() + e.prompt_length), prompt_tokens);
  // Exactly the completion (and the template's end of turn) is trained on.
  const Tokens targets = trained_targets(e);
  EXPECT_EQ(targets, tail(tokens, e.prompt_length));
  // (This vocabulary, like llama.cpp's SentencePiece handling, puts a space marker after <|end|>.)
  EXPECT_EQ(m.tokenizer->decode(targets, true), "It is 4.<|end|> \n<|endoftext|>");
}

TEST(TrainDataset, CompletionWithoutTemplateIsPromptThenCompletion) {
  ORCHARD_REQUIRE_SHARED();
  const Model m = shared_model("ggml-vocab-phi-3", "microsoft-Phi-3.5-mini-instruct");
  const auto path = write_file(test::temp_dir("dataset_completion_plain"), "train.jsonl",
                               R"({"prompt": "Capital of France:", "completion": " Paris"})" "\n");
  const Example e = load_jsonl(path.string(), m.format(false), {.mask_prompt = true}).examples[0];
  const Tokens prompt = tokenize_prompt(*m.tokenizer, "Capital of France:");
  Tokens completion = m.tokenizer->encode(" Paris", {.add_special = false, .parse_special = true});
  completion.push_back(m.tokenizer->eos());
  EXPECT_EQ(e.prompt_length, int64_t(prompt.size()));
  EXPECT_EQ(Tokens(e.tokens.begin(), e.tokens.begin() + e.prompt_length), prompt);
  EXPECT_EQ(trained_targets(e), completion);
}

TEST(TrainDataset, ChatMasksAllButTheLastAssistantTurn) {
  ORCHARD_REQUIRE_SHARED();
  const Model m = shared_model("ggml-vocab-phi-3", "microsoft-Phi-3.5-mini-instruct");
  const auto path = write_file(test::temp_dir("dataset_chat"), "valid.jsonl",
                               R"({"messages": [{"role": "system", "content": "Be brief."},)"
                               R"( {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},)"
                               R"( {"role": "user", "content": "Bye"}, {"role": "assistant", "content": "Goodbye."}]})" "\n");
  const Example e = load_jsonl(path.string(), m.format(), {.mask_prompt = true}).examples[0];
  EXPECT_EQ(e.tokens, tokenize_prompt(*m.tokenizer,
                                      "<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n"
                                      "<|user|>\nBye<|end|>\n<|assistant|>\nGoodbye.<|end|>\n<|endoftext|>"));
  EXPECT_EQ(m.tokenizer->decode(trained_targets(e), true), "Goodbye.<|end|> \n<|endoftext|>");
  const Example unmasked = load_jsonl(path.string(), m.format(), {}).examples[0];
  EXPECT_EQ(trained_targets(unmasked), tail(unmasked.tokens, 1));
}

TEST(TrainDataset, ChatToolsReachTheTemplate) {
  ORCHARD_REQUIRE_SHARED();
  const Model m = shared_model("ggml-vocab-deepseek-llm", "Qwen-Qwen2.5-7B-Instruct");
  const std::string tools =
      R"([{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",)"
      R"( "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}])";
  const auto path = write_file(test::temp_dir("dataset_tools"), "train.jsonl",
                               R"({"messages": [{"role": "user", "content": "Weather in Oslo?"},)"
                               R"( {"role": "assistant", "content": "Let me check."}], "tools": )" + tools + "}\n");
  const Example e = load_jsonl(path.string(), m.format(), {.mask_prompt = true}).examples[0];
  ChatOptions options;
  options.add_generation_prompt = false;
  options.tools = nlohmann::ordered_json::parse(tools);
  const std::string rendered = apply_chat_template(
      *m.chat_template,
      nlohmann::ordered_json::parse(R"([{"role": "user", "content": "Weather in Oslo?"}, {"role": "assistant", "content": "Let me check."}])"),
      options);
  EXPECT_NE(rendered.find("get_weather"), std::string::npos);
  EXPECT_EQ(e.tokens, tokenize_prompt(*m.tokenizer, rendered));
  EXPECT_EQ(m.tokenizer->decode(trained_targets(e)), "Let me check.<|im_end|>\n");
}

TEST(TrainDataset, LongExamplesAreTruncatedAndCounted) {
  ORCHARD_REQUIRE_SHARED();
  const Model m = shared_model("ggml-vocab-phi-3", "microsoft-Phi-3.5-mini-instruct");
  const auto path = write_file(test::temp_dir("dataset_truncate"), "train.jsonl",
                               "{\"text\": \"one two three four five six seven eight nine ten\"}\n{\"text\": \"short\"}\n");
  const Dataset d = load_jsonl(path.string(), m.format(), {.max_seq_length = 6});
  EXPECT_EQ(d.truncated, 1);
  EXPECT_EQ(d.examples[0].tokens.size(), 6u);
  const Tokens whole = tokenize_prompt(*m.tokenizer, "one two three four five six seven eight nine ten");
  EXPECT_EQ(d.examples[0].tokens, Tokens(whole.begin(), whole.begin() + 6));
  EXPECT_LE(d.examples[1].tokens.size(), 6u);
}

// A data set of examples with given lengths (token i of example e is e * 1000 + i + 1; 0 is padding).
Dataset synthetic(const std::vector<int64_t>& lengths, int64_t prompt_length = 0) {
  Dataset d;
  d.path = "synthetic.jsonl";
  for (size_t e = 0; e < lengths.size(); ++e) {
    Example ex;
    for (int64_t i = 0; i < lengths[e]; ++i) ex.tokens.push_back(int32_t(e * 1000 + i + 1));
    ex.prompt_length = std::min(prompt_length, lengths[e]);
    d.examples.push_back(ex);
  }
  return d;
}

std::vector<int64_t> varied_lengths(int n) {
  std::vector<int64_t> lengths;
  for (int i = 0; i < n; ++i) lengths.push_back(2 + (i * 37) % 53);
  return lengths;
}

// Example ids in a batch's rows (first token / 1000 of each row).
std::vector<int64_t> row_examples(const TrainBatch& b) {
  std::vector<int64_t> out;
  for (int64_t r = 0; r < b.batch_size; ++r) out.push_back((b.inputs[size_t(r * b.seq_len)] - 1) / 1000);
  return out;
}

TEST(TrainBatches, InputsTargetsAndPadding) {
  const Dataset d = synthetic({5, 3}, 2);
  BatchIterator it(d, 2, 100, 1);
  const TrainBatch b = it.next();
  ASSERT_EQ(b.batch_size, 2);
  ASSERT_EQ(b.seq_len, 4);  // longest (5) minus one
  // Sorted by length: the 3-token example first.
  EXPECT_EQ(b.inputs, (Tokens{1001, 1002, 1003, 0, 1, 2, 3, 4}));
  EXPECT_EQ(b.targets, (Tokens{kIgnoreIndex, 1003, kIgnoreIndex, kIgnoreIndex, kIgnoreIndex, 3, 4, 5}));
  EXPECT_EQ(b.target_tokens(), 4);
}

TEST(TrainBatches, SortedByLengthShuffledPerEpochDeterministic) {
  const std::vector<int64_t> lengths = varied_lengths(42);
  const Dataset d = synthetic(lengths);
  BatchIterator a(d, 4, 1000, 123), same(d, 4, 1000, 123), other(d, 4, 1000, 124);
  ASSERT_EQ(a.batches_per_epoch(), 10);  // 42 examples: the last 2 are dropped, as MLX LM does
  std::vector<std::pair<int64_t, int64_t>> spans;  // per batch: shortest, longest
  std::vector<std::vector<int64_t>> epoch0, epoch1, other0;
  for (int i = 0; i < 10; ++i) {
    const TrainBatch b = a.next();
    EXPECT_EQ(same.next().inputs, b.inputs);
    other0.push_back(row_examples(other.next()));
    epoch0.push_back(row_examples(b));
    int64_t lo = 1 << 30, hi = 0;
    for (int64_t e : epoch0.back()) lo = std::min(lo, lengths[size_t(e)]), hi = std::max(hi, lengths[size_t(e)]);
    EXPECT_EQ(b.seq_len, hi - 1);
    spans.push_back({lo, hi});
  }
  // The batches are consecutive runs of the length-sorted examples: their spans do not overlap.
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); ++i) EXPECT_LE(spans[i - 1].second, spans[i].first);
  for (int i = 0; i < 10; ++i) epoch1.push_back(row_examples(a.next()));
  EXPECT_EQ(a.position().epoch, 1);
  EXPECT_NE(epoch0, epoch1);  // a new order each epoch
  EXPECT_NE(epoch0, other0);  // and per seed
  auto sorted0 = epoch0, sorted1 = epoch1;
  std::sort(sorted0.begin(), sorted0.end());
  std::sort(sorted1.begin(), sorted1.end());
  EXPECT_EQ(sorted0, sorted1);  // the same batches
}

TEST(TrainBatches, SeekResumesTheSameSequence) {
  const Dataset d = synthetic(varied_lengths(30));
  for (bool pack : {false, true}) {
    SCOPED_TRACE(pack ? "packed" : "by length");
    BatchIterator a(d, 3, 64, 9, pack);
    const int64_t n = a.batches_per_epoch();
    for (int64_t i = 0; i < n + 2; ++i) a.next();
    const BatchIterator::Position saved = a.position();
    EXPECT_EQ(saved.epoch, 1);
    std::vector<Tokens> want;
    for (int64_t i = 0; i < 2 * n; ++i) want.push_back(a.next().inputs);
    BatchIterator b(d, 3, 64, 9, pack);
    b.seek(saved);
    for (int64_t i = 0; i < 2 * n; ++i) EXPECT_EQ(b.next().inputs, want[size_t(i)]) << "batch " << i;
    EXPECT_THROW(b.seek({0, n + 1}), Error);
  }
}

TEST(TrainBatches, PackingFillsRowsWithWholeExamples) {
  const std::vector<int64_t> lengths = varied_lengths(40);
  const int64_t prompt = 3, max_len = 64;
  const Dataset d = synthetic(lengths, prompt);
  BatchIterator it(d, 2, max_len, 5, true);
  std::set<int64_t> seen;
  int64_t rows = 0, used = 0;
  for (int64_t k = 0; k < it.batches_per_epoch(); ++k) {
    const TrainBatch b = it.next();
    EXPECT_LE(b.seq_len, max_len - 1);
    const int64_t T = b.seq_len;
    for (int64_t r = 0; r < b.batch_size; ++r, ++rows) {
      const int32_t* in = &b.inputs[size_t(r * T)];
      const int32_t* tg = &b.targets[size_t(r * T)];
      // Whole examples one after another from the row start: inputs are their tokens, targets
      // the next token from the prompt on, and an example's first token is never a target.
      int64_t t = 0;
      while (t < T && in[t] != 0) {
        const int64_t e = (in[t] - 1) / 1000;
        ASSERT_EQ((in[t] - 1) % 1000, 0) << "row does not start an example at " << t;
        ASSERT_TRUE(seen.insert(e).second) << "example " << e << " twice";
        for (int64_t i = 0; i < lengths[size_t(e)]; ++i, ++t) {
          if (t < T) EXPECT_EQ(in[t], e * 1000 + i + 1);
          if (t >= 1) EXPECT_EQ(tg[t - 1], i >= prompt ? int32_t(e * 1000 + i + 1) : kIgnoreIndex) << e << " " << i;
        }
        used += lengths[size_t(e)];
      }
      for (; t < T; ++t) EXPECT_EQ(tg[t], kIgnoreIndex) << "padding";
    }
  }
  EXPECT_GT(used, rows * max_len * 2 / 3);  // rows are mostly full (examples of 2..54 tokens in rows of 64)
  EXPECT_GE(int64_t(seen.size()), 30);
}

TEST(TrainDatasetErrors, NameTheFileAndLine) {
  const Model m = tiny_model();
  const fs::path dir = test::temp_dir("dataset_errors");
  const auto error_for = [&](const std::string& text, DatasetOptions options = {}) {
    const auto path = write_file(dir, "train.jsonl", text);
    return test::error_of([&] { load_jsonl(path.string(), m.format(false), options); });
  };
  const std::string file = (dir / "train.jsonl").string();
  const auto contains = [](const std::string& s, const std::string& needle) {
    return s.find(needle) != std::string::npos;
  };
  std::string e = error_for("{\"text\": \"a b\"}\n\n{\"text\": \"ab\"\n");
  EXPECT_TRUE(contains(e, file + ":3: malformed JSON")) << e;
  e = error_for("{\"text\": \"a\"}\n{\"text\": 1e999}\n");  // nlohmann's out_of_range, not a parse_error (found by fuzzing)
  EXPECT_TRUE(contains(e, file + ":2: malformed JSON")) << e;
  e = error_for("{\"text\": \"a\"}\n[1, 2]\n");
  EXPECT_TRUE(contains(e, file + ":2: expected a JSON object")) << e;
  e = error_for("{\"txt\": \"a\", \"id\": 3}\n");
  EXPECT_TRUE(contains(e, file + ":1: no known keys (found \"txt\", \"id\")")) << e;
  e = error_for("{\"text\": \"a\", \"messages\": []}\n");
  EXPECT_TRUE(contains(e, file + ":1: mixes formats")) << e;
  e = error_for("{\"prompt\": \"a\"}\n");
  EXPECT_TRUE(contains(e, file + ":1: \"prompt\" without \"completion\"")) << e;
  e = error_for("{\"text\": 5}\n");
  EXPECT_TRUE(contains(e, file + ":1: \"text\" must be a string, not number")) << e;
  e = error_for("{\"prompt\": \"a\", \"completion\": null}\n");
  EXPECT_TRUE(contains(e, file + ":1: \"completion\" must be a string, not null")) << e;
  e = error_for("{\"messages\": [{\"content\": \"a\"}]}\n");
  EXPECT_TRUE(contains(e, file + ":1: messages[0] needs a string \"role\"")) << e;
  e = error_for("{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}]}\n");
  EXPECT_TRUE(contains(e, file + ":1: \"messages\" need a chat template")) << e;
  e = error_for("{\"text\": \"a\", \"tools\": []}\n");
  EXPECT_TRUE(contains(e, file + ":1: \"tools\" goes with")) << e;
  e = error_for("{\"text\": \"a\"}\n", {.mask_prompt = true});
  EXPECT_TRUE(contains(e, file + ":1: prompt masking needs")) << e;
  e = error_for("");
  EXPECT_TRUE(contains(e, file + ": empty file")) << e;
  e = error_for("\n  \n");
  EXPECT_TRUE(contains(e, file + ": empty file")) << e;
  // Windows line ends and a trailing blank line are fine.
  EXPECT_EQ(error_for("{\"text\": \"a b\"}\r\n{\"text\": \"ab\"}\r\n\r\n"), "(no error)");
}

TEST(TrainDatasetErrors, FolderLayout) {
  const Model m = tiny_model();
  const fs::path dir = test::temp_dir("dataset_folder");
  std::string e = test::error_of([&] { load_data_folder((dir / "nope").string(), m.format(false), {}); });
  EXPECT_NE(e.find("not a folder"), std::string::npos) << e;
  write_file(dir, "train.jsonl", "{\"text\": \"a\"}\n");
  e = test::error_of([&] { load_data_folder(dir.string(), m.format(false), {}); });
  EXPECT_NE(e.find("no valid.jsonl; a data folder holds train.jsonl and valid.jsonl"), std::string::npos) << e;
  fs::remove(dir / "train.jsonl");
  write_file(dir, "valid.jsonl", "{\"text\": \"b\"}\n");
  e = test::error_of([&] { load_data_folder(dir.string(), m.format(false), {}); });
  EXPECT_NE(e.find("no train.jsonl"), std::string::npos) << e;
  write_file(dir, "train.jsonl", "{\"text\": \"a\"}\n{\"text\": \"a b\"}\n");
  DataSplits splits = load_data_folder(dir.string(), m.format(false), {});
  EXPECT_EQ(splits.train.examples.size(), 2u);
  EXPECT_EQ(splits.valid.examples.size(), 1u);
  EXPECT_FALSE(splits.test.has_value());
  write_file(dir, "test.jsonl", "{\"text\": \"b\"}\n");
  splits = load_data_folder(dir.string(), m.format(false), {});
  ASSERT_TRUE(splits.test.has_value());
  EXPECT_EQ(splits.test->path, (dir / "test.jsonl").string());
}

TEST(TrainBatchesErrors, TooFewExamples) {
  const Dataset d = synthetic({3, 4});
  const std::string e = test::error_of([&] { BatchIterator(d, 4, 100, 0); });
  EXPECT_NE(e.find("synthetic.jsonl: the data set must have at least batch_size=4 examples but only has 2"), std::string::npos) << e;
}

}  // namespace
}  // namespace orchard::train
