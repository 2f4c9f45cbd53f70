// The C++ embedding API (include/nabla/nabla.hpp): the driver (compiler/driver/driver.h) behind
// handles that share one immutable compiled program.
#include "nabla/nabla.hpp"

#include "driver/driver.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <cstdint>
#include <optional>
#include <tuple>

namespace nabla {

namespace api {

/// What every handle of one compile() shares: the loaded program, whose graph also holds the
/// derivative nodes (for the derivatives' text). Immutable once compile() returns.
struct Program {
  explicit Program(driver::Program p) : program(std::move(p)) {}
  driver::Program program;
};

}  // namespace api

struct detail::Access {
  template <class Handle, class Impl> static Handle make(std::shared_ptr<Impl> impl) {
    Handle h;
    h.impl_ = std::move(impl);
    return h;
  }
};

struct Function::Impl {
  std::string name;
  std::vector<std::string> argNames;
  std::shared_ptr<const api::Program> program;
  Derivatives d;
  driver::Code code;
  bool hessian = false;  // asked for (a function of no arguments has an empty one, and no code)
  bool hvp = false;      // the same for the Hessian-vector product
};

struct Objective::Impl {
  std::string name;
  bool maximize = false;
  std::vector<Variable> params, inputs;
  std::size_t paramCount = 0, inputCount = 0;
  std::shared_ptr<const api::Program> program;
  Derivatives d;
  driver::Code code;  // arguments: params, then inputs; gradient over the params
  bool hessian = false;
  bool hvp = false;
  /// The array level's code instead of `code`, for a large objective compiled without Hessians
  /// (driver::arrayLevelFor). It keeps buffers between calls: calls take turns on the mutex.
  std::unique_ptr<driver::ArrayCode> arrays;
  mutable std::mutex arraysMutex;
  /// The Hessian's structural nonzeros: made at compile time at the scalar level (with the
  /// Hessian), on the first call at the array level (under arraysMutex).
  mutable std::optional<SparsePattern> pattern;
  std::vector<NodeId> vars;  // the params' nodes (scalar level): the pattern's rows
};

struct Module::Impl {
  std::string name;
  std::vector<std::pair<std::string, Function>> functions;  // declaration order
  std::optional<Objective> objective;
  std::vector<Error::Diagnostic> warnings;
  std::shared_ptr<const api::Program> program;  // null for an empty module
};

namespace {

/// The process's JIT, created on first use (a function-local static: thread-safe) and never
/// destroyed, so that code stays valid for hosts that call it from their own static destructors
/// or from threads still running at exit. Each function asks for its own optimization level.
driver::Jit &processJit() {
  static driver::Jit *jit = [] {
    auto *j = new driver::Jit();
    // LLVM's lazily made static state exists after this, so the exit handler below, registered
    // later, runs before that state is destroyed (exit handlers run in reverse order).
    j->warmUp();
    return j;
  }();
  // Destroyed at exit: stops the background compilation so that none still runs while the
  // process tears LLVM down. The JIT itself stays, with every function's code.
  static struct StopAtExit {
    ~StopAtExit() { jit->stopBackground(); }
  } stopAtExit;
  return *jit;
}

Error::Severity severityOf(Severity s) {
  switch (s) {
  case Severity::Error: return Error::Severity::Error;
  case Severity::Warning: return Error::Severity::Warning;
  case Severity::Note: return Error::Severity::Note;
  }
  return Error::Severity::Error;
}

/// Diagnostics as data, notes after their message, located as the renderer places them.
std::vector<Error::Diagnostic> structured(const SourceBuffer &buffer,
                                          const std::vector<nabla::Diagnostic> &diagnostics) {
  std::vector<Error::Diagnostic> out;
  auto add = [&](Severity severity, SourceRange range, const std::string &message) {
    Error::Diagnostic d;
    d.severity = severityOf(severity);
    d.file = buffer.name();
    if (range.valid()) std::tie(d.line, d.column) = buffer.lineColumn(range.begin);
    d.message = message;
    out.push_back(std::move(d));
  };
  for (const nabla::Diagnostic &d : diagnostics) {
    add(d.severity, d.range, d.message);
    for (const DiagnosticNote &n : d.notes)
      add(Severity::Note, n.range.valid() || !d.range.valid() ? n.range : d.range, n.message);
  }
  return out;
}

/// The driver's error in this API's terms. `hint`, when given, is added to a limit's message.
Error apiError(const driver::Error &e, const std::string &hint = "") {
  Error::Kind kind = Error::Kind::Internal;
  switch (e.kind()) {
  case driver::ErrorKind::Syntax:
  case driver::ErrorKind::Semantic:
  case driver::ErrorKind::Limit: kind = Error::Kind::Compile; break;
  case driver::ErrorKind::NotFound: kind = Error::Kind::NotFound; break;
  case driver::ErrorKind::Io: kind = Error::Kind::Io; break;
  case driver::ErrorKind::Interrupted:  // the API sets no Options::cancel
  case driver::ErrorKind::Internal: kind = Error::Kind::Internal; break;
  }
  if (!e.buffer()) {
    Error::Diagnostic d;
    d.message = e.message();
    return Error(kind, e.what(), kind == Error::Kind::Compile ? std::vector{d} : std::vector<Error::Diagnostic>{});
  }
  std::vector<nabla::Diagnostic> diagnostics = e.diagnostics();
  if (!hint.empty() && e.kind() == driver::ErrorKind::Limit)
    for (nabla::Diagnostic &d : diagnostics)
      if (d.severity == Severity::Error) d.notes.push_back({SourceRange{}, hint});
  driver::Error withHint(e.kind(), e.buffer(), diagnostics);
  return Error(kind, withHint.what(), structured(*e.buffer(), diagnostics));
}

void checkCount(const std::string &fn, const char *what, std::size_t got, std::size_t want) {
  if (got != want)
    throw Error(Error::Kind::Argument, "'" + fn + "' takes " + std::to_string(want) + " " + what +
                                           ", got " + std::to_string(got));
}

template <class Impl>
const Impl &need(const std::shared_ptr<const Impl> &impl, const char *what) {
  if (!impl) throw Error(Error::Kind::Internal, std::string("call of an empty nabla::") + what);
  return *impl;
}

/// The roots' self-contained text; too large a text is Unavailable.
std::vector<std::string> printChecked(const api::Program &program, const std::vector<NodeId> &roots,
                                      const std::string &fn) {
  try {
    return driver::printExprs(program.program, roots, "the derivatives of '" + fn + "'");
  } catch (const driver::Error &e) {
    throw Error(e.kind() == driver::ErrorKind::Limit ? Error::Kind::Unavailable
                                                     : Error::Kind::Internal,
                e.what());
  }
}

/// The driver's description of a param or input, in this API's terms.
Variable variable(const driver::VariableInfo &info) {
  Variable v;
  v.name = info.name;
  v.shape = std::vector<std::size_t>(info.shape.dims.begin(), info.shape.dims.end());
  v.offset = info.offset;
  v.size = info.size();
  v.elements = info.elements;
  v.columns = info.columns;
  v.column_range = info.columnRange;
  return v;
}

driver::Options driverOptions(const Options &options) {
  if (options.opt_level < 0 || options.opt_level > 3)
    throw Error(Error::Kind::Argument, "optimization level " + std::to_string(options.opt_level) +
                                           " is not one of 0, 1, 2, 3");
  driver::Options o;
  if (options.max_source_bytes) o.limits.maxSourceBytes = options.max_source_bytes;
  if (options.max_nesting) o.limits.maxNesting = options.max_nesting;
  if (options.max_nodes) o.limits.maxNodes = options.max_nodes;
  if (options.max_array) o.limits.maxArray = options.max_array;
  o.simplify = options.simplify;
  return o;
}

Module compileSource(const driver::Source &source, const Options &options);

}  // namespace

// --- Function ----------------------------------------------------------------------------------

const std::string &Function::name() const { return need(impl_, "Function").name; }
std::size_t Function::arity() const { return need(impl_, "Function").argNames.size(); }
const std::vector<std::string> &Function::arg_names() const {
  return need(impl_, "Function").argNames;
}
bool Function::has_hessian() const { return need(impl_, "Function").hessian; }
bool Function::has_hvp() const { return need(impl_, "Function").hvp; }

double Function::value(std::span<const double> args) const {
  const Impl &f = need(impl_, "Function");
  checkCount(f.name, "arguments", args.size(), f.argNames.size());
  return f.code.valueFn()(args.data());
}

std::pair<double, std::vector<double>> Function::value_and_grad(std::span<const double> args) const {
  std::vector<double> grad(arity());
  double v = value_and_grad(args, grad);
  return {v, std::move(grad)};
}

double Function::value_and_grad(std::span<const double> args, std::span<double> grad) const {
  const Impl &f = need(impl_, "Function");
  checkCount(f.name, "arguments", args.size(), f.argNames.size());
  checkCount(f.name, "gradient entries", grad.size(), f.argNames.size());
  return f.code.valueAndGradFn()(args.data(), grad.data());
}

std::vector<double> Function::hessian(std::span<const double> args) const {
  std::vector<double> hess(arity() * arity());
  hessian(args, hess);
  return hess;
}

std::vector<double> Function::hvp(std::span<const double> args, std::span<const double> v) const {
  std::vector<double> out(arity());
  hvp(args, v, out);
  return out;
}

void Function::hvp(std::span<const double> args, std::span<const double> v,
                   std::span<double> out) const {
  const Impl &f = need(impl_, "Function");
  if (!f.hvp)
    throw Error(Error::Kind::Unavailable, "'" + f.name +
                                              "' was compiled without its Hessian-vector product "
                                              "(Options::hvp is off)");
  const std::size_t n = f.argNames.size();
  checkCount(f.name, "arguments", args.size(), n);
  checkCount(f.name, "direction entries", v.size(), n);
  checkCount(f.name, "product entries", out.size(), n);
  if (n > 0) f.code.hvp(args, v, out);
}

void Function::hessian(std::span<const double> args, std::span<double> hess) const {
  const Impl &f = need(impl_, "Function");
  if (!f.hessian)
    throw Error(Error::Kind::Unavailable,
                "'" + f.name + "' was compiled without its Hessian (Options::hessian is off)");
  const std::size_t n = f.argNames.size();
  checkCount(f.name, "arguments", args.size(), n);
  checkCount(f.name, "Hessian entries", hess.size(), n * n);
  if (n > 0) f.code.hessianFn()(args.data(), hess.data());
}

namespace {

/// One vectorized call: the sizes checked against the function, then the map.
void mapPoints(const Function::Impl &f, jit::MapKind kind, std::size_t n,
               std::span<const double> points, std::initializer_list<std::span<double>> outs,
               Function::Layout layout, unsigned threads) {
  const std::size_t k = f.argNames.size();
  auto product = [&](std::size_t a, std::size_t b) {
    if (a != 0 && b > SIZE_MAX / a)
      throw Error(Error::Kind::Argument, "'" + f.name + "': " + std::to_string(n) +
                                             " points are too many");
    return a * b;
  };
  checkCount(f.name, "point coordinates (n * arity)", points.size(), product(n, k));
  jit::MapArrays arrays;
  arrays.in = points.data();
  const bool columns = layout == Function::Layout::Columns;
  arrays.inLd = columns ? n : 0;
  std::size_t i = 0;
  for (std::span<double> out : outs) {
    const std::size_t width = kind == jit::MapKind::Hessian ? k * k : (i == 0 ? 1 : k);
    const char *what = kind == jit::MapKind::Hessian ? "Hessian entries (n * arity^2)"
                       : i == 0                      ? "values (n)"
                                                     : "gradient entries (n * arity)";
    checkCount(f.name, what, out.size(), product(n, width));
    arrays.out[i] = out.data();
    arrays.outLd[i] = columns ? n : 0;
    ++i;
  }
  if (n == 0) return;
  try {
    f.code.map(kind, n, arrays, threads);
  } catch (const std::invalid_argument &e) {
    throw Error(Error::Kind::Argument, e.what());
  } catch (const std::logic_error &e) {
    throw Error(Error::Kind::Internal, e.what());
  }
}

}  // namespace

void Function::values(std::size_t n, std::span<const double> points, std::span<double> values,
                      Layout layout, unsigned threads) const {
  mapPoints(need(impl_, "Function"), jit::MapKind::Value, n, points, {values}, layout, threads);
}

void Function::values_and_grads(std::size_t n, std::span<const double> points,
                                std::span<double> values, std::span<double> grads, Layout layout,
                                unsigned threads) const {
  mapPoints(need(impl_, "Function"), jit::MapKind::ValueAndGrad, n, points, {values, grads},
            layout, threads);
}

void Function::hessians(std::size_t n, std::span<const double> points, std::span<double> hess,
                        Layout layout, unsigned threads) const {
  const Impl &f = need(impl_, "Function");
  if (!f.hessian)
    throw Error(Error::Kind::Unavailable,
                "'" + f.name + "' was compiled without its Hessian (Options::hessian is off)");
  if (f.argNames.empty()) {  // 0 x 0 Hessians: nothing to compute, only the sizes to check
    checkCount(f.name, "Hessian entries (n * arity^2)", hess.size(), 0);
    checkCount(f.name, "point coordinates (n * arity)", points.size(), 0);
    return;
  }
  mapPoints(f, jit::MapKind::Hessian, n, points, {hess}, layout, threads);
}

std::string Function::text() const {
  const Impl &f = need(impl_, "Function");
  return printChecked(*f.program, {f.d.value}, f.name).front();
}

std::vector<std::string> Function::gradient_text() const {
  const Impl &f = need(impl_, "Function");
  return printChecked(*f.program, f.d.grad, f.name);
}

std::vector<std::vector<std::string>> Function::hessian_text() const {
  const Impl &f = need(impl_, "Function");
  if (!f.hessian)
    throw Error(Error::Kind::Unavailable,
                "'" + f.name + "' was compiled without its Hessian (Options::hessian is off)");
  std::vector<NodeId> roots;
  for (const auto &row : f.d.hessian) roots.insert(roots.end(), row.begin(), row.end());
  std::vector<std::string> flat = printChecked(*f.program, roots, f.name);
  const std::size_t n = f.argNames.size();
  std::vector<std::vector<std::string>> out(n);
  for (std::size_t i = 0; i < n; ++i)
    out[i].assign(flat.begin() + static_cast<std::ptrdiff_t>(i * n),
                  flat.begin() + static_cast<std::ptrdiff_t>((i + 1) * n));
  return out;
}

// --- Objective ---------------------------------------------------------------------------------

const std::string &Objective::name() const { return need(impl_, "Objective").name; }
bool Objective::maximize() const { return need(impl_, "Objective").maximize; }
const std::vector<Variable> &Objective::params() const { return need(impl_, "Objective").params; }
const std::vector<Variable> &Objective::inputs() const { return need(impl_, "Objective").inputs; }
std::size_t Objective::param_count() const { return need(impl_, "Objective").paramCount; }
std::size_t Objective::input_count() const { return need(impl_, "Objective").inputCount; }
bool Objective::has_hessian() const { return need(impl_, "Objective").hessian; }
bool Objective::has_hvp() const { return need(impl_, "Objective").hvp; }

namespace {
/// The one-row argument vector: params, then inputs, each checked against the objective.
std::vector<double> rowArguments(const Objective::Impl &o, std::span<const double> params,
                                 std::span<const double> inputs) {
  checkCount(o.name, "params", params.size(), o.paramCount);
  checkCount(o.name, "inputs", inputs.size(), o.inputCount);
  std::vector<double> args(params.begin(), params.end());
  args.insert(args.end(), inputs.begin(), inputs.end());
  return args;
}

/// One row of inputs as the array level's rows: a column of one value per input, pointing into
/// `inputs` (kept in `columns`, which must outlive the rows).
driver::ArrayRows oneRow(std::span<const double> inputs, std::vector<const double *> &columns) {
  for (const double &x : inputs) columns.push_back(&x);
  driver::ArrayRows rows;
  rows.count = 1;
  rows.columns = columns;
  return rows;
}

/// One row at the array level: the value, and the gradient into `grad`.
double arrayRow(const Objective::Impl &o, std::span<const double> params,
                std::span<const double> inputs, std::span<double> grad) {
  checkCount(o.name, "params", params.size(), o.paramCount);
  checkCount(o.name, "inputs", inputs.size(), o.inputCount);
  std::vector<const double *> columns;
  const driver::ArrayRows rows = oneRow(inputs, columns);
  std::lock_guard<std::mutex> lock(o.arraysMutex);
  return o.arrays->objective(params, rows, grad);
}
}  // namespace

double Objective::value(std::span<const double> params, std::span<const double> inputs) const {
  const Impl &o = need(impl_, "Objective");
  if (o.arrays) {
    std::vector<double> grad(o.paramCount);
    return arrayRow(o, params, inputs, grad);
  }
  return o.code.valueFn()(rowArguments(o, params, inputs).data());
}

std::pair<double, std::vector<double>> Objective::value_and_grad(
    std::span<const double> params, std::span<const double> inputs) const {
  std::vector<double> grad(param_count());
  double v = value_and_grad(params, inputs, grad);
  return {v, std::move(grad)};
}

double Objective::value_and_grad(std::span<const double> params, std::span<const double> inputs,
                                 std::span<double> grad) const {
  const Impl &o = need(impl_, "Objective");
  checkCount(o.name, "gradient entries", grad.size(), o.paramCount);
  if (o.arrays) return arrayRow(o, params, inputs, grad);
  std::vector<double> args = rowArguments(o, params, inputs);
  return o.code.valueAndGradFn()(args.data(), grad.data());
}

std::vector<double> Objective::hessian(std::span<const double> params,
                                       std::span<const double> inputs) const {
  const Impl &o = need(impl_, "Objective");
  if (!o.hessian)
    throw Error(Error::Kind::Unavailable,
                "'" + o.name + "' was compiled without its Hessian (Options::hessian is off)");
  std::vector<double> args = rowArguments(o, params, inputs);
  std::vector<double> hess(o.paramCount * o.paramCount);
  if (!hess.empty()) o.code.hessianFn()(args.data(), hess.data());
  return hess;
}

namespace {
/// The checks every batch call makes of its rows: at least one, no null column.
void checkBatch(const Objective::Impl &o, std::size_t n, std::span<const double *const> columns) {
  if (n == 0) throw Error(Error::Kind::Argument, "a batch of '" + o.name + "' needs at least one row");
  for (std::size_t k = 0; k < columns.size(); ++k)
    if (!columns[k])
      throw Error(Error::Kind::Argument, "input column " + std::to_string(k) + " of a batch of '" +
                                             o.name + "' is a null pointer");
}

[[noreturn]] void noHvp(const Objective::Impl &o) {
  throw Error(Error::Kind::Unavailable, "'" + o.name +
                                            "' was compiled without its Hessian-vector product "
                                            "(Options::hvp is off)");
}

/// H v at the array level over `rows` (the ArrayCode's, under its mutex).
void arrayHvp(const Objective::Impl &o, std::span<const double> params, std::span<const double> v,
              const driver::ArrayRows &rows, std::span<double> out) {
  std::lock_guard<std::mutex> lock(o.arraysMutex);
  try {
    o.arrays->hvp(params, v, rows, out);
  } catch (const driver::Error &e) {
    throw apiError(e);
  }
}
}  // namespace

std::vector<double> Objective::hvp(std::span<const double> params, std::span<const double> v,
                                   std::span<const double> inputs) const {
  const Impl &o = need(impl_, "Objective");
  if (!o.hvp) noHvp(o);
  checkCount(o.name, "params", params.size(), o.paramCount);
  checkCount(o.name, "inputs", inputs.size(), o.inputCount);
  checkCount(o.name, "direction entries", v.size(), o.paramCount);
  std::vector<double> out(o.paramCount);
  if (o.arrays) {
    std::vector<const double *> columns;
    const driver::ArrayRows rows = oneRow(inputs, columns);
    arrayHvp(o, params, v, rows, out);
    return out;
  }
  if (!out.empty()) o.code.hvp(rowArguments(o, params, inputs), v, out);
  return out;
}

void Objective::hvp_batch(std::span<const double> params, std::span<const double> v,
                          std::size_t n, std::span<const double *const> columns,
                          std::span<double> out) const {
  const Impl &o = need(impl_, "Objective");
  if (!o.hvp) noHvp(o);
  checkCount(o.name, "params", params.size(), o.paramCount);
  checkCount(o.name, "direction entries", v.size(), o.paramCount);
  checkCount(o.name, "input columns", columns.size(), o.inputCount);
  checkCount(o.name, "product entries", out.size(), o.paramCount);
  checkBatch(o, n, columns);
  if (o.arrays) {
    driver::ArrayRows rows;
    rows.count = n;
    rows.columns = columns;
    arrayHvp(o, params, v, rows, out);
    return;
  }
  // Row by row at the scalar level, the mean added in row order.
  std::fill(out.begin(), out.end(), 0.0);
  if (out.empty()) return;
  std::vector<double> args(params.begin(), params.end()), one(o.paramCount);
  args.resize(o.paramCount + o.inputCount);
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t k = 0; k < o.inputCount; ++k) args[o.paramCount + k] = columns[k][r];
    o.code.hvp(args, v, one);
    for (std::size_t i = 0; i < one.size(); ++i) out[i] += one[i];
  }
  for (double &x : out) x /= static_cast<double>(n);
}

namespace {
SparsePattern toPattern(const HessianPattern &p) {
  SparsePattern out;
  out.n = p.n;
  out.row_start = p.rowStart;
  out.columns = p.columns;
  return out;
}

/// The pattern (made here at the array level), with the array level's mutex held by the caller.
const SparsePattern &patternOf(const Objective::Impl &o) {
  if (o.pattern) return *o.pattern;
  // Read off the graph, which nothing changes once the module is made.
  o.pattern = o.arrays ? toPattern(o.arrays->hessianPattern())
                       : toPattern(o.program->program.hessianPattern(o.d.value, o.vars));
  return *o.pattern;
}

/// Scatters nothing: gathers the pattern's entries of a dense row-major n x n Hessian.
void gather(const SparsePattern &p, std::span<const double> dense, std::span<double> values) {
  for (std::size_t i = 0; i < p.n; ++i)
    for (std::int64_t k = p.row_start[i]; k < p.row_start[i + 1]; ++k)
      values[static_cast<std::size_t>(k)] = dense[i * p.n + static_cast<std::size_t>(p.columns[k])];
}
}  // namespace

const SparsePattern &Objective::hessian_sparsity() const {
  const Impl &o = need(impl_, "Objective");
  std::lock_guard<std::mutex> lock(o.arraysMutex);
  try {
    return patternOf(o);
  } catch (const driver::Error &e) {
    throw apiError(e);
  }
}

std::vector<double> Objective::sparse_hessian(std::span<const double> params,
                                              std::span<const double> inputs) const {
  const Impl &o = need(impl_, "Objective");
  checkCount(o.name, "params", params.size(), o.paramCount);
  checkCount(o.name, "inputs", inputs.size(), o.inputCount);
  const SparsePattern &p = hessian_sparsity();
  std::vector<double> values(p.nonzeros());
  if (o.arrays) {
    std::vector<const double *> columns;
    const driver::ArrayRows rows = oneRow(inputs, columns);
    std::lock_guard<std::mutex> lock(o.arraysMutex);
    try {
      o.arrays->sparseHessian(params, rows, values);
    } catch (const driver::Error &e) {
      throw apiError(e);
    }
    return values;
  }
  gather(p, hessian(params, inputs), values);
  return values;
}

void Objective::sparse_hessian_batch(std::span<const double> params, std::size_t n,
                                     std::span<const double *const> columns,
                                     std::span<double> values) const {
  const Impl &o = need(impl_, "Objective");
  checkCount(o.name, "params", params.size(), o.paramCount);
  checkCount(o.name, "input columns", columns.size(), o.inputCount);
  const SparsePattern &p = hessian_sparsity();
  checkCount(o.name, "Hessian nonzeros", values.size(), p.nonzeros());
  checkBatch(o, n, columns);
  if (o.arrays) {
    driver::ArrayRows rows;
    rows.count = n;
    rows.columns = columns;
    std::lock_guard<std::mutex> lock(o.arraysMutex);
    try {
      o.arrays->sparseHessian(params, rows, values);
    } catch (const driver::Error &e) {
      throw apiError(e);
    }
    return;
  }
  // Row by row from the compiled Hessian, the mean added in row order.
  std::fill(values.begin(), values.end(), 0.0);
  std::vector<double> row(o.inputCount), one(values.size());
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t k = 0; k < o.inputCount; ++k) row[k] = columns[k][r];
    gather(p, hessian(params, row), one);
    for (std::size_t k = 0; k < one.size(); ++k) values[k] += one[k];
  }
  for (double &v : values) v /= static_cast<double>(n);
}

double Objective::batch(std::span<const double> params, std::size_t n,
                        std::span<const double *const> columns, std::span<double> grad) const {
  const Impl &o = need(impl_, "Objective");
  checkCount(o.name, "params", params.size(), o.paramCount);
  checkCount(o.name, "input columns", columns.size(), o.inputCount);
  checkCount(o.name, "gradient entries", grad.size(), o.paramCount);
  checkBatch(o, n, columns);
  if (o.arrays) {
    driver::ArrayRows rows;
    rows.count = n;
    rows.columns = columns;
    std::lock_guard<std::mutex> lock(o.arraysMutex);
    return o.arrays->objective(params, rows, grad);
  }
  // The batched kernel (vectorized across rows, over the session's threads), or row by row until
  // the optimized tier with the kernel is in.
  return o.code.batchMean(params, n, columns, grad);
}

void Objective::batch_sums(std::span<const double> params, std::size_t begin, std::size_t end,
                           std::span<const double *const> columns, std::span<double> sums) const {
  const Impl &o = need(impl_, "Objective");
  checkCount(o.name, "params", params.size(), o.paramCount);
  checkCount(o.name, "input columns", columns.size(), o.inputCount);
  checkCount(o.name, "sums", sums.size(), 1 + o.paramCount);
  if (begin > end)
    throw Error(Error::Kind::Argument, "rows [" + std::to_string(begin) + ", " +
                                           std::to_string(end) + ") of '" + o.name +
                                           "' are reversed");
  for (std::size_t k = 0; k < columns.size(); ++k)
    if (!columns[k])
      throw Error(Error::Kind::Argument, "input column " + std::to_string(k) + " of a batch of '" +
                                             o.name + "' is a null pointer");
  if (o.arrays) {
    std::vector<const double *> shifted;
    for (const double *c : columns) shifted.push_back(c + begin);
    driver::ArrayRows rows;
    rows.count = end - begin;
    rows.columns = shifted;
    std::lock_guard<std::mutex> lock(o.arraysMutex);
    o.arrays->objectiveSums(params, rows, sums);
    return;
  }
  o.code.batchSums(params, begin, end, columns, sums);
}

// --- Module ------------------------------------------------------------------------------------

namespace {
const Module::Impl &emptyModule() {
  static const Module::Impl empty;  // immutable: what a default-constructed Module shows
  return empty;
}
}  // namespace

const std::string &Module::name() const { return (impl_ ? *impl_ : emptyModule()).name; }

std::vector<std::string> Module::functions() const {
  std::vector<std::string> names;
  if (impl_)
    for (const auto &[name, fn] : impl_->functions) names.push_back(name);
  return names;
}

bool Module::has_function(std::string_view name) const {
  if (!impl_) return false;
  return std::any_of(impl_->functions.begin(), impl_->functions.end(),
                     [&](const auto &entry) { return entry.first == name; });
}

Function Module::function(std::string_view name) const {
  const Impl &m = impl_ ? *impl_ : emptyModule();
  for (const auto &[fnName, fn] : m.functions)
    if (fnName == name) return fn;
  if (!m.program) throw Error(Error::Kind::NotFound, "no function '" + std::string(name) + "' in an empty module");
  // The driver says why there is none (an array value, a typo, the names there are).
  driver::Entry found;
  try {
    found = m.program->program.entry(name);
  } catch (const driver::Error &e) {
    throw apiError(e);
  }
  throw Error(Error::Kind::NotFound, "'" + found.name + "' is the objective, not a function: use Module::objective()");
}

bool Module::has_objective() const { return impl_ && impl_->objective.has_value(); }

Objective Module::objective() const {
  if (!has_objective())
    throw Error(Error::Kind::NotFound,
                "'" + name() + "' has no objective (a `minimize` or `maximize` statement)");
  return *impl_->objective;
}

const std::vector<Error::Diagnostic> &Module::warnings() const {
  return (impl_ ? *impl_ : emptyModule()).warnings;
}

// --- compile -----------------------------------------------------------------------------------

namespace {

constexpr const char *kHessianHint = "Options::hessian off leaves the Hessians out";

Module compileSource(const driver::Source &source, const Options &options) {
  driver::Options driverOpts = driverOptions(options);
  // Without Hessians, a large objective may run at the array level: its bodies are lowered to
  // scalars only when the scalar level compiles them.
  driverOpts.deferBodies = !options.hessian;
  driver::Jit *jitPtr = nullptr;
  try {
    jitPtr = &processJit();
  } catch (const driver::Error &e) {
    throw apiError(e);
  }
  driver::Jit &jit = *jitPtr;
  try {
    auto program = std::make_shared<api::Program>(driver::Program::load(source, driverOpts));
    driver::Program &p = program->program;
    std::unique_ptr<driver::ArrayCode> arrays;
    if (p.deferred()) {
      if (p.lowered().objective)
        if (std::optional<driver::ArrayCode> code = driver::arrayLevelFor(p, 0))
          arrays = std::make_unique<driver::ArrayCode>(std::move(*code));
      if (!arrays || p.hasFunctions()) p.complete();
    }
    const Graph &graph = p.graph();
    auto module = std::make_shared<Module::Impl>();
    module->name = p.source().name();
    module->warnings = structured(p.source(), p.warnings());
    module->program = program;

    driver::CodeOptions codeOptions;
    codeOptions.optLevel = options.opt_level;
    std::vector<std::shared_ptr<Function::Impl>> functions;
    std::vector<std::vector<SymbolId>> functionArgs;
    std::shared_ptr<Objective::Impl> objective;
    std::vector<SymbolId> objectiveArgs;
    for (const driver::Entry &e : p.entries()) {
      if (e.isObjective()) {
        objective = std::make_shared<Objective::Impl>();
        objective->arrays = std::move(arrays);
        objective->name = e.name;
        const LoweredProgram &lowered = p.lowered();
        objective->maximize = lowered.objective->maximize;
        for (const driver::VariableInfo &param : p.params()) {
          objective->params.push_back(variable(param));
          objective->paramCount += param.size();
        }
        for (const driver::VariableInfo &input : p.inputs()) {
          objective->inputs.push_back(variable(input));
          objective->inputCount += input.size();
        }
        objective->hvp = options.hvp;
        if (objective->arrays) continue;  // no scalar code
        objectiveArgs = p.arguments(e);
        try {
          objective->d = p.differentiate(e, options.hessian);
          if (options.hvp) p.addHessianVectorProduct(e, e.vars, objective->d);
          objective->vars = e.vars;
        } catch (const driver::Error &err) {
          throw apiError(err, kHessianHint);
        }
        objective->hessian = options.hessian;
        continue;
      }
      auto f = std::make_shared<Function::Impl>();
      f->name = e.name;
      std::vector<SymbolId> args;
      for (const VarGroup *g : e.groups) args.insert(args.end(), g->symbols.begin(), g->symbols.end());
      for (SymbolId s : args) f->argNames.push_back(graph.symbolName(s));
      try {
        f->d = p.differentiate(e, options.hessian);
        if (options.hvp) p.addHessianVectorProduct(e, e.vars, f->d);
      } catch (const driver::Error &err) {
        throw apiError(err, kHessianHint);
      }
      f->hessian = options.hessian;
      f->hvp = options.hvp;
      functions.push_back(f);
      functionArgs.push_back(std::move(args));
    }

    // Every derivative is built: the graph is final, and the code is generated from it.
    driver::CodeOptions functionOptions = codeOptions;
    functionOptions.mapped = true;  // Function::values and the rest
    for (std::size_t i = 0; i < functions.size(); ++i) {
      Function::Impl &f = *functions[i];
      f.code = jit.compile(p, f.name, functionArgs[i], f.d, functionOptions);
      f.program = program;
      module->functions.emplace_back(
          f.name, detail::Access::make<Function>(std::shared_ptr<const Function::Impl>(functions[i])));
    }
    if (objective && objective->arrays) {
      objective->program = program;
      module->objective =
          detail::Access::make<Objective>(std::shared_ptr<const Objective::Impl>(objective));
    } else if (objective) {
      driver::CodeOptions objectiveOptions = codeOptions;
      objectiveOptions.batched = true;
      objective->code = jit.compile(p, objective->name, objectiveArgs, objective->d, objectiveOptions);
      objective->program = program;
      module->objective =
          detail::Access::make<Objective>(std::shared_ptr<const Objective::Impl>(objective));
    }
    return detail::Access::make<Module>(std::shared_ptr<const Module::Impl>(module));
  } catch (const driver::Error &e) {
    throw apiError(e);
  }
}

}  // namespace

Module compile(std::string_view text, const Options &options) {
  const driver::Options o = driverOptions(options);
  try {
    return compileSource(driver::fromText(options.source_name, std::string(text), false, o.limits,
                                          "Options::max_source_bytes"),
                         options);
  } catch (const driver::Error &e) {
    throw apiError(e);
  }
}

Module compile_file(const std::string &path, const Options &options) {
  const driver::Options o = driverOptions(options);
  driver::Source source;
  try {
    source = driver::readFile(path, o.limits, "Options::max_source_bytes");
  } catch (const driver::Error &e) {
    Error error = apiError(e);
    if (error.kind() != Error::Kind::Io) throw error;
    Error::Diagnostic d;
    d.file = path;
    d.message = e.message();
    throw Error(Error::Kind::Io, e.what(), {d});
  }
  return compileSource(source, options);
}

const char *version() noexcept { return NABLA_VERSION; }

}  // namespace nabla
