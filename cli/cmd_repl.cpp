// `nabla repl`: reads the session's input, with LLVM's LineEditor (libedit: line editing,
// history in ~/.nabla_history, tab completion) on a terminal and plain lines otherwise, and hands
// each complete input to the session (repl.h). An input continues on the next line while a
// parenthesis or bracket is open, until a line makes it invalid or a blank line ends it. Ctrl-C
// abandons the line being typed, or stops the command that runs; on a terminal, a command that
// runs for more than a second says so on stderr until it ends.
#include "repl.h"

#include <llvm/ADT/SmallString.h>
#include <llvm/LineEditor/LineEditor.h>
#include <llvm/Support/Path.h>
#include <llvm/Support/raw_ostream.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <ctime>
#include <cstdio>
#include <deque>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <memory>
#include <mutex>
#include <pthread.h>
#include <thread>
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

// Ctrl-C while the session works on an input: the flag asks the command to stop
// (Session::setInterrupt), and the driver's jobs inside it (driver::Options::cancel: the
// derivative, the simplifier, LLVM's passes), which look at it every few thousand nodes or
// between two passes. What does not look at it (LLVM's code generation of one function, a part
// of a split one) runs to its end first; a second Ctrl-C before then ends the session, as
// the disposition before the input (the default, or LLVM's) does.
std::atomic<bool> commandInterrupted{false};  // lock-free (graph/cancel.h): safe in a handler
struct sigaction beforeCommand {};

extern "C" void onCommandInterrupt(int) {
  if (commandInterrupted.load()) {
    sigaction(SIGINT, &beforeCommand, nullptr);
    raise(SIGINT);
    return;
  }
  commandInterrupted.store(true);
  static const char kSaid[] = "\nstopping (Ctrl-C again ends the session)\n";
  ssize_t written = write(STDERR_FILENO, kSaid, sizeof kSaid - 1);
  (void)written;  // nothing to do about a failed write in a signal handler
}

/// The Ctrl-C of commands, while it lives: around the session's work on each input. Reads are
/// restarted (SA_RESTART), so that Ctrl-C during `:load` does not end it as an error of the file.
class CommandInterrupts {
public:
  CommandInterrupts() {
    commandInterrupted.store(false);
    struct sigaction on {};
    on.sa_handler = onCommandInterrupt;
    on.sa_flags = SA_RESTART;
    sigemptyset(&on.sa_mask);
    sigaction(SIGINT, &on, &beforeCommand);
  }
  ~CommandInterrupts() {
    sigaction(SIGINT, &beforeCommand, nullptr);
    commandInterrupted.store(false);
  }
  CommandInterrupts(const CommandInterrupts &) = delete;
  CommandInterrupts &operator=(const CommandInterrupts &) = delete;
};

/// On a terminal, while the session works on an input: after a second, a line on stderr that it
/// is working and how to stop it, erased when the input is done unless something was printed
/// after it (it then stays above that output, which is never overwritten). A thread of its own
/// writes it, since the session's thread may be inside LLVM. Pipes never see it.
class WorkingIndicator {
public:
  static constexpr std::chrono::milliseconds kAfter{1000};

  explicit WorkingIndicator(bool on) {
    if (!on)
      return;
    llvm::outs().flush();
    outBefore_ = llvm::outs().tell();
    errBefore_ = llvm::errs().tell();
    // The thread takes no signal (it inherits this mask): Ctrl-C and the read's ticks stay with
    // the session's thread.
    sigset_t all, before;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &before);
    thread_ = std::thread([this] {
      std::unique_lock lock(mutex_);
      if (wake_.wait_for(lock, kAfter, [this] { return done_; }))
        return;
      static const char kLine[] = "working... (Ctrl-C to stop)\n";
      shown_ = write(STDERR_FILENO, kLine, sizeof kLine - 1) > 0;
    });
    pthread_sigmask(SIG_SETMASK, &before, nullptr);
  }
  ~WorkingIndicator() {
    if (!thread_.joinable())
      return;
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    wake_.notify_one();
    thread_.join();
    llvm::outs().flush();
    // Erased (the line above the cursor) only when nothing came after it: neither the session's
    // output nor Ctrl-C's note (which an interrupted command follows with its error).
    if (shown_ && llvm::outs().tell() == outBefore_ && llvm::errs().tell() == errBefore_ &&
        !commandInterrupted.load()) {
      static const char kErase[] = "\x1b[A\r\x1b[K";
      ssize_t written = write(STDERR_FILENO, kErase, sizeof kErase - 1);
      (void)written;  // a line left on the screen
    }
  }
  WorkingIndicator(const WorkingIndicator &) = delete;
  WorkingIndicator &operator=(const WorkingIndicator &) = delete;

private:
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  bool shown_ = false;  // written by the thread, read after it is joined
  std::uint64_t outBefore_ = 0, errBefore_ = 0;
};

bool isBlank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

/// Collects lines into one input while brackets are open, then hands it to the session. As in
/// Python's REPL, an open input is not continued once it cannot become valid: when a line makes
/// it invalid (a syntax error before its end), or a blank line comes while it is open, what was
/// read is handed over at once (which reports its errors, once) and the next line starts afresh.
class InputAssembler {
public:
  /// Called with the text of each input of several lines as it is handed over or dropped.
  using OnInput = std::function<void(const std::string &text)>;

  InputAssembler(repl::Session &session, const driver::Options &options)
      : session_(session), options_(options) {}
  void setOnInput(OnInput onInput) { onInput_ = std::move(onInput); }

  /// Adds a line, handing over the inputs it completes.
  void addLine(std::string line) {
    queue_.push_back(std::move(line));
    drain();
  }
  /// Handles what was read of an unfinished input (at the end of the input).
  void flush() {
    while (pending_ && checkedSize_ != text_.size() && dropIfInvalid(false))
      drain();
    handOver();
  }
  /// Drops what was read of an unfinished input (Ctrl-C).
  void discard() {
    if (pending_ && onInput_ && lineStarts_.size() > 1)
      onInput_(text_);
    text_.clear();
    pending_ = false;
  }
  bool continuing() const { return pending_; }
  bool failed() const { return failed_; }

private:
  // Up to this size an open input is parsed again after every line; beyond it, each time it has
  // grown by a quarter, so that a statement open over many lines costs time linear in them. (A
  // check that comes late finds the same error; the lines after it are read again.)
  static constexpr std::size_t kCheckEveryLine = 4096;

  void drain() {
    while (!queue_.empty() && !session_.quitRequested()) {
      std::string next = std::move(queue_.front());
      queue_.pop_front();
      take(std::move(next));
    }
  }

  void take(std::string line) {
    ++lineNumber_;
    if (!line.empty() && line.back() == '\r')
      line.pop_back();  // a script with CRLF line ends
    if (pending_ && isBlank(line)) {
      // The end of the open input; an error before it first (the blank line comes after the
      // lines that follow that error).
      if (checkedSize_ != text_.size()) {
        queue_.push_front(line);
        if (dropIfInvalid(false))
          return;
        queue_.pop_front();
      }
      handOver();
      return;
    }
    if (!pending_) {
      firstLine_ = lineNumber_;
      depth_ = 0;
      lineStarts_.clear();
      checkedSize_ = 0;
    } else {
      text_ += '\n';
    }
    lineStarts_.push_back(text_.size());
    text_ += line;
    pending_ = true;
    // Only the new line is scanned for brackets.
    depth_ = repl::openBrackets(line, depth_);
    if (depth_ <= 0 || text_.size() > options_.limits.maxSourceBytes) {
      // Complete. Lines read since the last check may hold an error that a check after each line
      // would have cut the input at; one in this line is this input's.
      const bool unchecked = lineStarts_.size() > 1 && checkedSize_ != lineStarts_.back() - 1;
      if (!unchecked || !dropIfInvalid(true))
        handOver();
      return;
    }
    if (text_.size() <= kCheckEveryLine || text_.size() >= checkedSize_ + checkedSize_ / 4)
      dropIfInvalid(false);
  }

  /// Parses the open input; when an error comes before its end, hands over the input up to the
  /// line that made it invalid (the first line with text at or after the error: the last line
  /// when every line is checked) and queues the lines after it to be read again, in front. With
  /// `keepLast`, an error in the last line is left to the caller.
  bool dropIfInvalid(bool keepLast) {
    checkedSize_ = text_.size();
    std::optional<std::size_t> error = repl::invalidBeforeEnd(text_, options_);
    if (!error)
      return false;
    std::size_t line = std::upper_bound(lineStarts_.begin(), lineStarts_.end(), *error) -
                       lineStarts_.begin();
    line = line == 0 ? 0 : line - 1;
    for (; line + 1 < lineStarts_.size(); ++line) {
      std::size_t from = std::max(*error, lineStarts_[line]), to = lineStarts_[line + 1] - 1;
      std::string_view rest = std::string_view(text_).substr(from, to - from);
      if (!isBlank(rest.substr(0, rest.find('#'))))
        break;
    }
    if (keepLast && line + 1 == lineStarts_.size())
      return false;
    std::vector<std::string> again;
    if (line + 1 < lineStarts_.size()) {
      std::string_view after = std::string_view(text_).substr(lineStarts_[line + 1]);
      for (std::size_t at = 0; at <= after.size();) {
        std::size_t eol = std::min(after.find('\n', at), after.size());
        again.emplace_back(after.substr(at, eol - at));
        at = eol + 1;
      }
      text_.resize(lineStarts_[line + 1] - 1);
      lineStarts_.resize(line + 1);
    }
    lineNumber_ = firstLine_ + static_cast<unsigned>(line);
    handOver();
    queue_.insert(queue_.begin(), again.begin(), again.end());
    return true;
  }

  void handOver() {
    if (!pending_)
      return;
    if (onInput_ && lineStarts_.size() > 1)
      onInput_(text_);
    if (!session_.handle(repl::inputBuffer("<stdin>", firstLine_, text_)))
      failed_ = true;
    text_.clear();
    pending_ = false;
  }

  repl::Session &session_;
  const driver::Options &options_;
  OnInput onInput_;
  std::deque<std::string> queue_;  // lines to take, in order
  std::string text_;
  std::vector<std::size_t> lineStarts_;  // where each line of text_ starts
  int depth_ = 0;                        // brackets open at the end of text_
  std::size_t checkedSize_ = 0;          // text_'s size when it was last parsed
  bool pending_ = false;
  unsigned lineNumber_ = 0, firstLine_ = 1;
  bool failed_ = false;
};

void runPlain(repl::Session &session, InputAssembler &input) {
  std::ios::sync_with_stdio(false);
  std::string line;
  // Ctrl-C while a line is read keeps its default: it ends a script that waits for input.
  while (!session.quitRequested() && std::getline(std::cin, line)) {
    CommandInterrupts whileHandled;
    input.addLine(std::move(line));
  }
  CommandInterrupts whileHandled;
  if (!session.quitRequested())
    input.flush();
  session.finish();
}

/// One history entry for an input of several lines: its lines joined by spaces, their comments
/// left out (a comment would swallow the lines after it), so that Up recalls one line that reads
/// as the input did.
std::string historyEntry(std::string_view text) {
  std::string out;
  for (std::size_t at = 0; at <= text.size();) {
    std::size_t eol = std::min(text.find('\n', at), text.size());
    std::string_view line = text.substr(at, eol - at);
    line = line.substr(0, line.find('#'));
    std::size_t first = line.find_first_not_of(" \t\r"), last = line.find_last_not_of(" \t\r");
    if (first != std::string_view::npos)
      out += (out.empty() ? "" : " ") + std::string(line.substr(first, last + 1 - first));
    at = eol + 1;
  }
  return out;
}

std::string readWhole(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// The history file as libedit writes and reads it: a first line `_HiStOrY_V2_`, then one entry
/// a line, encoded as strvis(3) does with VIS_WHITE (spaces, control and non-ASCII bytes as
/// `\ooo`, a backslash doubled), which libedit's strunvis decodes.
std::string historyFileLine(std::string_view entry) {
  std::string out;
  for (unsigned char c : entry) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c > ' ' && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char octal[8];
      std::snprintf(octal, sizeof octal, "\\%03o", c);
      out += octal;
    }
  }
  return out;
}

/// The terminal's line editor, and its history kept one entry per input: libedit enters every
/// line it reads, so an input typed over several lines would come back a line at a time, its
/// first line broken. LineEditor keeps that history out of reach, so after such an input the
/// file is written with the input as one entry in place of its lines, and the editor is made
/// again from it.
class Editor {
public:
  Editor(repl::Session &session, std::string historyPath)
      : session_(session), history_(std::move(historyPath)) {
    make();
  }
  llvm::LineEditor &get() { return *editor_; }

  /// Before the first line of an input is saved: the file as the input will be added to.
  void startInput() {
    if (!history_.empty())
      before_ = readWhole(history_);
  }
  void saveLine() {
    if (!history_.empty())
      editor_->saveHistory();  // every line, so that a session that dies keeps its history
  }
  /// An input of several lines was read (handed over or abandoned): one entry in their place.
  void replaceLines(const std::string &text) {
    if (history_.empty())
      return;
    const std::string entry = historyEntry(text);
    llvm::outs().flush();
    std::fflush(stdout);
    {
      // The destructor saves the history with the separate lines, which the file written next
      // replaces, and ends the line it expects the session's last output on: an empty line on
      // the screen here, which /dev/null takes instead.
      int screen = dup(STDOUT_FILENO), null = open("/dev/null", O_WRONLY);
      if (screen >= 0 && null >= 0)
        dup2(null, STDOUT_FILENO);
      editor_.reset();
      std::fflush(stdout);
      if (screen >= 0 && null >= 0)
        dup2(screen, STDOUT_FILENO);
      if (screen >= 0)
        close(screen);
      if (null >= 0)
        close(null);
    }
    std::string file = before_.empty() ? std::string("_HiStOrY_V2_\n") : before_;
    if (file.back() != '\n')
      file += '\n';
    if (!entry.empty())
      file += historyFileLine(entry + "\n") + "\n";  // with a line end, as libedit enters lines
    {
      std::ofstream out(history_, std::ios::binary | std::ios::trunc);
      out << file;
    }
    before_ = std::move(file);  // the next input of this line (lines read again) comes after it
    make();
  }

private:
  void make() {
    editor_ = std::make_unique<llvm::LineEditor>("nabla", history_);
    editor_->setListCompleter([this](llvm::StringRef buffer, std::size_t pos) {
      std::size_t begin = pos;
      std::vector<llvm::LineEditor::Completion> out;
      for (const std::string &c : session_.complete(buffer, pos, begin))
        out.emplace_back(c.substr(std::min(c.size(), pos - begin)), c);
      return out;
    });
  }

  repl::Session &session_;
  std::string history_;  // the file; empty without a home folder
  std::string before_;
  std::unique_ptr<llvm::LineEditor> editor_;
};

void runInteractive(repl::Session &session, InputAssembler &input) {
  std::string history;
  llvm::SmallString<256> home;
  if (llvm::sys::path::home_directory(home)) {
    llvm::sys::path::append(home, ".nabla_history");
    history = std::string(home.str());
  }
  llvm::outs() << "nabla " NABLA_VERSION " - :help lists the commands, Ctrl-D ends the session\n";
  llvm::outs().flush();
  Editor editor(session, history);
  input.setOnInput([&editor](const std::string &text) { editor.replaceLines(text); });
  // Ctrl-C while a line is read abandons it (libedit's read then fails with EINTR, and the
  // line comes back empty-handed like an end of input; the flag tells them apart). While the
  // session works on the line, it stops that work (CommandInterrupts).
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
  const bool showWorking = isatty(STDERR_FILENO);
  while (!session.quitRequested()) {
    editor.get().setPrompt(input.continuing() ? "  ...> " : "nabla> ");
    llvm::outs().flush();
    interrupted = 0;
    sigaction(SIGINT, &onInt, &byDefault);
    std::optional<std::string> line = editor.get().readLine();
    sigaction(SIGINT, &byDefault, nullptr);
    stopInterruptTicks();  // a tick already due is taken by onReplTick as this call returns
    if (!line && interrupted) {
      input.discard();
      llvm::outs() << "\n";
      continue;
    }
    if (!line)
      break;  // Ctrl-D
    if (!input.continuing())
      editor.startInput();
    editor.saveLine();
    {
      CommandInterrupts whileHandled;
      WorkingIndicator whileWorking(showWorking);
      input.addLine(std::move(*line));
    }
    llvm::errs().flush();
  }
  if (haveInterruptTicks)
    timer_delete(interruptTicks);
  CommandInterrupts whileHandled;
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
  // Ctrl-C stops the driver's jobs too (derivatives, LLVM), not only the steps between them.
  inv.options.cancel = &commandInterrupted;
  // Without a terminal, statements are checked together where that means the same as one by one
  // (Session::setBatching): a script of many definitions compiles in linear time.
  repl::Session session(inv);
  session.setBatching(!interactive);
  session.setInterrupt(&commandInterrupted);
  InputAssembler input(session, inv.options);
  bool failed = false;
  if (inv.hasInput) {
    CommandInterrupts whileLoaded;
    WorkingIndicator whileWorking(interactive && isatty(STDERR_FILENO));
    try {
      failed = !session.load(inv.input);
    } catch (const repl::Interrupted &) {
      inputError(inv, "interrupted");
      failed = true;
    }
  }
  llvm::outs().flush();
  if (interactive)
    runInteractive(session, input);
  else
    runPlain(session, input);
  llvm::outs().flush();
  return inv.strict && (failed || input.failed() || session.anyFailed()) ? kExitInput : kExitOk;
}

}  // namespace nabla::cli
