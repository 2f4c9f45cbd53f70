// What the subcommands of `nabla` share: the command table, option parsing, reading the input,
// compiling it, choosing the function to work on, and printing numbers and errors.
#pragma once

#include "pipeline.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llvm {
class raw_ostream;
}  // namespace llvm

namespace nabla::jit {
class Session;
}  // namespace nabla::jit

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
  kOptOwn = 1u << 16,       // the command parses its own options (Invocation::rawArgs)
  kOptRepl = 1u << 17,      // --strict; the input (a file to load first) is optional
};

struct Invocation;

struct CommandSpec {
  std::string_view name;
  std::string_view usage;    // the synopsis after `nabla `
  std::string_view summary;  // one line for `nabla --help`
  std::string_view details;  // what the command prints, for `nabla CMD --help`
  unsigned options;
  int (*run)(Invocation &);
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
  bool interp = false;  // --interp: the reference interpreter instead of compiled code
  std::string output;    // -o
  std::string function;  // --fn
  int optLevel = 2;      // -O
  bool fastMath = false, noHessian = false, assembly = false;
  std::string header;    // --header
  std::string emit;      // --emit: empty for a shared library
  bool strict = false;   // --strict (repl): exit status 1 when any line failed
  CompileOptions compile;
  bool color = false;  // diagnostics in color (stderr is a terminal and NO_COLOR is unset)
  std::vector<std::string> rawArgs;  // kOptOwn: the arguments after the command name
  bool inRepl = false;  // messages without the `nabla: ` prefix (the REPL prints them)
};

/// Parses `args` (after the command name). Returns an exit code when the run is over (help
/// printed: 0; a usage error printed: 2), nothing when the command should run.
std::optional<int> parseArguments(const CommandSpec &command, const std::vector<std::string> &args,
                                  Invocation &inv);

void printCommandHelp(const CommandSpec &command);

/// `nabla CMD: error: MESSAGE` and a pointer to --help on stderr; returns kExitUsage.
int usageError(const Invocation &inv, const std::string &message);
/// `nabla: error: MESSAGE` on stderr; returns kExitInput.
int inputError(const Invocation &inv, const std::string &message);
/// `nabla: warning: MESSAGE` / `nabla: note: MESSAGE` on stderr.
void warn(const Invocation &inv, const std::string &message);
void note(const Invocation &inv, const std::string &message);

/// The input text: a file, standard input, or the argument itself.
struct LoadedInput {
  std::unique_ptr<SourceBuffer> buffer;
  bool isFile = false;  // a program file (statements only) rather than a bare expression
};
/// Reads the input named by `inv.input`. `fileOnly` treats the argument as a path even when no
/// such file exists (`nabla check`). Prints the error and returns nothing on failure.
std::optional<LoadedInput> loadInput(const Invocation &inv, bool fileOnly);

/// Parses and lowers; renders diagnostics (errors and warnings) to stderr.
std::optional<LoweredProgram> compileInput(const Invocation &inv, const LoadedInput &input);

/// loadInput then compileInput, for the commands that take EXPR|FILE.
std::optional<LoweredProgram> loadAndCompile(const Invocation &inv);

/// One scalar function to differentiate or evaluate: a bare expression (`f`), a user function, or
/// the objective (`L`).
struct Entry {
  std::string name;
  NodeId value;
  std::vector<const VarGroup *> groups;  // its arguments, or the params for the objective
  std::vector<NodeId> vars;              // the groups' elements, flattened, in order
  bool objective = false;
};

/// Every scalar entry of the program: the bare expression alone, or the functions in declaration
/// order and then the objective. Non-scalar functions are left out (with a note if `noteSkipped`).
std::vector<Entry> allEntries(const Invocation &inv, const LoweredProgram &program,
                              bool noteSkipped);

/// The one entry `eval` and `graph` work on: --fn, or the only one there is.
std::optional<Entry> selectEntry(const Invocation &inv, const LoweredProgram &program,
                                 int &exitCode);

/// Whether `name` is a variable of `entry`: one of its groups or their elements, or a variable its
/// value uses (an objective's inputs).
bool knowsVariable(const Graph &graph, const Entry &entry, const std::string &name);

/// Resolves a list of variable names (--wrt, --vars) against an entry: a group name stands for
/// all of its elements, an element (`w[2]`) for itself. With `allowNew`, a name the entry does not
/// know becomes a fresh variable of the graph (its derivative is 0); otherwise it is an error.
/// An element named twice (`w,w[0]`) is a usage error, or with `dedupe` kept once, where it
/// first appears, with a warning.
std::optional<std::vector<NodeId>> resolveVars(const Invocation &inv, Graph &graph,
                                               const Entry &entry,
                                               const std::vector<std::string> &names, bool allowNew,
                                               std::string_view option, int &exitCode,
                                               bool dedupe = false);

/// `∂f/∂x`, `∂²f/∂x∂y`, `∂²f/∂x²`.
std::string partialName(const std::string &f, const std::string &x);
std::string secondPartialName(const std::string &f, const std::string &x, const std::string &y);

/// The shortest decimal that reads back as the same double; `nan`, `inf`, `-inf`.
std::string formatNumber(double v);

/// Writes `text` to `path`, or prints an error and returns false.
bool writeFile(const Invocation &inv, const std::string &path, const std::string &text);

/// Prints `label = EXPR` for each root (just `EXPR` for an empty label), naming the
/// subexpressions the roots share once, after `where`, when that makes the whole shorter.
void printRoots(const Graph &graph, const std::vector<std::string> &labels,
                const std::vector<NodeId> &roots, llvm::raw_ostream &os);

/// The roots of `d` (value, gradient, Hessian row-major: the interpreter's layout) computed by
/// code compiled in `session`: one function of `args`, whose first d.grad.size() entries are the
/// differentiated variables and the rest the other symbols the value reads (cmd_eval.cpp).
std::vector<double> evaluateCompiled(jit::Session &session, const Graph &graph,
                                     const std::string &name, const std::vector<SymbolId> &args,
                                     const Derivatives &d, const std::vector<double> &symbolValues);

/// The arguments of an entry's compiled code: its variables; for the objective then every input;
/// then any other variable its value reads (cmd_ir.cpp).
std::vector<SymbolId> entryArguments(const LoweredProgram &program, const Entry &entry);

/// The optimized LLVM IR (`inv.assembly`: the host's assembly) of the entry's value entry point
/// (`inv.grad`: value and gradient), at `inv.optLevel` and `inv.fastMath`. Prints the error and
/// returns nothing when it cannot be compiled (cmd_ir.cpp).
std::optional<std::string> entryPointText(const Invocation &inv, LoweredProgram &program,
                                          const Entry &entry);

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
/// The help texts of `fit` and `predict` (their option tables live in their files).
std::string_view fitDetails();
std::string_view predictDetails();
int runRepl(Invocation &inv);

}  // namespace nabla::cli
