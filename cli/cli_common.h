// What the subcommands of `nabla` share: the command table, option parsing, reading the input,
// compiling it, choosing the function to work on, and printing numbers and errors.
#pragma once

#include "driver/driver.h"
#include "options.h"
#include "support/number.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nabla::cli {

/// Exit statuses: success, bad input (diagnostics), bad usage, a bug in nabla.
enum ExitCode : int { kExitOk = 0, kExitInput = 1, kExitUsage = 2, kExitInternal = 3 };

/// The options a command accepts, as bits of CommandSpec::options.
enum OptionBit : unsigned {
  kOptLimits = 1u << 0,     // --max-source-bytes, --max-nesting, --max-nodes, --max-array
  kOptSimplify = 1u << 1,   // --no-simplify, --trace=rewrites
  kOptJson = 1u << 2,       // --json
  kOptWrt = 1u << 3,        // --wrt x,y
  kOptHessian = 1u << 4,    // --hessian
  kOptAt = 1u << 5,         // --at x=1,y=2
  kOptVars = 1u << 6,       // --vars x,y
  kOptGrad = 1u << 7,       // --grad
  kOptStats = 1u << 8,      // --stats
  kOptOutput = 1u << 9,     // -o FILE
  kOptFunction = 1u << 10,  // --fn NAME
  kOptInterp = 1u << 11,    // --interp
  kOptCodegen = 1u << 12,   // -O LEVEL (-O0 .. -O3), --fast-math
  kOptCompile = 1u << 13,   // --header FILE, --emit obj|asm|llvm-ir, --no-hessian
  kOptAsm = 1u << 14,       // --asm
  kOptLibrary = 1u << 15,   // -o FILE, described as the library to write
  kOptOwn = 1u << 16,       // the command reads its own options (CommandSpec::own) itself
  kOptRepl = 1u << 17,      // --strict; the input (a file to load first) is optional
  kOptMatrix = 1u << 18,    // --matrix
};

struct CommandSpec {
  std::string_view name;
  std::string_view usage;    // the synopsis after `nabla `
  std::string_view summary;  // one line for `nabla --help`
  std::string_view details;  // what the command prints, for `nabla CMD --help`
  unsigned options;          // the shared options it takes (OptionBit)
  int (*run)(Invocation &);
  /// Options of its own (fit, predict), after the shared ones; and help text after the options.
  const std::vector<Option> &(*own)() = nullptr;
  std::string_view (*epilogue)() = nullptr;
};

/// Every command, in the order `nabla --help` lists them.
const std::vector<CommandSpec> &commands();

/// A parsed command line.
struct Invocation {
  const CommandSpec *command = nullptr;
  std::string input;  // EXPR, FILE or `-`
  bool hasInput = false;
  std::vector<std::string> wrt, vars;
  std::vector<std::pair<std::string, double>> at;
  bool hessian = false, json = false, grad = false, stats = false;
  bool matrix = false;  // --matrix: the objective's gradient in matrix notation
  bool interp = false;  // --interp: the reference interpreter instead of compiled code
  std::string output;    // -o
  std::string function;  // --fn
  int optLevel = 2;      // -O
  bool fastMath = false, noHessian = false, noHvp = false, assembly = false;
  std::string level = "auto";  // nabla compile --level
  std::string header;    // --header
  std::string emit;      // --emit: empty for a shared library
  bool strict = false;   // --strict (repl): exit status 1 when any line failed
  driver::Options options;  // limits, simplification
  bool color = false;  // diagnostics in color (stderr is a terminal and NO_COLOR is unset)
  Arguments args;  // everything given, by option (the command's own options are read from it)
  bool inRepl = false;  // messages without the `nabla: ` prefix (the REPL prints them)
};

/// Parses `args` (after the command name). Returns an exit code when the run is over (help
/// printed: 0; a usage error printed: 2), nothing when the command should run.
std::optional<int> parseArguments(const CommandSpec &command, const std::vector<std::string> &args,
                                  Invocation &inv);

/// The options `command` takes, shared and its own, in the order its help lists them.
std::vector<Option> commandOptions(const CommandSpec &command);
/// `nabla CMD --help`.
std::string commandHelp(const CommandSpec &command);
/// `nabla CMD` (or `nabla` before a command is known), as messages name the command.
std::string commandName(const Invocation &inv);

/// `nabla CMD: error: MESSAGE` and a pointer to --help on stderr; returns kExitUsage.
int usageError(const Invocation &inv, const std::string &message);
/// `nabla: error: MESSAGE` on stderr; returns kExitInput.
int inputError(const Invocation &inv, const std::string &message);
/// `nabla: warning: MESSAGE` / `nabla: note: MESSAGE` on stderr.
void warn(const Invocation &inv, const std::string &message);
void note(const Invocation &inv, const std::string &message);

/// Prints a driver error (its diagnostics, or `nabla: error: MESSAGE`) and returns the exit
/// status it means: kExitInternal for a bug, else kExitInput. `hint`, when given, follows a limit
/// as a note (how this command leaves the limited work out).
int reportError(const Invocation &inv, const driver::Error &e, const std::string &hint = "");
/// Prints a job's notes and warnings (`nabla: warning: ...`).
void printMessages(const Invocation &inv, const std::vector<driver::Message> &messages);

/// Reads and loads the input named by `inv.input` (an expression, a file or `-`; with
/// ArgumentKind::File always a file), printing the warnings. Prints the error and returns
/// nothing on failure, with the exit status in `exitCode`.
std::optional<driver::Program> loadProgram(const Invocation &inv, driver::ArgumentKind kind,
                                           int &exitCode);

/// The one entry `eval`, `graph` and `ir` work on: --fn, or the only one there is.
std::optional<driver::Entry> selectEntry(const Invocation &inv, const driver::Program &program,
                                         int &exitCode);
/// loadProgram (an expression or a file), then selectEntry.
struct LoadedEntry {
  driver::Program program;
  driver::Entry entry;  // points into the program's data, which moving the program keeps
};
std::optional<LoadedEntry> loadEntry(const Invocation &inv, int &exitCode);
/// loadEntry, then `job(program, entry)`, whose exit status it returns (a driver::Error that the
/// job throws is reported by main()).
template <class Job> int withEntry(const Invocation &inv, Job &&job) {
  int code = kExitOk;
  std::optional<LoadedEntry> loaded = loadEntry(inv, code);
  return loaded ? job(loaded->program, std::as_const(loaded->entry)) : code;
}

/// `∂f/∂x`, `∂²f/∂x∂y`, `∂²f/∂x²` (the driver's, which `nabla diff`'s text uses).
using driver::partialName;
using driver::secondPartialName;

/// Writes `text` to `path` whole (support/output_file.h: a new file renamed over the old one),
/// or prints an error and returns false.
bool writeFile(const Invocation &inv, const std::string &path, const std::string &text);

/// The checks every command makes before it starts work, on the files its command line names
/// (the options whose table entry says File::Read or File::Write, the model or input when it is
/// a file, standard output when it is a file, and the checkpoint that `fit` writes on Ctrl-C):
/// support/output_file.h's checkFileUses. Prints the error and returns its exit status (2 when
/// two of the files are one, 1 when an output cannot be written), or nothing when all is well.
std::optional<int> checkCommandFiles(const Invocation &inv);
/// Where `nabla fit MODEL` writes its checkpoint on Ctrl-C without --checkpoint: MODEL's name
/// without `.nabla`, and `.checkpoint`, in the current folder.
std::string interruptCheckpointPath(const std::string &model);

/// The value (and gradient, and Hessian row-major: the interpreter's layout) of `d` computed by
/// code compiled in `jit`: one function of `args`, whose first d.grad.size() entries are the
/// differentiated variables and the rest the other symbols the value reads.
std::vector<double> evaluateCompiled(driver::Jit &jit, const driver::Program &program,
                                     const std::string &name, const std::vector<SymbolId> &args,
                                     const Derivatives &d, const std::vector<double> &symbolValues);

/// Writes DOT text to `path`; .svg, .png and .pdf run Graphviz's `dot` (cmd_graph.cpp).
int writeDot(const Invocation &inv, const std::string &dotText, const std::string &path);

/// The subcommands (cmd_*.cpp).
int runDiff(Invocation &inv);
int runEval(Invocation &inv);
int runGraph(Invocation &inv);
int runCheck(Invocation &inv);
int runCompile(Invocation &inv);
int runIr(Invocation &inv);
int runFit(Invocation &inv);
int runPredict(Invocation &inv);
/// What `fit` and `predict` say in their help, and their own options (in their files).
std::string_view fitDetails();
const std::vector<Option> &fitOptions();
std::string_view fitEpilogue();
std::string_view predictDetails();
const std::vector<Option> &predictOptions();
/// `diff`'s own option (--sparsity), after the shared ones (cmd_diff.cpp).
const std::vector<Option> &diffOptions();
int runRepl(Invocation &inv);

}  // namespace nabla::cli
