// `nabla repl`: reads the session's input, with LLVM's LineEditor (libedit: line editing,
// history in ~/.nabla_history, tab completion) on a terminal and plain lines otherwise, and hands
// each complete input to the session (repl.h). An input continues on the next line while a
// parenthesis or bracket is open.
#include "repl.h"

#include <llvm/ADT/SmallString.h>
#include <llvm/LineEditor/LineEditor.h>
#include <llvm/Support/Path.h>
#include <llvm/Support/raw_ostream.h>

#include <csignal>
#include <ctime>
#include <iostream>
#include <unistd.h>

#if defined(NABLA_ASAN)
// libedit keeps two wide strings it makes with wcsdup after el_end; under LeakSanitizer
// (NABLA_SANITIZE builds) that is libedit's leak, not nabla's.
extern "C" const char *__lsan_default_suppressions() { return "leak:wcsdup\n"; }
#endif

namespace nabla::cli {

namespace {

volatile std::sig_atomic_t interrupted = 0;
timer_t interruptTicks;
bool haveInterruptTicks = false;

extern "C" void onReplInterrupt(int) {
  interrupted = 1;
  // Ctrl-C may come while libedit is between two reads (echoing a key, redrawing the line), and
  // its next read would then wait for another key. So until readLine returns, a tick every 10 ms
  // (SIGALRM, without SA_RESTART) makes the read it is in fail, whenever it starts.
  // timer_settime is async-signal-safe.
  if (haveInterruptTicks) {
    itimerspec tick{{0, 10'000'000}, {0, 10'000'000}};
    timer_settime(interruptTicks, 0, &tick, nullptr);
  }
}
extern "C" void onReplTick(int) {}

void stopInterruptTicks() {
  if (haveInterruptTicks) {
    itimerspec off{};
    timer_settime(interruptTicks, 0, &off, nullptr);
  }
}

/// Collects lines into one input while brackets are open, then hands it to the session.
class InputAssembler {
public:
  explicit InputAssembler(repl::Session &session, std::size_t limit)
      : session_(session), limit_(limit) {}

  /// Adds a line; returns true when it completed an input (which was then handled).
  bool addLine(std::string line) {
    ++lineNumber_;
    if (!line.empty() && line.back() == '\r')
      line.pop_back();  // a script with CRLF line ends
    if (text_.empty() && !pending_) {
      firstLine_ = lineNumber_;
      depth_ = 0;
    } else {
      text_ += '\n';
    }
    text_ += line;
    pending_ = true;
    // Only the new line is scanned: a statement open over many lines costs time linear in them.
    depth_ = repl::openBrackets(line, depth_);
    if (depth_ > 0 && text_.size() <= limit_)
      return false;
    flush();
    return true;
  }
  /// Handles what was read of an unfinished input (at the end of the input).
  void flush() {
    if (!pending_)
      return;
    if (!session_.handle(repl::inputBuffer("<stdin>", firstLine_, text_)))
      failed_ = true;
    text_.clear();
    pending_ = false;
  }
  /// Drops what was read of an unfinished input (Ctrl-C).
  void discard() {
    text_.clear();
    pending_ = false;
  }
  bool continuing() const { return pending_; }
  bool failed() const { return failed_; }

private:
  repl::Session &session_;
  std::size_t limit_;
  std::string text_;
  int depth_ = 0;  // brackets open at the end of text_
  bool pending_ = false;
  unsigned lineNumber_ = 0, firstLine_ = 1;
  bool failed_ = false;
};

void runPlain(repl::Session &session, InputAssembler &input) {
  std::ios::sync_with_stdio(false);
  std::string line;
  while (!session.quitRequested() && std::getline(std::cin, line))
    input.addLine(std::move(line));
  if (!session.quitRequested())
    input.flush();
  session.finish();
}

void runInteractive(repl::Session &session, InputAssembler &input) {
  std::string history;
  llvm::SmallString<256> home;
  if (llvm::sys::path::home_directory(home)) {
    llvm::sys::path::append(home, ".nabla_history");
    history = std::string(home.str());
  }
  llvm::outs() << "nabla " NABLA_VERSION " - :help lists the commands, Ctrl-D ends the session\n";
  llvm::outs().flush();
  llvm::LineEditor editor("nabla", history);
  editor.setListCompleter([&session](llvm::StringRef buffer, std::size_t pos) {
    std::size_t begin = pos;
    std::vector<llvm::LineEditor::Completion> out;
    for (const std::string &c : session.complete(buffer, pos, begin))
      out.emplace_back(c.substr(std::min(c.size(), pos - begin)), c);
    return out;
  });
  // Ctrl-C while a line is read abandons it (libedit's read then fails with EINTR, and the
  // line comes back empty-handed like an end of input; the flag tells them apart). Elsewhere it
  // keeps its default: it ends a computation that takes too long, and the session with it.
  struct sigaction onInt {}, byDefault {}, onTick {};
  onInt.sa_handler = onReplInterrupt;  // no SA_RESTART: the read must fail
  sigemptyset(&onInt.sa_mask);
  onTick.sa_handler = onReplTick;  // likewise; it stays for the session (the ticks only follow a Ctrl-C)
  sigemptyset(&onTick.sa_mask);
  sigaction(SIGALRM, &onTick, nullptr);
  sigevent toAlarm{};
  toAlarm.sigev_notify = SIGEV_SIGNAL;
  toAlarm.sigev_signo = SIGALRM;
  haveInterruptTicks = timer_create(CLOCK_MONOTONIC, &toAlarm, &interruptTicks) == 0;
  while (!session.quitRequested()) {
    editor.setPrompt(input.continuing() ? "  ...> " : "nabla> ");
    llvm::outs().flush();
    interrupted = 0;
    sigaction(SIGINT, &onInt, &byDefault);
    std::optional<std::string> line = editor.readLine();
    sigaction(SIGINT, &byDefault, nullptr);
    stopInterruptTicks();  // a tick already due is taken by onReplTick as this call returns
    if (!line && interrupted) {
      input.discard();
      llvm::outs() << "\n";
      continue;
    }
    if (!line)
      break;  // Ctrl-D
    if (!history.empty())
      editor.saveHistory();  // every line, so that a session that dies keeps its history
    input.addLine(std::move(*line));
    llvm::errs().flush();
  }
  if (haveInterruptTicks)
    timer_delete(interruptTicks);
  if (!session.quitRequested())
    input.flush();
}

}  // namespace

int runRepl(Invocation &inv) {
  if (inv.hasInput && inv.input == "-")
    return usageError(inv, "standard input is the session's input; give a file to load");
  const bool interactive = isatty(STDIN_FILENO);
  inv.inRepl = true;
  if (!interactive)
    inv.color = false;  // results only, for pipes
  // Without a terminal, statements are checked together where that means the same as one by one
  // (Session::setBatching): a script of many definitions compiles in linear time.
  repl::Session session(inv);
  session.setBatching(!interactive);
  InputAssembler input(session, inv.options.limits.maxSourceBytes);
  bool failed = inv.hasInput && !session.load(inv.input);
  llvm::outs().flush();
  if (interactive)
    runInteractive(session, input);
  else
    runPlain(session, input);
  llvm::outs().flush();
  return inv.strict && (failed || input.failed() || session.anyFailed()) ? kExitInput : kExitOk;
}

}  // namespace nabla::cli
