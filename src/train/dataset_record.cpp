#include "train/dataset_record.h"

#include "core/error.h"
#include "generate/loaded_model.h"

namespace orchard::train {

namespace {

using nlohmann::ordered_json;

const char* const kFormats =
    R"(each line must be one of {"text": ...}, {"prompt": ..., "completion": ...} or {"messages": [...]} (optionally with "tools"))";

std::string string_field(const ordered_json& object, const char* key, const std::string& where) {
  const ordered_json& value = object.at(key);
  if (!value.is_string())
    throw Error(where + ": \"" + key + "\" must be a string, not " + std::string(value.type_name()));
  return value.get<std::string>();
}

std::string key_list(const ordered_json& object) {
  std::string keys;
  for (const auto& item : object.items()) keys += (keys.empty() ? "\"" : ", \"") + item.key() + "\"";
  return keys.empty() ? "none" : keys;
}

void check_messages(const ordered_json& messages, const std::string& where) {
  if (!messages.is_array() || messages.empty())
    throw Error(where + ": \"messages\" must be a non-empty array of {\"role\": ..., \"content\": ...} objects");
  for (size_t i = 0; i < messages.size(); ++i) {
    const ordered_json& m = messages[i];
    const std::string which = where + ": messages[" + std::to_string(i) + "]";
    if (!m.is_object()) throw Error(which + " must be an object, not " + std::string(m.type_name()));
    if (!m.contains("role") || !m["role"].is_string()) throw Error(which + " needs a string \"role\"");
    // Content may be null (an assistant turn with tool_calls) or a list of parts; templates handle those.
    if (m.contains("content") && !(m["content"].is_string() || m["content"].is_array() || m["content"].is_null()))
      throw Error(which + ": \"content\" must be a string, an array or null, not " +
                  std::string(m["content"].type_name()));
  }
}

std::vector<int32_t> render(const TextFormat& format, const ordered_json& messages, const ordered_json& tools,
                            bool add_generation_prompt, const std::string& where) {
  ChatOptions options;
  options.add_generation_prompt = add_generation_prompt;
  options.tools = tools;
  options.bos_token = format.bos_token;
  options.eos_token = format.eos_token;
  std::string text;
  try {
    text = apply_chat_template(*format.chat_template, messages, options);
  } catch (const Error& e) {
    throw Error(where + ": chat template: " + e.what());
  }
  // As at generation time (tokenize_prompt), so training sees exactly the tokens inference feeds.
  return tokenize_prompt(*format.tokenizer, text);
}

void append_eos(std::vector<int32_t>& tokens, const Tokenizer& tokenizer) {
  const int32_t eos = tokenizer.eos();
  if (eos >= 0 && (tokens.empty() || tokens.back() != eos)) tokens.push_back(eos);
}

}  // namespace

Record parse_record(std::string_view line, const std::string& where) {
  ordered_json object;
  try {
    object = ordered_json::parse(line);
  } catch (const ordered_json::exception& e) {  // parse_error, and out_of_range for numbers beyond double
    std::string message = e.what();
    if (const size_t end = message.find("] "); message.starts_with("[json.exception") && end != std::string::npos)
      message = message.substr(end + 2);
    throw Error(where + ": malformed JSON: " + message);
  }
  if (!object.is_object()) throw Error(where + ": expected a JSON object, got " + std::string(object.type_name()));

  const bool text = object.contains("text"), messages = object.contains("messages");
  const bool prompt = object.contains("prompt"), completion = object.contains("completion");
  const int formats = int(text) + int(prompt || completion) + int(messages);
  if (formats == 0) throw Error(where + ": no known keys (found " + key_list(object) + "); " + kFormats);
  if (formats > 1) throw Error(where + ": mixes formats (keys " + key_list(object) + "); " + kFormats);
  if (prompt != completion)
    throw Error(where + (prompt ? ": \"prompt\" without \"completion\"; " : ": \"completion\" without \"prompt\"; ") +
                kFormats);

  Record record;
  if (object.contains("tools")) {
    if (text) throw Error(where + ": \"tools\" goes with \"messages\" or \"prompt\"/\"completion\", not \"text\"");
    record.tools = object["tools"];
    if (!record.tools.is_array() && !record.tools.is_null())
      throw Error(where + ": \"tools\" must be an array of tool definitions, not " +
                  std::string(record.tools.type_name()));
  }
  if (text) {
    record.format = Record::Format::text;
    record.text = string_field(object, "text", where);
  } else if (prompt) {
    record.format = Record::Format::completion;
    record.prompt = string_field(object, "prompt", where);
    record.completion = string_field(object, "completion", where);
  } else {
    record.format = Record::Format::chat;
    record.messages = object["messages"];
    check_messages(record.messages, where);
  }
  return record;
}

Example make_example(const Record& record, const TextFormat& format, const DatasetOptions& options,
                     const std::string& where) {
  const Tokenizer& tokenizer = *format.tokenizer;
  Example example;
  switch (record.format) {
    case Record::Format::text:
      if (options.mask_prompt) throw Error(where + ": prompt masking needs prompt/completion or chat data, not \"text\"");
      example.tokens = tokenize_prompt(tokenizer, record.text);
      append_eos(example.tokens, tokenizer);
      break;
    case Record::Format::completion:
      if (format.chat_template) {
        const ordered_json user = {{"role", "user"}, {"content", record.prompt}};
        const ordered_json turns = {user, {{"role", "assistant"}, {"content", record.completion}}};
        example.tokens = render(format, turns, record.tools, false, where);
        if (options.mask_prompt)
          example.prompt_length = int64_t(render(format, ordered_json::array({user}), record.tools, true, where).size());
      } else {
        // No template: prompt then completion, tokenized apart so the prompt's tokens are exactly its own.
        example.tokens = tokenize_prompt(tokenizer, record.prompt);
        if (options.mask_prompt) example.prompt_length = int64_t(example.tokens.size());
        const auto rest = tokenizer.encode(record.completion, {.add_special = false, .parse_special = true});
        example.tokens.insert(example.tokens.end(), rest.begin(), rest.end());
        append_eos(example.tokens, tokenizer);
      }
      break;
    case Record::Format::chat:
      if (!format.chat_template)
        throw Error(where + ": \"messages\" need a chat template and the model has none (use \"text\" or "
                            "\"prompt\"/\"completion\" lines)");
      example.tokens = render(format, record.messages, record.tools, false, where);
      if (options.mask_prompt) {
        if (record.messages.back()["role"] != "assistant")
          throw Error(where + ": with prompt masking the last message must be the assistant's (it is trained on)");
        ordered_json prompt = record.messages;
        prompt.erase(prompt.size() - 1);
        example.prompt_length = int64_t(render(format, prompt, record.tools, true, where).size());
      }
      break;
  }
  return example;
}

}  // namespace orchard::train
