// The driver: nabla's one front door. Every way in — the CLI's commands, the REPL, `fit` and
// `predict`, the C++ and C embedding APIs — turns text into something callable through this header
// and nothing else of compiler/, so that a limit, an error kind or a default is decided here once:
//
//   read the text (bounded)  ->  Program::load (parse, lower)  ->  entries() / entry(name)
//     ->  differentiate (under the same limits)  ->  Jit::compile (in-process code)
//                                                 or compileLibrary (a shared library with a C ABI)
//
// Problems with the input are values: a load that fails throws Error, whose kind says what went
// wrong and which carries the diagnostics (file, line, column, message, notes); a program that
// loads keeps its warnings; jobs that have something to say besides their result return Messages.
// An Error of kind Internal is only ever a bug in nabla.
//
// The program's data (the graph, its params, inputs, functions) is shared as the types of
// sema/lowered.h: reading it is fine, but the stages below (parse, sema, diff, simplify, codegen,
// jit) are reached only through the calls here. docs/architecture.md draws the picture.
#pragma once

#include "jit/compiled_function.h"  // jit::CompiledFunction: the handle of compiled code
#include "parse/ast.h"              // ast::StmtKind: what kind of statement
#include "parse/parse.h"            // ParseLimits' defaults
#include "pipeline.h"               // Derivatives
#include "sema/lowered.h"           // the program's data
#include "sema/sema.h"              // LowerOptions' defaults
#include "source/source.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace nabla::driver {

// --- Limits, options, errors --------------------------------------------------------------------

/// Limits that keep untrusted text from exhausting the machine. Every entry point takes them; the
/// defaults are the stages' own (16 MiB, 256 levels, 4M nodes, 1M elements).
struct Limits {
  std::size_t maxSourceBytes = ParseLimits{}.maxSourceBytes;  // the text, in bytes
  unsigned maxNesting = ParseLimits{}.maxNesting;             // parentheses and brackets
  std::size_t maxNodes = LowerOptions{}.maxNodes;  // the graph; the Hessian's entries and sweeps
  std::size_t maxArray = LowerOptions{}.maxArrayElements;  // elements of one array
};

struct Options {
  Limits limits;
  /// Simplify functions and their derivatives (the rules never change a value).
  bool simplify = true;
  /// Print every rewrite of the simplifier to stderr (`--trace=rewrites`).
  bool traceRewrites = false;
  /// Lower only the declarations at load (params, inputs, consts: what `fit` needs before the
  /// data), leaving the definitions, functions, the objective and the reports to the array level,
  /// which reads the syntax tree itself (compileArrays), or to Program::complete(). A large model
  /// then never unrolls to scalars. Errors in what is left out are found by complete().
  bool deferBodies = false;
  /// A flag that stops the program's long jobs once set (by a signal handler, another thread):
  /// differentiate, value, simplify, Jit::compile and compileOutputs in the calling thread,
  /// entryPointCode and compileLibrary look at it between their stages and inside their long
  /// loops (the reverse sweep, the simplifier's sweeps, LLVM's passes) and throw
  /// Error(Interrupted). The program stays usable (its graph keeps the nodes made so far). What
  /// cannot stop: LLVM's code generation of one function (at most a part of a split one), parsing
  /// and lowering (bounded by Limits). Null: nothing stops them.
  const std::atomic<bool> *cancel = nullptr;
};

/// What went wrong. The front ends map it to their own vocabulary: an exit status, a C status, a
/// Python exception.
enum class ErrorKind {
  Syntax,    // the text does not parse
  Semantic,  // it parses but means nothing (unknown names, shapes, arity, a name a library cannot export)
  Limit,     // beyond a limit of Limits, a derivative too large to print, code too large to compile
  NotFound,  // no function, objective or definition of that name
  Io,        // a file that cannot be read or written, a tool that cannot run
  Interrupted,  // Options::cancel was set while the job ran
  Internal,  // a bug in nabla, or a failure inside LLVM
};
/// "syntax", "semantic", "limit", "not found", "I/O", "interrupted", "internal".
std::string_view toString(ErrorKind kind);

/// The one error type of the driver. what() is the whole rendered text (without colour): for
/// located problems `file:line:col: error: message` lines with the source line and a caret, else
/// one sentence that names its subject.
class Error : public std::runtime_error {
public:
  /// One sentence, no location.
  Error(ErrorKind kind, const std::string &message);
  /// Located diagnostics in `buffer` (errors with their notes, and any warnings before them).
  Error(ErrorKind kind, std::shared_ptr<const SourceBuffer> buffer,
        std::vector<Diagnostic> diagnostics);

  ErrorKind kind() const noexcept { return kind_; }
  /// The diagnostics (empty for a one-sentence error), in the buffer's offsets.
  const std::vector<Diagnostic> &diagnostics() const noexcept { return *diagnostics_; }
  /// The text they are located in (null for a one-sentence error).
  const std::shared_ptr<const SourceBuffer> &buffer() const noexcept { return buffer_; }
  /// The sentence of a one-sentence error, else the first error's message.
  const std::string &message() const noexcept { return *message_; }
  /// what(), in colour when asked.
  std::string render(bool color) const;

private:
  ErrorKind kind_;
  std::shared_ptr<const SourceBuffer> buffer_;
  std::shared_ptr<const std::vector<Diagnostic>> diagnostics_;  // shared: copies never throw
  std::shared_ptr<const std::string> message_;
};

/// Something a job has to say besides its result: a note or a warning without a location (a
/// function left out, a variable a function does not use). Front ends print it their way.
struct Message {
  Severity severity = Severity::Note;
  std::string text;
};

// --- Sources ------------------------------------------------------------------------------------

/// Text to load, and how: a file holds statements only; an expression (a command-line argument,
/// the C++ API's text) may also be a bare expression.
struct Source {
  std::shared_ptr<const SourceBuffer> buffer;
  bool isFile = false;
};

/// The file at `path`: at most limits.maxSourceBytes (read in chunks, never all of a huge file).
/// Throws Error: Io (missing, unreadable, a directory, not a regular file), Limit (too large; the
/// message names `raiseHint`, e.g. "--max-source-bytes").
Source readFile(const std::string &path, const Limits &limits,
                std::string_view raiseHint = "--max-source-bytes");
/// Standard input, named `<stdin>`, under the same limit.
Source readStandardInput(const Limits &limits, bool isFile);
/// Text given directly, named `name` (`<expr>`). Throws Error(Limit) beyond the limit.
Source fromText(std::string name, std::string text, bool isFile, const Limits &limits,
                std::string_view raiseHint = "--max-source-bytes");

/// How a command-line argument names its input.
enum class ArgumentKind {
  ExpressionOrFile,  // `-` is standard input; an existing file, or anything that looks like a
                     // path (`samples/seed`, `model.nabla`, `./m`), is a file; the rest is text
  File,              // always a file (or `-`)
};
/// The input an argument names. A path-like argument that names no file is an Io error that says
/// so (never an expression that divides `samples` by `seed`).
Source readArgument(const std::string &argument, ArgumentKind kind, const Limits &limits);
/// Whether `argument` reads as a path rather than an expression (see ArgumentKind).
bool looksLikePath(std::string_view argument);

// --- Programs -----------------------------------------------------------------------------------

/// One scalar function to differentiate, evaluate or compile: a bare expression (`f`), a user
/// function, or the objective. Points into the Program it came from.
struct Entry {
  enum class Kind { Expression, Function, Objective };
  Kind kind = Kind::Function;
  std::string name;                       // `f`, the function's name, or objectiveName()
  NodeId value;                           // invalid for an expression that is not a scalar
  std::vector<const VarGroup *> groups;   // its arguments, or the params of the objective
  std::vector<NodeId> vars;               // the groups' elements, flattened, in order
  SourceRange range;                      // its definition
  bool isObjective() const { return kind == Kind::Objective; }
};

/// A param or input declaration as the front ends show it: its name, shape, place among all the
/// params (or inputs), its elements' names (`w`; `w[0]`, `W[1][2]`, row-major) and, for an input,
/// its data columns (`from (a, b, c)`, or the defaults `y`; `x0, x1, x2`; with columnRange,
/// `from (first .. last)`, only the first and the last).
struct VariableInfo {
  std::string name;
  Shape shape;
  std::size_t offset = 0;
  std::vector<std::string> elements;
  std::vector<std::string> columns;
  bool columnRange = false;
  std::size_t size() const { return elements.size(); }
};

/// The variables a derivative is taken with respect to, as resolved from names.
struct Variables {
  std::vector<NodeId> nodes;
  std::vector<std::string> names;  // the graph's names of the nodes (`x`, `w[2]`)
  std::vector<Message> messages;   // warnings: unused names, names given twice
};

/// Where a statement is and what it declares (for the REPL, which replaces statements by name).
struct StatementInfo {
  ast::StmtKind kind = ast::StmtKind::Bare;
  SourceRange range;
  std::string name;  // what it declares; empty for an expression and the objective
  /// For an expression that is a call `f(a, b)`: the callee and its arguments' ranges.
  std::optional<std::string> callee;
  std::vector<SourceRange> callArgs;
};

/// Splits text into statements (parsing them, without lowering). With `allowExpressions`, bare
/// expressions are statements too. Throws Error (Syntax, Limit) with every parse error.
std::vector<StatementInfo> parseStatements(const SourceBuffer &buffer, bool allowExpressions,
                                           const Options &options);

/// A loaded program: the text, the checked and lowered program (its graph grows as derivatives
/// are built), its warnings. Movable, not copyable. Jobs that build nodes are not thread-safe;
/// compiled code made from it is.
class Program {
public:
  /// How the text is read.
  enum class Form {
    Statements,   // a file: statements only
    Expression,   // a bare expression or statements (a command-line argument, API text)
    Session,      // statements and, from `expressionBegin` on, exactly one expression that sees
                  // their names (the REPL)
  };

  /// Parses and lowers. Throws Error (Syntax, Semantic, Limit) with all the diagnostics, warnings
  /// included; on success warnings() has the warnings.
  static Program load(const Source &source, const Options &options);
  static Program load(std::shared_ptr<const SourceBuffer> buffer, Form form,
                      const Options &options, std::uint32_t expressionBegin = 0);

  Program(Program &&) noexcept;
  Program &operator=(Program &&) noexcept;
  ~Program();

  const Options &options() const;
  const SourceBuffer &source() const;
  const std::shared_ptr<const SourceBuffer> &sourceBuffer() const;
  const std::vector<Diagnostic> &warnings() const;
  /// The warnings as the renderer prints them (empty when there are none).
  std::string renderWarnings(bool color) const;
  const LoweredProgram &lowered() const;
  const Graph &graph() const;
  /// Whether the load left the bodies out (Options::deferBodies) and complete() has not run:
  /// lowered() then has the declarations, the objective's kind (no node) and the reports' names.
  bool deferred() const;
  /// Lowers the whole program when the load deferred it (nothing otherwise). Throws Error as load
  /// does, with every diagnostic.
  void complete();
  /// Whether the program defines functions (`f(x) = ...`): entry points that the scalar level
  /// compiles, so that a deferred program needs complete() for them.
  bool hasFunctions() const;

  // Entries.
  /// Every scalar entry: the bare expression alone, or the functions in declaration order and
  /// then the objective.
  std::vector<Entry> entries() const;
  /// Notes for what entries() leaves out: functions (or the expression) whose value is an array.
  std::vector<Message> skippedEntries() const;
  /// The entry called `name` (a function before the objective of the same name). Throws
  /// Error(NotFound), with "did you mean" or the names there are, or when it is not a scalar.
  Entry entry(std::string_view name) const;
  /// The only entry. Throws Error(NotFound) when there is none or several (`chooseHint` says how
  /// to choose: "choose one with --fn NAME").
  Entry onlyEntry(std::string_view chooseHint) const;
  std::optional<Entry> objective() const;
  /// The params and the inputs, in declaration order.
  std::vector<VariableInfo> params() const;
  std::vector<VariableInfo> inputs() const;
  /// `L`, unless a function has that name: then `loss`, `objective`, `minimize`.
  std::string objectiveName() const;
  /// The arguments of an entry's compiled code: its variables; for the objective then every
  /// input; then any other variable its value reads.
  std::vector<SymbolId> arguments(const Entry &entry) const;
  /// Whether `name` names a variable of the entry: an argument, an element, or a variable its
  /// value reads (an objective's inputs).
  bool hasVariable(const Entry &entry, std::string_view name) const;

  // Derivatives.
  /// Resolves names (`x`, an array `w` for all its elements, an element `w[2]`) to variables of
  /// the entry, in order. A name the entry does not have becomes a fresh variable (its
  /// derivatives are 0) with a warning naming it (and "did you mean" when one is close); a
  /// variable named twice is kept once, where it first appears, with a warning. `option` names
  /// the list in messages ("--wrt", "wrt").
  Variables resolveVariables(const Entry &entry, const std::vector<std::string> &names,
                             std::string_view option);
  /// Value, gradient with respect to `vars` (the entry's own by default) and, when asked, the
  /// Hessian, simplified per options(). Everything is bounded by limits().maxNodes. Throws
  /// Error(Limit) before the work when the Hessian would exceed it, naming the entry.
  Derivatives differentiate(const Entry &entry, const std::vector<NodeId> &vars, bool hessian);
  Derivatives differentiate(const Entry &entry, bool hessian);
  /// Adds the Hessian-vector product H v to `d` (differentiate()'s, over `vars`): d.hvp, one entry
  /// per var, and d.direction, the variables of v (named `dir(x)` after each var: no name of the
  /// language), which the code takes after the entry's arguments. Its size is a few times the
  /// gradient's, whatever the number of vars. Throws Error (Interrupted).
  void addHessianVectorProduct(const Entry &entry, const std::vector<NodeId> &vars, Derivatives &d);
  /// The structural nonzeros of the Hessian of `value` (an entry's, simplified or not) with
  /// respect to `vars`, read off the graph in time about linear in it and the nonzeros.
  HessianPattern hessianPattern(NodeId value, const std::vector<NodeId> &vars) const;
  /// Adds the sparse Hessian to `d` (differentiate()'s, over `vars`): d.pattern, its structural
  /// nonzeros read off the graph, and the way to its values, whichever the pattern favours
  /// (nabla::addSparseHessian): d.sparseHessian, one node per nonzero made by star colouring (a
  /// few sweeps over the gradient, whatever the number of vars), or d.sparseProducts, one
  /// Hessian-vector product per colour at run time (sparseHessianByProducts; d.hvp is added
  /// then). Throws Error (Limit: beyond limits().maxNodes, naming the entry; Interrupted).
  void addSparseHessian(const Entry &entry, const std::vector<NodeId> &vars, Derivatives &d);
  /// The value alone, simplified per options() (no derivative built).
  Derivatives value(const Entry &entry);
  /// Simplifies roots together (per options(); unchanged when simplification is off).
  std::vector<NodeId> simplify(const std::vector<NodeId> &roots);
  /// The nodes reachable from the roots, shared nodes counted once.
  std::size_t nodeCount(const std::vector<NodeId> &roots) const;

  // Outputs (values of any shape: definitions and reports).
  /// The definitions and reports called `names` (all definitions when empty), in order. Throws
  /// Error(NotFound) with "did you mean".
  std::vector<const NamedValue *> outputs(const std::vector<std::string> &names) const;

  /// The program's internals, for the driver's own files.
  struct Impl;
  Impl &impl() { return *impl_; }
  const Impl &impl() const { return *impl_; }

private:
  explicit Program(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Every built-in function's name and the language's keywords (completion, "did you mean").
const std::vector<std::string> &builtinNames();
const std::vector<std::string> &keywords();

// --- The interpreter and the printer ------------------------------------------------------------

/// The roots' values by the reference interpreter, given one value per graph symbol.
std::vector<double> evaluate(const Program &program, const std::vector<NodeId> &roots,
                             std::span<const double> symbolValues);

/// Why the value or a gradient entry of `d` is not finite for these argument values (one per
/// `args`, the others NaN): the first node of the graph, in evaluation order, whose value is not
/// finite, printed as nabla text (or as its operation with its operands' values when long), and
/// whether it belongs to the value or only to the gradient. Empty when every value is finite.
std::optional<std::string> explainNonFinite(const Program &program, const Derivatives &d,
                                            std::span<const SymbolId> args,
                                            std::span<const double> argValues);

/// One self-contained expression per root, as nabla text. Throws Error(Limit) when the text of
/// all of them would exceed 128 MiB (a DAG can stand for an exponentially larger tree), naming
/// `what` ("the derivatives of 'f'").
std::vector<std::string> printExprs(const Program &program, const std::vector<NodeId> &roots,
                                    const std::string &what);
/// `label = EXPR` per root (`EXPR` for an empty label), one per line, naming the subexpressions
/// the roots share once, after `where`, when that makes the whole shorter.
std::string printRoots(const Program &program, const std::vector<std::string> &labels,
                       const std::vector<NodeId> &roots);
/// Graphviz DOT of everything the roots reach, the roots labelled.
std::string printDot(const Program &program, const std::vector<NodeId> &roots,
                     const std::vector<std::string> &rootNames);

// --- Derivatives as text (`nabla diff`) ---------------------------------------------------------

/// `∂f/∂x`, `∂²f/∂x∂y`, `∂²f/∂x²`: how text labels derivatives.
std::string partialName(const std::string &f, const std::string &x);
std::string secondPartialName(const std::string &f, const std::string &x, const std::string &y);

/// What diffText prints: `nabla diff`'s options, which the Python module's diff() takes too.
struct DiffRequest {
  std::string function;          // only this entry (`--fn`); empty: every entry
  std::vector<std::string> wrt;  // the variables, in this order; empty: each entry's own
  std::string wrtOption = "--wrt";  // how messages about `wrt` name it
  bool hessian = false;  // also the Hessian: its upper triangle as text, all of it as JSON
  bool json = false;     // one self-contained expression per derivative, as a JSON object
  bool sparsity = false;  // instead of the derivatives, the Hessian's sparsity pattern (docs/cli.md)
};
/// The text `nabla diff` prints for a program: `∂f/∂x = ...` lines per entry (blank lines between
/// entries, shared subexpressions named after `where`), or with `json` one JSON object and a
/// newline. Notes and warnings (entries left out, unused or repeated `wrt` names, an entry without
/// variables) are appended to `messages` as they arise, so that they are there when it throws.
/// Throws Error: NotFound (no such function), Semantic (nothing to differentiate), Limit (a
/// Hessian beyond the node limit, JSON text beyond 128 MiB).
std::string diffText(Program &program, const DiffRequest &request, std::vector<Message> &messages);

// --- The JIT ------------------------------------------------------------------------------------

/// Compiled code: value, value+gradient (one fused call), Hessian and the batched kernels, as
/// plain function pointers behind a handle that owns them (compiler/jit/compiled_function.h).
using Code = jit::CompiledFunction;
/// Compiled outputs: any roots as one array-valued function (one call computes them all) of
/// params and per-row inputs, and their means over rows of data.
using Outputs = jit::CompiledOutputs;
using TableRows = jit::TableRows;

struct JitOptions {
  enum class Tier {
    FirstOnly,  // nabla's baseline code (or LLVM at O0), ready at once: a few calls (eval, REPL)
    Optimized,  // LLVM at optLevel, compiled in the calling thread before compile() returns
    Tiered,     // the first tier at once, the optimized one in the background, swapped in
  };
  Tier tier = Tier::Tiered;
  int optLevel = 2;      // 0..3
  bool fastMath = false;
  unsigned threads = 0;  // of batched kernels (0: one per hardware thread)
  /// The compile cache's folder (docs/jit.md, "The compile cache"): LLVM's objects are kept
  /// there and loaded again for the same code. Unset: NABLA_CACHE_DIR, else with NABLA_CACHE=1
  /// the XDG cache ($XDG_CACHE_HOME/nabla or ~/.cache/nabla), else no cache; empty: no cache.
  std::optional<std::string> cacheDir;
};

/// What one compile() makes.
struct CodeOptions {
  /// The batched kernels over rows of the arguments that are not differentiated.
  bool batched = false;
  /// The map kernels: the value, value and gradient and Hessian over many points, vectorized
  /// across points (jit::CompiledFunction::map), compiled with the final tier.
  bool mapped = false;
  /// Instead of the Jit's level (0..3), for this code.
  std::optional<int> optLevel;
};

/// An LLVM ORC session and the code compiled in it. Thread-safe: compile() may run on several
/// threads at once.
class Jit {
public:
  /// Throws Error(Internal) when LLVM cannot set up the JIT for this host. An optLevel outside
  /// 0..3 is a bug of the caller (Internal): front ends check their own input first.
  explicit Jit(const JitOptions &options = {});
  ~Jit();
  Jit(const Jit &) = delete;
  Jit &operator=(const Jit &) = delete;

  const JitOptions &options() const;
  /// `d` as a function of `args` (the first d.grad.size() are the differentiated ones, in order;
  /// the rest are read, like an objective's inputs). `name` names it in messages. Throws
  /// Error(Internal).
  Code compile(const Program &program, std::string_view name, std::span<const SymbolId> args,
               const Derivatives &d, const CodeOptions &options = {});
  /// `roots` as one array-valued function of `args`, of which the first `paramCount` are the
  /// same for every row (params) and the rest are read per row (with options.batched, their
  /// means over rows). Throws Error(Internal).
  Outputs compileOutputs(const Program &program, std::string_view name,
                         std::span<const SymbolId> args, std::size_t paramCount,
                         std::span<const NodeId> roots, const CodeOptions &options = {});
  /// Whether the first tier is nabla's baseline code generator (for `:time`'s column).
  bool baselineFirstTier() const;
  /// Objects loaded from the compile cache, and objects compiled with the cache on.
  std::size_t cacheHits() const;
  std::size_t cacheMisses() const;
  /// Why the cache's folder is not used (it belongs to another user, others can write to it, it
  /// cannot be made); empty when the cache is off or in use.
  const std::string &cacheProblem() const;
  /// Stops the background compilation (a process-wide Jit calls it before the process exits).
  void stopBackground();
  /// Compiles and runs a small function once (LLVM's lazily made static state exists after it;
  /// see jit::warmUp).
  void warmUp();

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The optimized LLVM IR (with `assembly`, the host's assembly) of an entry's value entry point
/// (with `grad`, value and gradient) over `arguments(entry)`, as the JIT compiles it for this
/// machine. Throws Error (Limit, Internal).
std::string entryPointCode(Program &program, const Entry &entry, bool grad, bool assembly,
                           int optLevel, bool fastMath);

/// How a second-order method gets the Hessian.
enum class HessianForm {
  Dense,   // all n^2 entries (Cholesky of a dense matrix)
  Sparse,  // the structural nonzeros in compressed rows (a sparse LDL^T)
};
/// The form to use for n variables whose Hessian has `nonzeros` structural nonzeros: dense up to
/// kDenseHessianSize variables, or when more than a quarter of the entries are nonzero (a sparse
/// factorization then fills in to about the dense one); sparse otherwise.
HessianForm chooseHessianForm(std::size_t n, std::size_t nonzeros);
inline constexpr std::size_t kDenseHessianSize = 100;
/// "dense", "sparse".
std::string_view toString(HessianForm form);

// --- The array level ---------------------------------------------------------------------------

/// The rows of a batch for ArrayCode: `count` rows of `columns` (one per input element), or, when
/// `table` is set, rows picked from a row-major table as in TableRows.
struct ArrayRows {
  std::size_t count = 0;
  std::span<const double *const> columns;
  const double *table = nullptr;
  std::size_t stride = 0;
  const std::uint64_t *index = nullptr;
};

/// A program's objective, its gradient and its reports at the array level (compiler/array/):
/// arrays stay arrays, differentiated by each operation's transpose rule, and a batch of rows is
/// evaluated at once, its matrix products in BLAS. Nothing is compiled by LLVM: it is ready at
/// once, which pays on large arrays (neural networks), where the scalar level unrolls every
/// element. Not thread-safe (it keeps its buffers between calls); it refers to nothing of the
/// Program it came from.
class ArrayCode {
public:
  ArrayCode(ArrayCode &&) noexcept;
  ArrayCode &operator=(ArrayCode &&) noexcept;
  ~ArrayCode();
  /// The scalar operations the scalar level unrolls the objective and reports to (an estimate of
  /// the scalar level's size, to choose between the two).
  std::size_t unrolledSize() const;
  std::size_t paramCount() const;
  /// The objective's mean over the rows (its value, without rows), and its mean gradient into
  /// `grad` (paramCount() entries).
  double objective(std::span<const double> params, const ArrayRows &rows, std::span<double> grad);
  /// The sums (not the means) over the rows: sums[0] of the objective, sums[1 + i] of gradient
  /// entry i (1 + paramCount() entries); an objective without rows counts once per row.
  void objectiveSums(std::span<const double> params, const ArrayRows &rows, std::span<double> sums);
  /// The mean of every element of every report over the rows, in order.
  void reports(std::span<const double> params, const ArrayRows &rows, std::span<double> out);
  /// The structural nonzeros of the objective's Hessian over all params (made on the first call;
  /// the union over rows, which does not depend on the data). Throws Error(Limit) where it
  /// has more pairs of params than the program's limits allow (8 per node of Limits::maxNodes,
  /// as `nabla diff --sparsity`), or its sweep meets kPatternWorkPerPair times that.
  const HessianPattern &hessianPattern();
  /// newton's Hessian: `asked`, else chooseHessianForm's choice. The pattern's sweep stops once
  /// it has n²/4 pairs (the pattern alone would then take about a quarter of the dense
  /// matrix's memory) and the form is dense, without a colouring of a nearly complete graph
  /// (about n³). A dense form past the limit on a Hessian's entries (Limits::maxNodes, as the
  /// scalar level's symbolic Hessian: 2048 params by default) throws Error(Limit), naming
  /// newton-cg; so does a sweep that the pattern's own limit (hessianPattern's) stops before
  /// its n²/4 budget or before a sparse form asked for has its pattern: the Hessian may be
  /// sparse, and only a higher limit would tell. `pattern`: hessianPattern() where it was made,
  /// else null.
  struct HessianChoice {
    HessianForm form = HessianForm::Dense;
    const HessianPattern *pattern = nullptr;
  };
  HessianChoice chooseHessian(std::optional<HessianForm> asked);
  /// The mean over the rows of the dense Hessian (row-major, paramCount()² entries): up to
  /// kDenseHessianSize params with a pattern, its sparse Hessian; otherwise column j is H e_j,
  /// one product per param.
  void denseHessian(std::span<const double> params, const ArrayRows &rows, std::span<double> out);
  /// The mean over the rows of the Hessian's nonzeros, in hessianPattern()'s order, into
  /// `values`: one Hessian-vector product per colour of a star colouring of the pattern, each
  /// entry recovered directly. Throws Error(Semantic) as hvp() does.
  void sparseHessian(std::span<const double> params, const ArrayRows &rows,
                     std::span<double> values);
  /// The colours sparseHessian() uses (its Hessian-vector products per call).
  std::size_t hessianColours();
  /// The mean over the rows of H v, the objective's Hessian at `params` times `v` (paramCount()
  /// entries each), into `out`: the derivative of the gradient along v (forward mode over the
  /// gradient's graph, a few times its cost whatever paramCount()), made on the first call.
  /// Throws Error(Semantic) when a node of the program has no forward rule.
  void hvp(std::span<const double> params, std::span<const double> v, const ArrayRows &rows,
           std::span<double> out);
  /// Makes hvp()'s code now rather than on its first call (for a caller that will need it, so
  /// that the time counts as compiling). Throws Error(Semantic) as hvp() does.
  void prepareHvp();
  /// The most memory the values that depend on the rows take at once (default 64 MiB): a larger
  /// batch is evaluated in chunks of rows, its sums added in chunk order.
  void setChunkBytes(std::size_t bytes);
  /// The loops of elementwise work that LLVM compiled (0: the executor interprets every node).
  std::size_t fusedLoops() const;

  struct Impl;

private:
  friend std::optional<ArrayCode> compileArrays(const Program &, unsigned, std::string *);
  explicit ArrayCode(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// The objective's gradient with respect to each param array, per row, in matrix notation and the
/// language's own syntax (`∂L/∂W1 = outer(t2, x)`, `∂L/∂b1 = t2`, then `where` and the shared
/// subexpressions), from the array level: one line per param however large. Nothing, with the
/// reason in `*whyNot`, when the array level cannot take the program.
std::optional<std::string> printArrayGradient(const Program &program, std::string *whyNot = nullptr);

/// A sparse Hessian's values (d.pattern's order) from d.sparseProducts: one call of `hvp` (H v at
/// the caller's point) per colour along its indicator, each nonzero then read from one of the
/// products (nabla::sparseHessianByProducts).
void sparseHessianByProducts(const Derivatives &d, const HessianProduct &hvp,
                             std::span<double> values);

/// Objectives whose objective and reports unroll to at least this many scalar operations
/// (ArrayCode::unrolledSize) run at the array level wherever a front end has the choice (`nabla
/// fit` in --jit auto and optimized, the C++ and C APIs' objective without Hessians): no LLVM
/// before the first evaluation, and the products of a batch in BLAS. Logistic regression over 16
/// or 30 features (36 and 131 operations) trains fastest unrolled (bench/fit.sh); the digits MLP
/// (2,525) trains 7x faster at the array level than in the scalar baseline and starts 16,000x
/// sooner than LLVM's O2 (bench/mlp.sh, bench/threshold.sh, bench/RESULTS.md).
inline constexpr std::size_t kArrayLevelSize = 1000;

/// The array level's code for the program's objective when it is the level to use: the array
/// level takes the program and it unrolls to at least kArrayLevelSize operations (or `force`).
/// Nothing otherwise, with the reason in `*whyNot` when the array level cannot take it.
std::optional<ArrayCode> arrayLevelFor(const Program &program, unsigned threads, bool force = false,
                                       std::string *whyNot = nullptr);

/// The program's objective and reports at the array level, with `threads` threads for BLAS (0:
/// one per hardware thread), or nothing, with the reason in `*whyNot`, when the program uses what
/// the array level does not have yet (the scalar level then serves it).
std::optional<ArrayCode> compileArrays(const Program &program, unsigned threads,
                                       std::string *whyNot = nullptr);

// --- Libraries (ahead of time) ------------------------------------------------------------------

struct LibraryOptions {
  enum class Emit { SharedLibrary, Object, Assembly, LlvmIr };
  Emit emit = Emit::SharedLibrary;
  /// The library's file name (its soname: `libseed.so`); the module's name (`seed`: header
  /// guard, macros) is derived from it.
  std::string fileName = "libmodule.so";
  bool hessian = true;
  /// The Hessian-vector products NAME_hvp(args..., v, hv) and nabla_objective_hvp (at the array
  /// level too, where its forward mode covers the objective).
  bool hvp = true;
  int optLevel = 2;
  bool fastMath = false;
  /// Which level computes the objective (docs/aot.md): Auto takes the array level for a program
  /// that unrolls to kArrayLevelSize operations or more, when its Hessian is not wanted or would
  /// be beyond the node limit, and for a library (not for `emit` of an object); Array takes it
  /// whenever it can (Semantic error with the reason otherwise; for a library only); Scalar never.
  enum class Level { Auto, Scalar, Array };
  Level level = Level::Auto;
  /// The C compiler driver that links: its words (`ccache gcc`), and where they came from for
  /// messages (`$CC`). Empty: $CC, else `cc`.
  std::vector<std::string> linker;
  std::string linkerOrigin;

  /// Trained params to bake in (`nabla compile --params`, docs/aot.md "Baked params"). Set: every
  /// param is the constant of `values`; each scalar definition (`p = ...`) and each function is
  /// exported as a function of the inputs (arguments) it reads alone, and the objective is left
  /// out (its params are fixed). An input of `standardize` is scaled inside, (x - mean) / scale
  /// per element, as `nabla predict` scales the data, so a host passes the raw values.
  struct BakedParams {
    std::string source;          // the params file's name, for the header and the description
    std::vector<double> values;  // every param element, in declaration order, arrays row-major
    struct Standardized {
      std::string input;              // an input's name
      std::vector<double> mean, scale;  // one per element
    };
    std::vector<Standardized> standardize;
  };
  std::optional<BakedParams> baked;
};

/// A compiled library: its bytes, and what it can still write. It refers to the Program it was
/// made from, which must outlive it.
class Library {
public:
  Library(Library &&) noexcept;
  Library &operator=(Library &&) noexcept;
  ~Library();
  const std::string &bytes() const;
  /// Notes: functions left out (an array value, a variable that is not an argument).
  const std::vector<Message> &messages() const;
  /// The C header that declares the library, naming itself `headerName` in its comment.
  std::string header(const std::string &headerName) const;

  struct Impl;

private:
  friend Library compileLibrary(Program &, const LibraryOptions &);
  explicit Library(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// A program's scalar functions and its objective, ahead of time (docs/aot.md); with
/// options.baked, its scalar definitions and functions with the params baked in. Throws Error:
/// Semantic (nothing to export; a name that cannot be a C symbol, located at its definition;
/// baked params for a program without params, of the wrong count, or standardizing an input the
/// program does not have or with the wrong count),
/// Limit (a Hessian beyond the node limit; "--no-hessian leaves the Hessians out"), Io (the C
/// compiler driver missing or failing, with its output), Internal.
Library compileLibrary(Program &program, const LibraryOptions &options);

}  // namespace nabla::driver
