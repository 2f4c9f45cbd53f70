// `nabla repl`: an interactive session of nabla statements, expressions and `:` commands.
//
// The session is the list of its statements' texts. A statement that declares a name already in
// the session replaces that statement, and the whole text is compiled again: whatever depends on
// the name is recompiled with it, a change that breaks the session is refused (and the session
// stays as it was), and `:save` writes exactly what was typed. An expression is compiled after
// the session's statements (sema's LowerOptions::bareAmongStatements): it sees their names, and
// its other names are its free variables, whose values `:at` sets.
#pragma once

#include "cli_common.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace nabla::cli::repl {

/// A piece of text as it was read: the whole input it came from (its name and line numbers are
/// what diagnostics show) and the byte range of the piece in it.
struct Origin {
  std::shared_ptr<const SourceBuffer> buffer;
  std::uint32_t begin = 0, end = 0;

  std::string_view text() const {
    return std::string_view(buffer->text()).substr(begin, end - begin);
  }
  /// The piece [begin, end) of this piece (offsets relative to its start), spaces trimmed.
  Origin sub(std::size_t from, std::size_t to) const;
  Origin trimmed() const { return sub(0, end - begin); }
  bool empty() const { return begin == end; }
};

/// An input named like standard input, whose first line is line `line` of it (so that the lines
/// of diagnostics count the lines read so far).
std::shared_ptr<const SourceBuffer> inputBuffer(const std::string &name, unsigned line,
                                                const std::string &text);

/// How many brackets are open after `text`, comments skipped, when `depth` were open before it:
/// input continues while it is positive. Line by line, each line scanned once.
int openBrackets(std::string_view text, int depth = 0);

/// For an input that has a bracket open: the offset of its first syntax error when that error
/// comes before the end of the text (comments and spaces aside), so that no later line can
/// repair it; nothing while the input may still become valid (no error, or only one at its end:
/// what is missing may come on the next line). Commands (`:...`) are not checked: nothing.
std::optional<std::size_t> invalidBeforeEnd(const std::string &text,
                                            const driver::Options &options);

/// Thrown between the steps of a command when Ctrl-C asked it to stop (Session::setInterrupt).
struct Interrupted {};

struct Statement {
  Origin origin;
  ast::StmtKind kind = ast::StmtKind::Define;
  std::string key;  // the name it declares; "minimize" for the objective
};

/// What `:eval`, `:grad`, `:hessian`, `:time`, `:ir`, `:graph` and a bare expression work on: a
/// function of the session named alone (`f`), a call of one at a point (`f(1, 2)`), or an
/// expression.
struct Target {
  enum class Kind { Named, Call, Expression } kind = Kind::Expression;
  std::unique_ptr<driver::Program> program;
  driver::Entry entry;          // value invalid for an expression that is not a scalar
  std::string label;            // in `∂label/∂x`: the function's name, empty for an expression
  Value result;                 // the expression's value, any shape (a scalar for the others)
  std::vector<SymbolId> args;   // the compiled code's arguments (Program::arguments)
  std::vector<double> values;   // per graph symbol
  std::vector<SymbolId> missing;  // arguments without a value (none for a call)
};

class Session {
public:
  /// `inv` holds the options of the command line (limits, simplification, colour).
  explicit Session(Invocation &inv);
  ~Session();
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  /// Handles one input (a line, or the lines read while a bracket was open): statements,
  /// expressions or one command. Returns false when it failed; the error is printed and the
  /// session is as it was before.
  bool handle(const std::shared_ptr<const SourceBuffer> &input);
  /// `:load FILE`.
  bool load(const std::string &path);
  /// Batching (for scripts): statement-only inputs are kept and checked together when something
  /// else comes (an expression, a command, the end), which is what checking them one by one would
  /// say when they declare new names and use none of the kept ones' names before their
  /// declaration; otherwise, or when the batch fails, each is handled on its own as before.
  void setBatching(bool on) { batching_ = on; }
  /// Handles the kept statements (the end of the input); false when one failed.
  bool finish();
  /// Whether a kept statement failed when it was finally handled (for --strict).
  bool anyFailed() const { return deferredFailed_; }
  /// Set by `:quit`.
  bool quitRequested() const { return quit_; }
  /// A flag that Ctrl-C sets (a signal handler), the same as the driver's Options::cancel of the
  /// session's options. A command checks it between its steps (a compilation, a derivative, a
  /// batch of timed calls), and the driver inside its long jobs (differentiation, simplification,
  /// LLVM's passes); the first that finds it set stops the command, which prints "interrupted";
  /// the session keeps everything but what that input would add. The flag is cleared then.
  void setInterrupt(std::atomic<bool> *flag) { interrupt_ = flag; }
  /// Throws Interrupted when the flag is set.
  void checkInterrupt() const {
    if (interrupt_ && interrupt_->load())
      throw Interrupted{};
  }

  /// Tab completion: the candidates for the word that ends at `cursor` in `line`, which starts at
  /// `wordBegin`: commands at the start of a line, file names after `:load` and `:save`, else the
  /// session's names, the variables with values, the built-ins and the keywords.
  std::vector<std::string> complete(std::string_view line, std::size_t cursor,
                                    std::size_t &wordBegin) const;

  struct Command {
    std::string_view name;      // without the colon
    std::string_view synopsis;  // what follows the name
    std::string_view summary;
    std::string_view details;
    bool (Session::*run)(const Origin &args);
  };
  static const std::vector<Command> &commands();

private:
  // repl_session.cpp: the statements, compiling, diagnostics, values, targets.
  bool handleText(const Origin &text);
  /// Keeps `text` for the batch when it is statements only (returns true then).
  bool deferStatements(const Origin &text);
  bool addStatements(const std::vector<Statement> &added, bool quiet = false);
  /// handle() without batching.
  bool handleNow(const Origin &text);
  /// Compiles the statements, then the expression if any. Diagnostics are shown in the text they
  /// were typed in: errors all, warnings of the `fresh` statements and the expression only.
  /// `brokeOthers`, when given, tells whether a statement that is not fresh failed.
  std::unique_ptr<driver::Program> compile(const std::vector<Statement> &statements,
                                           const std::vector<bool> &fresh,
                                           const Origin *expression, bool *brokeOthers,
                                           bool quiet = false) const;
  std::unique_ptr<driver::Program> compileSession() const;
  std::unique_ptr<driver::Program> compileExpression(const Origin &expression) const;
  /// Parses `origin`'s buffer, reporting errors; the statements that fall inside `origin`.
  std::optional<std::vector<Statement>> parseStatements(const Origin &origin,
                                                        bool allowExpressions) const;
  /// Values of the graph's symbols: the point (:at), then the params' initial values.
  void fillValues(const driver::Program &program, std::vector<double> &values,
                  std::vector<bool> &known) const;
  /// The target of `text` (trimmed). `calls`: `f(1, 2)` is f at a point (else an expression);
  /// `names`: `f` alone is the function (else an expression, where `f` is not a value).
  std::optional<Target> resolve(const Origin &text, bool calls, bool names) const;
  /// The value of a constant expression in the session (any shape), or nothing (error printed).
  std::optional<Value> evaluateConstant(const Origin &text, std::vector<double> &numbers) const;
  const Statement *findStatement(std::string_view key) const;
  /// Whether :at gives `name` a value (or, for an array, values to elements of it).
  bool hasValue(std::string_view name) const;
  /// ` (did you mean 'loss'?)` when a name of the session (a statement's, the objective's `L`, a
  /// variable with a value) is close to `name`, else empty.
  std::string didYouMean(const std::string &name) const;
  std::string sessionText() const;
  void printError(const std::string &message) const;
  void printNote(const std::string &message) const;
  /// After a limit's error: how to go on under other limits.
  void printLimitNote() const;
  bool setPoint(const Origin &args);
  driver::Jit &evalJit() const;
  driver::Jit &optimizingJit() const;

  // repl_commands.cpp: the commands.
  bool runCommand(const Origin &line);
  bool printExpression(const Origin &text, bool requireValues);
  bool cmdEval(const Origin &args);
  bool cmdDiff(const Origin &args);
  bool cmdGrad(const Origin &args);
  bool cmdHessian(const Origin &args);
  bool derivatives(const Origin &args, bool hessian);
  bool cmdAt(const Origin &args);
  bool cmdUnset(const Origin &args);
  bool cmdGraph(const Origin &args);
  bool cmdIr(const Origin &args);
  bool cmdAsm(const Origin &args);
  bool code(const Origin &args, bool assembly);
  bool cmdTime(const Origin &args);
  bool cmdLoad(const Origin &args);
  bool cmdSave(const Origin &args);
  bool cmdReset(const Origin &args);
  bool cmdList(const Origin &args);
  bool cmdHelp(const Origin &args);
  bool cmdQuit(const Origin &args);

  Invocation &inv_;
  std::vector<Statement> statements_;
  std::unordered_map<std::string, std::size_t> keyIndex_;  // statements_' positions, by key
  std::vector<std::pair<std::string, double>> point_;  // :at, in the order set
  bool quit_ = false;
  std::atomic<bool> *interrupt_ = nullptr;
  bool batching_ = false;
  std::vector<Origin> deferred_;        // statement-only inputs kept for the batch
  std::set<std::string> deferredKeys_;  // the names they declare
  std::set<std::string> deferredUses_;  // the names they use
  bool deferredFailed_ = false;
  mutable std::unique_ptr<driver::Jit> evalJit_;        // the first tier only
  mutable std::unique_ptr<driver::Jit> optimizingJit_;  // LLVM at O2, in the calling thread
};

/// The point as `:at` text: `x=1, y=2` (NaN and infinities as 0/0, 1/0, -1/0, which read back).
std::string pointText(const std::vector<std::pair<std::string, double>> &point);

}  // namespace nabla::cli::repl
