// nabla's C++ embedding API: compile nabla text at run time into native code (LLVM's ORC JIT) and
// call its value, gradient and Hessian.
//
//   nabla::Module m = nabla::compile("f(x, y) = (x^2 + y)^2 * (y - x*y)");  // throws nabla::Error
//   nabla::Function f = m.function("f");
//   double v = f(0.5, -0.5);
//   auto [value, grad] = f.value_and_grad({0.5, -0.5});                     // grad: std::vector<double>
//
// The header needs only the C++20 standard library: the compiler stays inside libnabla.so. Names
// follow the standard library's style (snake_case), as host code expects of a library API.
//
// Ownership: Module, Function and Objective are cheap handles that share one immutable compiled
// program; copying one copies a reference. A Function or Objective keeps its code alive on its
// own, so it may outlive the Module it came from.
//
// Threads: every call on a Function or Objective is thread-safe (compiled code keeps no state, and
// nothing here changes after compile() returns), and compile() may run on several threads at once.
// All code of the process lives in one LLVM ORC (LLJIT) session per optimization level, created on
// first use and never destroyed (hosts may call functions held in their own statics during exit).
#pragma once

#include "nabla/export.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace nabla {

namespace detail {
struct Access;  // the library's own way to the handles' innards
}  // namespace detail

/// Everything this API throws. what() is the rendered text: for bad input the compiler's
/// diagnostics, `file:line:col: error: message` lines each followed by the source line and a
/// caret; otherwise one sentence that names its subject.
class NABLA_API Error : public std::runtime_error {
public:
  enum class Kind {
    Compile,      // the text has errors (see diagnostics())
    Io,           // a file that cannot be read
    NotFound,     // no function or objective of that name
    Argument,     // a call with the wrong number of values, a span of the wrong size
    Unavailable,  // compiled without it (Options::hessian off), or text too large to print
    Internal,     // a failure inside LLVM or a bug in nabla
  };
  enum class Severity { Error, Warning, Note };
  /// One message of the compiler, as structured data. Notes follow the message they belong to.
  struct Diagnostic {
    Severity severity = Severity::Error;
    std::string file;         // the source's name: a path, `<expr>` for text
    unsigned line = 0;        // 1-based; 0 when the message has no location
    unsigned column = 0;      // 1-based, in bytes
    std::string message;      // lower-case, no final period
  };

  Error(Kind kind, const std::string &what, std::vector<Diagnostic> diagnostics = {});
  Kind kind() const noexcept { return kind_; }
  /// Empty unless kind() is Compile (or Io, with the path as its file).
  const std::vector<Diagnostic> &diagnostics() const noexcept;

private:
  Kind kind_;
  std::shared_ptr<const std::vector<Diagnostic>> diagnostics_;  // shared: copies never throw
};

struct Options {
  /// LLVM's optimization level, 0 to 3 (-O0 compiles fastest, -O2 is the default).
  int opt_level = 2;
  /// LLVM's fast-math flags (reassociation, FMA contraction, no NaN/inf). Off: IEEE arithmetic,
  /// results equal nabla's interpreter to a few ulps.
  bool fast_math = false;
  /// Compile the Hessian of every function and of the objective. Off saves compile time;
  /// Function::hessian then throws Error::Kind::Unavailable.
  bool hessian = true;
  /// Compile the Hessian-vector product of every function and of the objective: H v for any v,
  /// a few times the gradient's cost whatever the number of variables (the Hessian itself is
  /// never formed). Off: Function::hvp and Objective::hvp throw Error::Kind::Unavailable.
  bool hvp = true;
  /// Run the simplifier on the function and its derivatives (its rules never change a value).
  bool simplify = true;
  /// The name diagnostics give the text passed to compile() (compile_file uses the path).
  std::string source_name = "<expr>";
  /// Limits for untrusted text; 0 keeps nabla's default (16 MiB, 256 levels, 4M nodes, 1M
  /// elements). Text beyond one is an Error::Kind::Compile whose message names the limit.
  std::size_t max_source_bytes = 0;
  unsigned max_nesting = 0;
  std::size_t max_nodes = 0;  // the graph, and the Hessian's entries and sweeps
  std::size_t max_array = 0;  // elements of one array
};

/// The structural nonzeros of a symmetric n x n matrix (a Hessian) in compressed sparse rows:
/// row i's entries are at columns[row_start[i]] .. columns[row_start[i + 1] - 1], ascending, both
/// triangles listed (entry (i, j) and (j, i) alike). The pattern is fixed when the code is made:
/// an entry outside it is 0 for every value of the variables.
struct SparsePattern {
  std::size_t n = 0;
  std::vector<std::int64_t> row_start{0};  // n + 1 entries, row_start[0] = 0
  std::vector<std::int64_t> columns;       // row_start[n] entries
  std::size_t nonzeros() const { return columns.size(); }
};

/// A group of scalars of the objective: one param or input declaration.
struct Variable {
  std::string name;                   // `w`
  std::vector<std::size_t> shape;     // {} scalar, {3} vector, {2, 3} matrix
  std::size_t offset = 0;             // index of its first scalar among all params (or inputs)
  std::size_t size = 1;               // number of scalars (product of the shape)
  std::vector<std::string> elements;  // the scalars' names, row-major: `w[0]`, `W[1][2]`
  /// Inputs only: the data columns, one per element (`from (a, b, c)`, or the defaults `y`;
  /// `x0, x1, x2`). With column_range (`from (first .. last)`) only first and last are listed.
  std::vector<std::string> columns;
  bool column_range = false;
};

/// A scalar function of the module: value, value and gradient in one call, Hessian. Arguments are
/// its scalar arguments in order, arrays flattened row-major (arg_names() lists them).
class NABLA_API Function {
public:
  Function() = default;  // holds nothing: every call throws Error::Kind::Internal

  const std::string &name() const;
  std::size_t arity() const;
  const std::vector<std::string> &arg_names() const;
  bool has_hessian() const;
  bool has_hvp() const;

  /// f(0.5, -0.5), f({0.5, -0.5}), f(span): the value. The wrong number of arguments throws
  /// Error::Kind::Argument.
  template <class... Args>
    requires(std::is_convertible_v<Args, double> && ...)
  double operator()(Args... args) const {
    const std::array<double, sizeof...(Args)> values{static_cast<double>(args)...};
    return value(std::span<const double>(values.data(), values.size()));
  }
  double operator()(std::initializer_list<double> args) const { return value(span(args)); }
  double operator()(std::span<const double> args) const { return value(args); }
  double value(std::span<const double> args) const;
  double value(std::initializer_list<double> args) const { return value(span(args)); }

  /// The value and the gradient (arity() entries) from one call that shares the forward pass.
  std::pair<double, std::vector<double>> value_and_grad(std::span<const double> args) const;
  std::pair<double, std::vector<double>> value_and_grad(std::initializer_list<double> args) const {
    return value_and_grad(span(args));
  }
  /// Without allocating: `grad` must have arity() entries. Returns the value.
  double value_and_grad(std::span<const double> args, std::span<double> grad) const;

  /// The Hessian, arity() x arity(), row-major.
  std::vector<double> hessian(std::span<const double> args) const;
  std::vector<double> hessian(std::initializer_list<double> args) const {
    return hessian(span(args));
  }
  void hessian(std::span<const double> args, std::span<double> hess) const;
  /// H v: the Hessian at `args` times `v` (arity() entries each), without forming the Hessian
  /// (the derivative of the gradient along v, a few times the gradient's cost). Throws
  /// Error::Kind::Unavailable when compiled without it (Options::hvp off).
  std::vector<double> hvp(std::span<const double> args, std::span<const double> v) const;
  void hvp(std::span<const double> args, std::span<const double> v, std::span<double> out) const;

  /// How the n points of a vectorized call, and its results, lie in memory (k = arity()).
  enum class Layout {
    /// Row-major: argument c of point r at points[r * k + c]; gradient entry i of point r at
    /// grads[r * k + i]; Hessian entry (i, j) of point r at hess[(r * k + i) * k + j] (an n x k
    /// array, as numpy's C order keeps a matrix of points).
    Rows,
    /// By column: argument c of point r at points[c * n + r]; gradient entry i of point r at
    /// grads[i * n + r]; Hessian entry (i, j) of point r at hess[(i * k + j) * n + r].
    Columns,
  };
  /// Vectorized calls over n points at once (what JAX calls vmap): the points are computed
  /// several at a time in SIMD lanes, and large n is split over threads (`threads` 0: one per
  /// hardware thread; 1: the calling thread only). A point's results do not depend on n, the
  /// layout or the threads, and equal those of the one-point calls above to an ulp or so: the
  /// vector math library (glibc's libmvec: exp, log, sin, pow, ...) may round differently from
  /// libm, and so may the one-point calls' first code until their optimized code is in;
  /// arithmetic alone, once both are optimized, gives the same bits. The vectorized code of each
  /// kind is compiled on its first call, in the calling thread (as JAX compiles on a first call;
  /// threads calling meanwhile wait for it). `points` holds n * arity()
  /// doubles, `values` n, `grads` n * arity(), `hess` n * arity()^2; a wrong size throws
  /// Error::Kind::Argument. The outputs must not overlap the points.
  void values(std::size_t n, std::span<const double> points, std::span<double> values,
              Layout layout = Layout::Rows, unsigned threads = 0) const;
  void values_and_grads(std::size_t n, std::span<const double> points, std::span<double> values,
                        std::span<double> grads, Layout layout = Layout::Rows,
                        unsigned threads = 0) const;
  /// Throws Error::Kind::Unavailable without the Hessian.
  void hessians(std::size_t n, std::span<const double> points, std::span<double> hess,
                Layout layout = Layout::Rows, unsigned threads = 0) const;

  /// The function and its symbolic derivatives as nabla text over arg_names(), simplified, each
  /// self-contained: the text `nabla diff --json` prints (hessian_text() is row-major, full).
  /// Throws Error::Kind::Unavailable without the Hessian, or when the text would exceed 128 MiB
  /// (a DAG can stand for an exponentially larger tree).
  std::string text() const;
  std::vector<std::string> gradient_text() const;
  std::vector<std::vector<std::string>> hessian_text() const;

  struct Impl;

private:
  friend struct detail::Access;
  static std::span<const double> span(std::initializer_list<double> args) {
    return {args.begin(), args.size()};
  }
  std::shared_ptr<const Impl> impl_;
};

/// The objective of a program (`minimize expr` or `maximize expr`): a per-row loss over the params
/// (what an optimizer changes) and the inputs (one value per data row). The value is the
/// expression as written: an optimizer negates it for maximize().
class NABLA_API Objective {
public:
  Objective() = default;  // holds nothing: every call throws Error::Kind::Internal

  /// `L` (or `loss`, `objective` when a function already has the name), as `nabla eval --fn`.
  const std::string &name() const;
  bool maximize() const;
  const std::vector<Variable> &params() const;  // declaration order
  const std::vector<Variable> &inputs() const;  // declaration order
  std::size_t param_count() const;               // scalars, all params together
  std::size_t input_count() const;               // scalars, all inputs together
  bool has_hessian() const;
  bool has_hvp() const;

  /// One row: the loss at `params` (param_count() values) and `inputs` (input_count() values).
  double value(std::span<const double> params, std::span<const double> inputs = {}) const;
  /// One row: the loss and its gradient over the params (param_count() entries).
  std::pair<double, std::vector<double>> value_and_grad(std::span<const double> params,
                                                        std::span<const double> inputs = {}) const;
  double value_and_grad(std::span<const double> params, std::span<const double> inputs,
                        std::span<double> grad) const;
  /// One row: the Hessian over the params, param_count() x param_count(), row-major.
  std::vector<double> hessian(std::span<const double> params,
                              std::span<const double> inputs = {}) const;
  /// One row: H v, the Hessian over the params times `v` (param_count() entries each), without
  /// forming the Hessian: the derivative of the gradient along v. Throws Error::Kind::Unavailable
  /// when compiled without it (Options::hvp off).
  std::vector<double> hvp(std::span<const double> params, std::span<const double> v,
                          std::span<const double> inputs = {}) const;
  /// The mean of H v over a batch of n >= 1 rows of `columns` (as batch()), into `out`.
  void hvp_batch(std::span<const double> params, std::span<const double> v, std::size_t n,
                 std::span<const double *const> columns, std::span<double> out) const;
  /// The structural nonzeros of the Hessian over the params, read off the graph in time about
  /// linear in it (the same for every row), on the first call.
  const SparsePattern &hessian_sparsity() const;
  /// One row: the Hessian's nonzeros in hessian_sparsity()'s order. At the array level, one
  /// Hessian-vector product per colour of a star colouring of the pattern (a handful for a
  /// banded Hessian, whatever the number of params); at the scalar level, read from the
  /// compiled Hessian (Error::Kind::Unavailable without it).
  std::vector<double> sparse_hessian(std::span<const double> params,
                                     std::span<const double> inputs = {}) const;
  /// The mean of the nonzeros over a batch of n >= 1 rows (as batch()), into `values`.
  void sparse_hessian_batch(std::span<const double> params, std::size_t n,
                            std::span<const double *const> columns, std::span<double> values) const;

  /// A batch of n >= 1 rows: returns the mean loss and writes the mean gradient over the params
  /// to `grad` (param_count() entries). `columns` holds one pointer per scalar input, in input
  /// order, each to n doubles (row r of input k is columns[k][r]).
  double batch(std::span<const double> params, std::size_t n,
               std::span<const double *const> columns, std::span<double> grad) const;
  /// The sums, not the means, over rows begin <= r < end of the same columns: sums[0] of the
  /// loss, sums[1 + i] of gradient entry i (1 + param_count() entries). Disjoint ranges may run
  /// on several threads at once; adding their sums and dividing by the row count gives batch()'s
  /// results up to rounding (a host that splits its rows over threads or processes).
  void batch_sums(std::span<const double> params, std::size_t begin, std::size_t end,
                  std::span<const double *const> columns, std::span<double> sums) const;

  struct Impl;

private:
  friend struct detail::Access;
  std::shared_ptr<const Impl> impl_;
};

/// A compiled program: its scalar functions and its objective, all compiled when the Module is
/// made. A bare expression (`x^2 + y`) is one function named `f` whose arguments are its free
/// variables in order of first appearance, as on nabla's command line.
class NABLA_API Module {
public:
  Module() = default;  // holds nothing: no functions, no objective

  /// The source's name: `<expr>` (Options::source_name) or the file's path.
  const std::string &name() const;
  /// The scalar functions, in declaration order (`f` for a bare expression). Functions whose value
  /// is an array are not compiled and not listed.
  std::vector<std::string> functions() const;
  bool has_function(std::string_view name) const;
  /// Throws Error::Kind::NotFound, naming the functions there are.
  Function function(std::string_view name) const;
  bool has_objective() const;
  /// Throws Error::Kind::NotFound when the program has no minimize or maximize.
  Objective objective() const;
  /// Warnings the compiler reported for a program that compiled.
  const std::vector<Error::Diagnostic> &warnings() const;

  struct Impl;

private:
  friend struct detail::Access;
  std::shared_ptr<const Impl> impl_;
};

/// Compiles nabla text: a bare expression or a program (functions, params, inputs, an objective).
/// Throws Error (Kind::Compile with diagnostics for bad text).
NABLA_API Module compile(std::string_view text, const Options &options = {});
/// Compiles a .nabla program file (statements only). Throws Error (Kind::Io when unreadable).
NABLA_API Module compile_file(const std::string &path, const Options &options = {});

/// The library's version, `0.1.0`.
NABLA_API const char *version() noexcept;

}  // namespace nabla
