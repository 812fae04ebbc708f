// orchard chat: an interactive conversation through the model's chat template. Reads one
// message per line (from a terminal or a pipe); /reset clears the history, /exit or end of
// input quits. Ctrl-C stops the answer being written; Ctrl-C twice at the prompt quits.
#include <cerrno>
#include <cstdio>
#include <optional>
#include <string>
#include <unistd.h>

#include "core/error.h"
#include "generate/chat_session.h"
#include "generation_flags.h"
#include "models/kv_cache.h"
#include "subcommand.h"

namespace orchard::cli {
namespace {

struct ChatFlags {
  ModelFlags model;
  SamplingFlags sampling;
  std::string system;
  int max_tokens = -1;
  std::vector<std::string> stop;
};

enum class ReadResult { Line, EndOfInput, Interrupted };

// Reads a line from stdin with read(2), so that SIGINT (installed without SA_RESTART)
// interrupts the wait instead of being retried invisibly.
class LineReader {
 public:
  ReadResult next(std::string& line) {
    for (;;) {
      const size_t newline = buffer_.find('\n');
      if (newline != std::string::npos) {
        line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        return ReadResult::Line;
      }
      char chunk[4096];
      const ssize_t n = ::read(STDIN_FILENO, chunk, sizeof chunk);
      if (n > 0) {
        buffer_.append(chunk, static_cast<size_t>(n));
      } else if (n < 0 && errno == EINTR) {
        return ReadResult::Interrupted;
      } else {
        if (buffer_.empty()) return ReadResult::EndOfInput;
        line.swap(buffer_);  // a last line without a newline
        buffer_.clear();
        return ReadResult::Line;
      }
    }
  }

 private:
  std::string buffer_;
};

int run_chat(const ChatFlags& flags) {
  LoadedModel loaded = load_model_from_flags(flags.model);
  KvCache cache = make_kv_cache(flags.model, *loaded.model);
  Generator generator(*loaded.model, cache, flags.model.batch_size);
  ChatSession session(loaded, generator, flags.system);

  GenerationOptions options;
  options.sampling = flags.sampling.resolve(loaded.default_sampling);
  options.max_tokens = flags.max_tokens;
  options.stop = flags.stop;
  const std::atomic<bool>& interrupted = install_interrupt_flag();
  options.cancel = &interrupted;

  const bool interactive = isatty(STDIN_FILENO);
  if (interactive) std::fprintf(stderr, "Chatting with %s. /reset clears the history, /exit quits.\n", flags.model.model.c_str());
  LineReader reader;
  bool warned_interrupt = false;
  for (;;) {
    if (interactive) {
      std::printf("> ");
      std::fflush(stdout);
    }
    std::string line;
    const ReadResult got = reader.next(line);
    if (got == ReadResult::EndOfInput) break;
    if (got == ReadResult::Interrupted) {
      clear_interrupt_flag();
      if (warned_interrupt) break;
      std::fprintf(stderr, "\n(press Ctrl-C again or type /exit to quit)\n");
      warned_interrupt = true;
      continue;
    }
    warned_interrupt = false;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (line == "/exit" || line == "/quit") break;
    if (line == "/reset") {
      session.reset();
      std::fprintf(stderr, "(history cleared)\n");
      continue;
    }
    std::optional<Sequence> answer;
    try {
      answer.emplace(session.reply(line, options, [](std::string_view text) {
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
      }));
    } catch (const Error& e) {  // e.g. the history outgrew the context: say so, keep the REPL
      std::fprintf(stderr, "orchard: %s\n", e.what());
      continue;
    }
    std::printf("\n");
    std::fflush(stdout);
    if (answer->finish_reason() == FinishReason::Cancelled) {
      clear_interrupt_flag();
      std::fprintf(stderr, "(stopped)\n");
    }
    if (answer->finish_reason() == FinishReason::ContextFull)
      std::fprintf(stderr, "(the context is full: /reset to continue, or raise --ctx-size)\n");
    if (interactive) print_speed(*answer);
  }
  return 0;
}

const Register registration{{"chat", "Chat with a model interactively (uses its chat template)", [](CLI::App& cmd) {
  auto flags = std::make_shared<ChatFlags>();
  add_model_flags(cmd, flags->model);
  flags->sampling.add_to(cmd);
  cmd.add_option("--system", flags->system, "system message at the start of the conversation");
  cmd.add_option("-n,--max-tokens,--n-predict", flags->max_tokens, "most tokens per answer; -1 = no limit")
      ->capture_default_str()
      ->check(CLI::Range(-1, INT32_MAX));
  cmd.add_option("--stop", flags->stop, "stop an answer at this text (repeatable)");
  return [flags] { return run_chat(*flags); };
}}};

}  // namespace
}  // namespace orchard::cli
