// Native code of the lowered program, callable through plain function pointers:
// - CompiledFunction: a scalar function's value, value and gradient (one fused call sharing the
//   forward pass) and Hessian;
// - CompiledOutputs: any roots as one array-valued function (one call computes them all), of
//   params and per-row inputs.
// Both can sum their roots over rows of data with a batched kernel (an objective's loss and
// gradient, or the outputs' means over a batch) and share the tiers, the installing of code and
// the batch machinery (CompiledCode).
//
// In a tiered session (SessionOptions::tiered) the first code is nabla's baseline x86-64 code
// or LLVM's at O0 (for a function, with the value entry point running the fused value+gradient
// code), so that the code is callable a few milliseconds after it is asked for; the session's
// background thread then compiles it at the session's level, and calls switch to that code as
// soon as it is installed. Both tiers compute the same values (IEEE mode: equal to the
// interpreter within a few ulps).
#pragma once

#include "codegen/emit_llvm.h"
#include "graph/graph.h"
#include "jit/session.h"
#include "pipeline.h"  // Derivatives (the struct only: nothing of nabla_core is called here)
#include "sema/lowered.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nabla::jit {

/// The C ABI of the entry points (see codegen/emit_llvm.h): `args` holds one double per scalar
/// argument, arrays flattened row-major, in argument order.
using ValueFn = double (*)(const double *args);
using ValueAndGradFn = double (*)(const double *args, double *grad);  // returns the value
using HessianFn = void (*)(const double *args, double *hess);         // n x n, row-major
/// H v: `packed` holds the arguments and then the direction v (gradSize() entries).
using HvpFn = void (*)(const double *packed, double *out);
using OutputsFn = void (*)(const double *args, double *out);          // out[k] = root k

/// The batched kernel (codegen/emit_batch.h): for rows [begin, end) of `columns` (one column per
/// argument after the params), sums[k] = the sum of root k over the rows; a function's roots are
/// its value, then its gradient entries (sums[0] the sum of the values, sums[1 + i] that of
/// gradient entry i), outputs' roots are the outputs.
using BatchFn = void (*)(const double *params, std::uint64_t begin, std::uint64_t end,
                         const double *const *columns, double *sums);
/// The gathered kernel (codegen::BatchOptions::gatherName): the same sums over rows [begin, end)
/// where row r is row index[r] of a row-major table, `stride` doubles apart.
using BatchGatherFn = void (*)(const double *params, std::uint64_t begin, std::uint64_t end,
                               const double *table, std::uint64_t stride,
                               const std::uint64_t *index, double *sums);

/// A map kernel (codegen::emitMapKernel): a function's value, value and gradient, or Hessian at
/// every point of [begin, end), stored; returns nonzero when out of memory.
using MapFn = std::int32_t (*)(std::uint64_t begin, std::uint64_t end, const double *in,
                               std::uint64_t inLd, double *const *out, const std::uint64_t *outLd);
/// What a map computes per point, in output groups: Value {the value}; ValueAndGrad {the value,
/// the gradient (gradSize() entries)}; Hessian {the Hessian (gradSize()^2 entries, row-major)}.
enum class MapKind : std::uint8_t { Value, ValueAndGrad, Hessian };
/// Where a map's points and results lie: argument c of point r at in[r * arity + c] (inLd 0:
/// row-major) or in[c * inLd + r]; entry j of output group g at point r at out[g][r * width + j]
/// (outLd[g] 0) or out[g][j * outLd[g] + r].
struct MapArrays {
  const double *in = nullptr;
  std::uint64_t inLd = 0;
  double *out[2] = {nullptr, nullptr};
  std::uint64_t outLd[2] = {0, 0};
};

/// Rows picked from a row-major table: row r of the batch is row index[r] of the table, whose
/// inputs are the `stride` doubles at table + index[r] * stride (stride >= the input count; the
/// inputs come first). A mini-batch of shuffled rows, read where they lie.
struct TableRows {
  const double *table = nullptr;
  std::size_t stride = 0;
  const std::uint64_t *index = nullptr;
};

struct FunctionOptions {
  /// LLVM's `fast` flags on every floating-point instruction (see codegen::EmitOptions); IEEE
  /// semantics when false.
  bool fastMath = false;
  /// Functions longer than this many tape entries are split into parts of this size
  /// (codegen::EmitOptions). 0: chosen per tier, for compile time at O0 (parts of 256) and for
  /// speed in the optimized tier (no split up to 4096 entries, then parts of 1024).
  std::size_t maxPartSize = 0;
  /// Also compile the batched kernel over rows of the arguments after the params: those that are
  /// not differentiated (an objective's inputs), or those after CompiledOutputs::paramCount().
  bool batched = false;
  /// The map kernels of a function (CompiledFunction::map): its value, value and gradient and
  /// Hessian over many points, vectorized across points. Each is compiled, at the final level,
  /// on the first map of its kind, in the thread that calls it (others calling meanwhile wait
  /// for it), as JAX compiles on a first call: nothing is compiled for a function never mapped.
  bool mapped = false;
  /// Run LLVM's verifier over the generated IR (a check of nabla's code generator).
  bool verify = true;
  /// The level of the code that runs in the end, instead of the session's (SessionOptions::
  /// optLevel). O0 has nothing to tier up to.
  std::optional<OptLevel> optLevel;
  /// Set: the compilation in the calling thread stops (Session::addModule) and compileFunction
  /// or compileOutputs throws Cancelled. The background tier and the map kernels never read it.
  const std::atomic<bool> *cancel = nullptr;
};

/// The installed entry points and the modules behind them; shared with the background compile.
struct FunctionCode;

/// What CompiledFunction and CompiledOutputs share: entry points compiled in tiers, and the
/// batched kernel that sums roots over rows, where arguments [0, paramCount) are the same for
/// every row (params) and the others are read per row (inputs).
///
/// Owns its code (removed from the session when this object goes); movable. Calls are
/// thread-safe: the compiled functions keep no state, and switching tiers is an atomic store. A
/// default-constructed one holds no code and its calls throw std::logic_error.
class CompiledCode {
public:
  const std::string &name() const { return name_; }
  /// Number of scalar arguments.
  std::size_t arity() const { return argNames_.size(); }
  /// The graph symbol name of each scalar argument (`x`, `w[2]`).
  const std::vector<std::string> &argNames() const { return argNames_; }

  /// Whether the batched kernel was compiled (FunctionOptions::batched).
  bool hasBatch() const { return hasBatch_; }
  /// The number of arguments read per row by the batched kernel: those after the params.
  std::size_t inputCount() const { return argNames_.size() - paramCount_; }
  /// The number of roots the batched kernel sums: 1 + gradSize() for a function (its value, then
  /// its gradient), outputCount() for outputs.
  std::size_t sumCount() const { return sumCount_; }

  /// The mean of each of the sumCount() roots over n rows into `means` (sumCount() entries):
  /// params has the params' entries, columns inputCount() pointers to n doubles each. Large
  /// batches are split into chunks of whole vector blocks over up to `threads` threads (0: the
  /// session's SessionOptions::threads); the partial sums are added in chunk order, so a given
  /// thread count always gives the same bits. n = 0 gives NaN. Throws std::logic_error without a
  /// batched kernel, std::invalid_argument for wrong sizes.
  void batchMeans(std::span<const double> params, std::size_t n,
                  std::span<const double *const> columns, std::span<double> means,
                  unsigned threads = 0) const;
  /// The same over n rows picked from a table, with the gather done inside the compiled kernel.
  /// Such rows cost a cache miss each, so batches of more than 512 rows are split over threads
  /// (over columns: more than 16384). In one thread the result has the same bits as batchMeans
  /// over columns holding those rows.
  void batchMeans(std::span<const double> params, std::size_t n, const TableRows &rows,
                  std::span<double> means, unsigned threads = 0) const;
  /// The raw sums of rows [begin, end) of `columns` in the calling thread, as batchMeans takes
  /// them; sums has sumCount() entries. Also std::invalid_argument for reversed rows.
  void batchSums(std::span<const double> params, std::size_t begin, std::size_t end,
                 std::span<const double *const> columns, std::span<double> sums) const;

  /// The batched kernels of the tier installed now (null until the optimized tier is in, in a
  /// session whose first tier is the baseline code generator).
  BatchFn batchFn() const;
  BatchGatherFn batchGatherFn() const;
  /// The JIT symbol of the main entry point (a function's value, the outputs); the others append
  /// `_grad`, `_hess`, `_batch` and `_batchg` to it. The optimized tier's symbols add `.opt` to it.
  const std::string &symbol() const { return symbol_; }

  /// Whether the code of the session's optimization level is installed (at once when the session
  /// is not tiered).
  bool optimized() const;
  /// Blocks until the optimized code is installed; false if its compilation failed (the first
  /// tier then stays, with the same values), if the session was destroyed first or if it does
  /// not optimize in the background (SessionOptions::optimizeInBackground).
  bool waitOptimized() const;

protected:
  CompiledCode();
  ~CompiledCode();
  CompiledCode(CompiledCode &&) noexcept;
  CompiledCode &operator=(CompiledCode &&) noexcept;

  /// Throws std::logic_error unless the batched kernel was compiled.
  void requireBatch() const;

  std::string name_, symbol_;
  std::vector<std::string> argNames_;
  std::size_t paramCount_ = 0;  // arguments the same for every row of a batch
  std::size_t sumCount_ = 0;    // roots of the batched kernel
  bool hasBatch_ = false;
  std::shared_ptr<FunctionCode> code_;
};

/// A scalar function: its value, its value and gradient from one fused call, and optionally its
/// Hessian; with FunctionOptions::batched, an objective's mean value and gradient over rows of
/// data, where the differentiated arguments are the same for every row and the others are read
/// per row.
class CompiledFunction : public CompiledCode {
public:
  /// Number of gradient entries: the derivatives with respect to the first gradSize() arguments
  /// (all of them for a plain function; an objective's params, not its inputs).
  std::size_t gradSize() const { return gradSize_; }
  bool hasHessian() const { return hasHessian_; }

  /// These check the sizes of their spans (std::invalid_argument) and then make one call.
  double operator()(std::span<const double> args) const;
  double valueAndGrad(std::span<const double> args, std::span<double> grad) const;
  std::pair<double, std::vector<double>> valueAndGrad(std::span<const double> args) const;
  /// The gradient has gradSize() entries and the Hessian gradSize()^2 (row-major).
  /// Throws std::logic_error when compiled without a Hessian.
  void hessian(std::span<const double> args, std::span<double> hess) const;
  std::vector<double> hessian(std::span<const double> args) const;
  /// Whether the code has the Hessian-vector product (Derivatives::hvp was set).
  bool hasHvp() const { return hasHvp_; }
  /// H v at `args` for a direction `v` and `out` of gradSize() entries (the derivative of the
  /// gradient along v: a few times the gradient's cost, whatever gradSize()). Throws
  /// std::logic_error when compiled without it.
  void hvp(std::span<const double> args, std::span<const double> v, std::span<double> out) const;

  /// The mean value and mean gradient over n rows (batchMeans): params has gradSize() entries,
  /// grad receives gradSize() entries, and the mean value is returned.
  double batchMean(std::span<const double> params, std::size_t n,
                   std::span<const double *const> columns, std::span<double> grad,
                   unsigned threads = 0) const;
  double batchMean(std::span<const double> params, std::size_t n, const TableRows &rows,
                   std::span<double> grad, unsigned threads = 0) const;

  /// The roots of `kind` at n points (see MapArrays), computed by the map kernel (with
  /// FunctionOptions::mapped; the first map compiles it) or point by point. More than a few
  /// thousand points are split into chunks of whole vector blocks over up to `threads` threads
  /// (0: the session's); a point's results do not depend on the chunks. Throws std::logic_error
  /// for a Hessian compiled without one, std::invalid_argument for a null array that is needed,
  /// std::bad_alloc when the kernel's scratch cannot be allocated.
  void map(MapKind kind, std::size_t n, const MapArrays &arrays, unsigned threads = 0) const;
  /// The map kernel of `kind` installed now (null: none yet, or not compiled).
  MapFn mapFn(MapKind kind) const;
  /// Compiles the map kernel of `kind` now, unless the first map did (or waits for the thread
  /// that compiles it); false without FunctionOptions::mapped or when its compilation failed.
  bool waitMap(MapKind kind) const;

  /// The raw entry points of the tier installed now, for hot loops; valid while this object lives
  /// (the first tier's code is kept until then). hessianFn() may be null.
  ValueFn valueFn() const;
  ValueAndGradFn valueAndGradFn() const;
  HessianFn hessianFn() const;
  HvpFn hvpFn() const;

private:
  friend CompiledFunction compileFunction(Session &, const Graph &, std::string_view,
                                          std::span<const SymbolId>, const Derivatives &,
                                          const FunctionOptions &);
  std::size_t gradSize_ = 0;
  bool hasHessian_ = false;
  bool hasHvp_ = false;

  /// batchMeans' entries for batchMean: the gradient into grad, the value returned.
  template <class Rows>
  double meanValueAndGrad(std::span<const double> params, std::size_t n, const Rows &rows,
                          std::span<double> grad, unsigned threads) const;
};

/// Roots of a graph as one array-valued function of its arguments: every root in order from one
/// call (codegen::EntryKind::Array), and with FunctionOptions::batched the mean of every root over
/// rows of data (batchMeans), where the first paramCount() arguments are the same for every row
/// (params) and the others are read per row (inputs).
class CompiledOutputs : public CompiledCode {
public:
  /// Number of arguments that are the same for every row of a batch.
  std::size_t paramCount() const { return paramCount_; }
  /// Number of roots.
  std::size_t outputCount() const { return sumCount_; }

  /// Every output at `args` (arity() entries) into `out` (outputCount() entries): one call.
  /// Throws std::invalid_argument for wrong sizes.
  void outputs(std::span<const double> args, std::span<double> out) const;
  std::vector<double> outputs(std::span<const double> args) const;

  /// The raw entry point of the tier installed now; valid while this object lives.
  OutputsFn outputsFn() const;

private:
  friend CompiledOutputs compileOutputs(Session &, const Graph &, std::string_view,
                                        std::span<const SymbolId>, std::size_t,
                                        std::span<const NodeId>, const FunctionOptions &);
};

/// Compiles `d` as a function of `args`. `d` comes from differentiate over the Var nodes of the
/// first k = d.grad.size() arguments, in that order (k <= args.size(); the other arguments are
/// read but not differentiated, like an objective's inputs). `d.hessian` is empty (no Hessian) or
/// k x k.
/// Throws codegen::CodegenError for inconsistent input and JitError for LLVM failures.
CompiledFunction compileFunction(Session &session, const Graph &graph, std::string_view name,
                                 std::span<const SymbolId> args, const Derivatives &d,
                                 const FunctionOptions &options = {});

/// Compiles `roots` (at least one) as one array-valued function of `args`, whose first
/// `paramCount` arguments are the params of its batches (with FunctionOptions::batched) and the
/// others its inputs. Throws codegen::CodegenError for inconsistent input and JitError for LLVM
/// failures.
CompiledOutputs compileOutputs(Session &session, const Graph &graph, std::string_view name,
                               std::span<const SymbolId> args, std::size_t paramCount,
                               std::span<const NodeId> roots, const FunctionOptions &options = {});

/// Compiles and runs, in the calling thread at the session's level, a small function with a
/// batched kernel (libm and vector math calls, a loop), then drops it. Its use: LLVM creates
/// some of its static state on first use, and a process-wide session that is never destroyed
/// (the C++ API's) warms up before it registers the exit handler that stops its background
/// thread (Session::stopBackground), so that the handler runs before that state is torn down
/// at exit.
void warmUp(Session &session);

/// A FunctionEntry of a LoweredProgram (or its bare entry, named `expr`): its arguments are its
/// VarGroups' symbols in order, and `d` must come from differentiate over their `nodes` in that
/// order. The result must be a scalar.
CompiledFunction compileFunction(Session &session, const Graph &graph, const FunctionEntry &entry,
                                 const Derivatives &d, const FunctionOptions &options = {});

}  // namespace nabla::jit
