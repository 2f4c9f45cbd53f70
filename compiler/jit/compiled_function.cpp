#include "jit/compiled_function.h"

#include "jit/executable_memory.h"

#include "codegen/baseline_x86.h"
#include "codegen/emit_batch.h"
#include "codegen/emit_llvm.h"

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>

namespace nabla::jit {

struct FunctionCode {
  std::atomic<ValueFn> value{nullptr};
  std::atomic<ValueAndGradFn> valueAndGrad{nullptr};
  std::atomic<HessianFn> hessian{nullptr};
  std::atomic<BatchFn> batch{nullptr};
  std::atomic<BatchGatherFn> batchGather{nullptr};
  std::shared_ptr<Workers> workers;  // for batchMean
  ModuleHandle first;      // the first tier (kept: a call may still be running in it), from LLVM
  ExecutableMemory baseline;  // or from the baseline generator
  std::mutex mutex;        // guards what follows
  std::condition_variable settled;
  enum class State { Pending, Optimized, Failed, FirstTierOnly } state = State::Pending;
  ModuleHandle optimized;  // the tier of the session's level, once installed
};

namespace {

void checkCompiled(const void *fn) {
  if (!fn) throw std::logic_error("call of a CompiledFunction that holds no code");
}

void checkSize(const char *what, std::size_t got, std::size_t want, const std::string &fn) {
  if (got != want)
    throw std::invalid_argument("'" + fn + "' takes " + std::to_string(want) + " " + what + ", got " +
                                std::to_string(got));
}

/// The tapes of one function's entry points: value, value+gradient, and optionally the Hessian
/// and the batched kernel. Self-contained: the optimized tier is generated from them later.
struct FunctionTapes {
  codegen::TapeEntryPoint value, grad;
  std::optional<codegen::TapeEntryPoint> hessian, batch;
  std::size_t gradSize = 0, inputCount = 0;
};

/// What a tier is generated with.
struct TierOptions {
  codegen::EmitOptions emit;
  codegen::BatchOptions batch;
  bool valueThroughGrad = false;  // the value entry point calls the fused one (first tier)
};

/// Emits the entry points named `symbol`, `symbol_grad`, `symbol_hess`, `symbol_batch`.
std::unique_ptr<llvm::Module> emitFunction(llvm::LLVMContext &context, const std::string &symbol,
                                           FunctionTapes &tapes, const TierOptions &tier) {
  auto module = std::make_unique<llvm::Module>(symbol, context);
  module->setSourceFileName(symbol);
  tapes.grad.name = symbol + "_grad";
  codegen::emitEntryPoint(*module, tapes.grad, tier.emit);
  tapes.value.name = symbol;
  if (tier.valueThroughGrad)
    codegen::emitValueThroughGrad(*module, symbol, tapes.grad.name, tapes.gradSize);
  else
    codegen::emitEntryPoint(*module, tapes.value, tier.emit);
  if (tapes.hessian) {
    tapes.hessian->name = symbol + "_hess";
    codegen::emitEntryPoint(*module, *tapes.hessian, tier.emit);
  }
  if (tapes.batch) {
    tapes.batch->name = symbol + "_batch";
    codegen::BatchOptions batch = tier.batch;
    batch.gatherName = symbol + "_batchg";
    codegen::emitBatchKernel(*module, *tapes.batch, tapes.gradSize, tapes.inputCount, batch);
  }
  if (tier.emit.verify) codegen::verifyModule(*module);
  return module;
}

/// Adds the module at `level` and installs its entry points into `code`.
ModuleHandle install(Session &session, FunctionCode &code, const std::string &symbol,
                     const FunctionTapes &tapes, std::unique_ptr<llvm::Module> module,
                     std::unique_ptr<llvm::LLVMContext> context, const std::string &what,
                     OptLevel level, IrPipeline pipeline = IrPipeline::Default) {
  ModuleHandle handle = session.addModule(std::move(module), std::move(context), what, level, pipeline);
  auto value = reinterpret_cast<ValueFn>(session.lookup(symbol));
  auto grad = reinterpret_cast<ValueAndGradFn>(session.lookup(symbol + "_grad"));
  HessianFn hess =
      tapes.hessian ? reinterpret_cast<HessianFn>(session.lookup(symbol + "_hess")) : nullptr;
  BatchFn batch = tapes.batch ? reinterpret_cast<BatchFn>(session.lookup(symbol + "_batch")) : nullptr;
  BatchGatherFn gather =
      tapes.batch ? reinterpret_cast<BatchGatherFn>(session.lookup(symbol + "_batchg")) : nullptr;
  code.value.store(value, std::memory_order_release);
  code.valueAndGrad.store(grad, std::memory_order_release);
  code.hessian.store(hess, std::memory_order_release);
  code.batchGather.store(gather, std::memory_order_release);
  code.batch.store(batch, std::memory_order_release);
  return handle;
}

/// Parts of large functions: small at O0, where LLVM's time is what matters, larger in the
/// optimized tier, where splitting costs speed (values cross parts through memory).
struct PartSizes {
  std::size_t maxPartSize, splitAbove;
};
PartSizes partSizes(const FunctionOptions &options, bool forFastIsel) {
  if (options.maxPartSize != 0) return {options.maxPartSize, options.maxPartSize};
  return forFastIsel ? PartSizes{256, 256} : PartSizes{1024, 4096};
}

codegen::EmitOptions emitOptions(const FunctionOptions &options, bool forFastIsel) {
  codegen::EmitOptions e;
  e.fastMath = options.fastMath;
  e.maxPartSize = partSizes(options, forFastIsel).maxPartSize;
  e.splitAbove = partSizes(options, forFastIsel).splitAbove;
  e.verify = options.verify;
  e.forFastIsel = forFastIsel;
  return e;
}

codegen::BatchOptions batchOptions(const Session &session, const FunctionOptions &options,
                                   bool forFastIsel) {
  codegen::BatchOptions b;
  b.lanes = session.vectorTarget().lanes;
  b.vectorMathPrefix = session.vectorTarget().mathPrefix;
  b.hasVectorMath = [&session](std::string_view name) { return session.hasVectorMath(name); };
  b.fastMath = options.fastMath;
  b.maxPartSize = partSizes(options, forFastIsel).maxPartSize;
  b.splitAbove = partSizes(options, forFastIsel).splitAbove;
  b.forFastIsel = forFastIsel;
  return b;
}

/// Rows per chunk of a threaded batch: below this a batch runs in the calling thread. Rows read
/// from columns stream from memory at a few nanoseconds each, so a mini-batch of 1024 of them
/// is over before a helper would join in (splitting it measured slower). Rows gathered from a
/// table cost a cache miss each, tens of nanoseconds, and two cores have twice the misses in
/// flight: a mini-batch of 1024 is worth splitting in two (waiting helpers spin, so they join
/// within a microsecond).
constexpr std::size_t kColumnRowsPerChunk = 16384;
constexpr std::size_t kGatheredRowsPerChunk = 512;

/// The batched kernel's sums computed row by row with the fused value+gradient entry point: what
/// batches run on before the optimized tier (and its kernel) is installed.
/// `inputs(r, to)` writes row r's inputs to `to`.
template <class ReadRow>
void sumByRows(ValueAndGradFn fn, std::size_t gradSize, std::size_t arity, const double *params,
               std::size_t begin, std::size_t end, const ReadRow &inputs, double *sums) {
  std::vector<double> args(arity), grad(gradSize);
  std::copy(params, params + gradSize, args.begin());
  for (std::size_t k = 0; k <= gradSize; ++k) sums[k] = 0;
  for (std::size_t r = begin; r < end; ++r) {
    inputs(r, args.data() + gradSize);
    sums[0] += fn(args.data(), grad.data());
    for (std::size_t k = 0; k < gradSize; ++k) sums[1 + k] += grad[k];
  }
}

/// Row r's inputs from columns, or from rows picked from a table.
auto columnRows(const double *const *columns, std::size_t count) {
  return [=](std::size_t r, double *to) {
    for (std::size_t c = 0; c < count; ++c) to[c] = columns[c][r];
  };
}
auto tableRows(const TableRows &rows, std::size_t count) {
  return [=](std::size_t r, double *to) {
    const double *row = rows.table + rows.index[r] * rows.stride;
    std::copy(row, row + count, to);
  };
}

}  // namespace

CompiledFunction::CompiledFunction() = default;
CompiledFunction::~CompiledFunction() = default;
CompiledFunction::CompiledFunction(CompiledFunction &&) noexcept = default;
CompiledFunction &CompiledFunction::operator=(CompiledFunction &&) noexcept = default;

ValueFn CompiledFunction::valueFn() const {
  return code_ ? code_->value.load(std::memory_order_acquire) : nullptr;
}
ValueAndGradFn CompiledFunction::valueAndGradFn() const {
  return code_ ? code_->valueAndGrad.load(std::memory_order_acquire) : nullptr;
}
HessianFn CompiledFunction::hessianFn() const {
  return code_ ? code_->hessian.load(std::memory_order_acquire) : nullptr;
}
BatchFn CompiledFunction::batchFn() const {
  return code_ ? code_->batch.load(std::memory_order_acquire) : nullptr;
}
BatchGatherFn CompiledFunction::batchGatherFn() const {
  return code_ ? code_->batchGather.load(std::memory_order_acquire) : nullptr;
}

bool CompiledFunction::optimized() const {
  if (!code_) return false;
  std::lock_guard lock(code_->mutex);
  return code_->state == FunctionCode::State::Optimized;
}

bool CompiledFunction::waitOptimized() const {
  if (!code_) return false;
  std::unique_lock lock(code_->mutex);
  code_->settled.wait(lock, [&] { return code_->state != FunctionCode::State::Pending; });
  return code_->state == FunctionCode::State::Optimized;
}

double CompiledFunction::operator()(std::span<const double> args) const {
  ValueFn fn = valueFn();
  checkCompiled(reinterpret_cast<const void *>(fn));
  checkSize("arguments", args.size(), arity(), name_);
  return fn(args.data());
}

double CompiledFunction::valueAndGrad(std::span<const double> args, std::span<double> grad) const {
  ValueAndGradFn fn = valueAndGradFn();
  checkCompiled(reinterpret_cast<const void *>(fn));
  checkSize("arguments", args.size(), arity(), name_);
  checkSize("gradient entries", grad.size(), gradSize_, name_);
  return fn(args.data(), grad.data());
}

std::pair<double, std::vector<double>> CompiledFunction::valueAndGrad(
    std::span<const double> args) const {
  std::vector<double> grad(gradSize_);
  double v = valueAndGrad(args, grad);
  return {v, std::move(grad)};
}

void CompiledFunction::hessian(std::span<const double> args, std::span<double> hess) const {
  if (code_ && !hasHessian_) throw std::logic_error("'" + name_ + "' was compiled without its Hessian");
  HessianFn fn = hessianFn();
  checkCompiled(reinterpret_cast<const void *>(fn));
  checkSize("arguments", args.size(), arity(), name_);
  checkSize("Hessian entries", hess.size(), gradSize_ * gradSize_, name_);
  fn(args.data(), hess.data());
}

std::vector<double> CompiledFunction::hessian(std::span<const double> args) const {
  std::vector<double> hess(gradSize_ * gradSize_);
  hessian(args, hess);
  return hess;
}

void CompiledFunction::batchSums(std::span<const double> params, std::size_t begin,
                                 std::size_t end, std::span<const double *const> columns,
                                 std::span<double> sums) const {
  if (code_ && !hasBatch_) throw std::logic_error("'" + name_ + "' was compiled without its batched kernel");
  checkCompiled(code_.get());
  checkSize("params", params.size(), gradSize_, name_);
  checkSize("input columns", columns.size(), inputCount(), name_);
  checkSize("sums", sums.size(), gradSize_ + 1, name_);
  if (begin > end) throw std::invalid_argument("batch rows [" + std::to_string(begin) + ", " +
                                               std::to_string(end) + ") are reversed");
  if (BatchFn fn = batchFn())
    fn(params.data(), begin, end, columns.data(), sums.data());
  else
    sumByRows(valueAndGradFn(), gradSize_, arity(), params.data(), begin, end,
              columnRows(columns.data(), inputCount()), sums.data());
}

template <class SumChunk>
double CompiledFunction::meanOverChunks(std::size_t n, std::span<double> grad, unsigned threads,
                                        std::size_t rowsPerChunk, const SumChunk &sumChunk) const {
  const std::size_t width = gradSize_ + 1;
  if (n == 0) {
    for (double &g : grad) g = std::numeric_limits<double>::quiet_NaN();
    return std::numeric_limits<double>::quiet_NaN();
  }
  // Chunks of whole vector blocks (64 rows is a multiple of every lane count), one partial sum
  // each, added in chunk order.
  Workers &workers = *code_->workers;
  const unsigned use = threads == 0 ? workers.size() : std::min(threads, workers.size());
  std::size_t chunks = std::min<std::size_t>(use, (n + rowsPerChunk - 1) / rowsPerChunk);
  if (chunks < 1) chunks = 1;
  const std::size_t per = ((n + chunks - 1) / chunks + 63) / 64 * 64;
  chunks = (n + per - 1) / per;
  std::vector<double> partial(chunks * width);
  workers.parallelFor(chunks, use, [&](std::size_t c) {
    const std::size_t begin = c * per, end = std::min(n, begin + per);
    sumChunk(begin, end, partial.data() + c * width);
  });
  std::vector<double> total(partial.begin(), partial.begin() + static_cast<std::ptrdiff_t>(width));
  for (std::size_t c = 1; c < chunks; ++c)
    for (std::size_t k = 0; k < width; ++k) total[k] += partial[c * width + k];
  const double rows = static_cast<double>(n);
  for (std::size_t i = 0; i < gradSize_; ++i) grad[i] = total[1 + i] / rows;
  return total[0] / rows;
}

double CompiledFunction::batchMean(std::span<const double> params, std::size_t n,
                                   std::span<const double *const> columns, std::span<double> grad,
                                   unsigned threads) const {
  if (code_ && !hasBatch_) throw std::logic_error("'" + name_ + "' was compiled without its batched kernel");
  checkCompiled(code_.get());
  checkSize("params", params.size(), gradSize_, name_);
  checkSize("input columns", columns.size(), inputCount(), name_);
  checkSize("gradient entries", grad.size(), gradSize_, name_);
  BatchFn fn = batchFn();
  ValueAndGradFn rowFn = valueAndGradFn();
  const std::size_t gradSize = gradSize_, arity = this->arity();
  const double *p = params.data();
  const double *const *cols = columns.data();
  return meanOverChunks(n, grad, threads, kColumnRowsPerChunk,
                        [&](std::size_t begin, std::size_t end, double *sums) {
    if (fn)
      fn(p, begin, end, cols, sums);
    else
      sumByRows(rowFn, gradSize, arity, p, begin, end, columnRows(cols, arity - gradSize), sums);
  });
}

double CompiledFunction::batchMean(std::span<const double> params, std::size_t n,
                                   const TableRows &rows, std::span<double> grad,
                                   unsigned threads) const {
  if (code_ && !hasBatch_) throw std::logic_error("'" + name_ + "' was compiled without its batched kernel");
  checkCompiled(code_.get());
  checkSize("params", params.size(), gradSize_, name_);
  checkSize("gradient entries", grad.size(), gradSize_, name_);
  if (rows.stride < inputCount())
    throw std::invalid_argument("'" + name_ + "' reads " + std::to_string(inputCount()) +
                                " inputs per row, but the table's rows have " +
                                std::to_string(rows.stride));
  if (n > 0 && (rows.table == nullptr || rows.index == nullptr))
    throw std::invalid_argument("'" + name_ + "': rows of a null table or index");
  BatchGatherFn fn = batchGatherFn();
  ValueAndGradFn rowFn = valueAndGradFn();
  const std::size_t gradSize = gradSize_, arity = this->arity();
  const double *p = params.data();
  return meanOverChunks(n, grad, threads, kGatheredRowsPerChunk,
                        [&](std::size_t begin, std::size_t end, double *sums) {
    if (fn)
      fn(p, begin, end, rows.table, rows.stride, rows.index, sums);
    else
      sumByRows(rowFn, gradSize, arity, p, begin, end, tableRows(rows, arity - gradSize), sums);
  });
}

CompiledFunction compileFunction(Session &session, const Graph &graph, std::string_view name,
                                 std::span<const SymbolId> args, const Derivatives &d,
                                 const FunctionOptions &options) {
  const std::size_t n = d.grad.size();
  const std::string fn(name);
  if (n > args.size())
    throw codegen::CodegenError("'" + fn + "' has " + std::to_string(args.size()) +
                                " arguments but " + std::to_string(n) + " gradient entries");
  if (!d.hessian.empty()) {
    bool square = d.hessian.size() == n;
    for (const auto &row : d.hessian) square = square && row.size() == n;
    if (!square) throw codegen::CodegenError("the Hessian of '" + fn + "' is not " +
                                             std::to_string(n) + " x " + std::to_string(n));
  }

  CompiledFunction out;
  out.name_ = fn;
  out.symbol_ = session.uniqueName(name.empty() ? "expr" : name);
  out.gradSize_ = n;
  out.hasHessian_ = !d.hessian.empty();
  out.hasBatch_ = options.batched;
  for (SymbolId s : args) {
    if (s >= graph.symbolCount())
      throw codegen::CodegenError("an argument of '" + fn + "' is not a symbol of the graph");
    out.argNames_.push_back(graph.symbolName(s));
  }

  // The tapes are built once, here, while the graph is at hand; the background compile of the
  // optimized tier generates its code from them later.
  FunctionTapes tapes;
  tapes.gradSize = n;
  tapes.inputCount = args.size() - n;
  tapes.value = codegen::bindEntryPoint(graph, {out.symbol_, codegen::EntryKind::Value, {d.value}}, args);
  std::vector<NodeId> valueAndGrad{d.value};
  valueAndGrad.insert(valueAndGrad.end(), d.grad.begin(), d.grad.end());
  tapes.grad = codegen::bindEntryPoint(
      graph, {out.symbol_ + "_grad", codegen::EntryKind::ValueAndGrad, valueAndGrad}, args);
  if (!d.hessian.empty()) {
    std::vector<NodeId> hess;
    hess.reserve(n * n);
    for (const auto &row : d.hessian) hess.insert(hess.end(), row.begin(), row.end());
    tapes.hessian = codegen::bindEntryPoint(
        graph, {out.symbol_ + "_hess", codegen::EntryKind::Array, std::move(hess)}, args);
  }
  if (options.batched)
    tapes.batch = codegen::bindEntryPoint(
        graph, {out.symbol_ + "_batch", codegen::EntryKind::Array, valueAndGrad}, args);

  out.code_ = std::make_shared<FunctionCode>();
  out.code_->workers = session.workers();
  // The tiers: the final level is the function's or the session's; O0 has nothing above it.
  const SessionOptions &sessionOptions = session.options();
  const OptLevel finalLevel = options.optLevel.value_or(sessionOptions.optLevel);
  const bool tiered = sessionOptions.tiered && finalLevel != OptLevel::O0;
  const bool baselineFirst = tiered && sessionOptions.baseline && codegen::baselineSupported();
  const OptLevel firstLevel = tiered ? OptLevel::O0 : finalLevel;
  const std::string what = "function '" + fn + "'";
  if (baselineFirst) {
    // Machine code of our own, straight from the tapes; the batched kernel waits for the
    // optimized tier (until then batches run row by row on the fused entry point).
    std::vector<codegen::TapeEntryPoint> entries{tapes.value, tapes.grad};
    if (tapes.hessian) entries.push_back(*tapes.hessian);
    codegen::MachineCode machine = codegen::emitBaseline(entries);
    out.code_->baseline = ExecutableMemory(machine.bytes);
    FunctionCode &code = *out.code_;
    code.value.store(reinterpret_cast<ValueFn>(code.baseline.at(machine.offsets[0])));
    code.valueAndGrad.store(reinterpret_cast<ValueAndGradFn>(code.baseline.at(machine.offsets[1])));
    if (tapes.hessian)
      code.hessian.store(reinterpret_cast<HessianFn>(code.baseline.at(machine.offsets[2])));
  } else {
    const bool fastIsel = firstLevel == OptLevel::O0;
    TierOptions first{emitOptions(options, fastIsel), batchOptions(session, options, fastIsel), tiered};
    auto context = std::make_unique<llvm::LLVMContext>();
    auto module = emitFunction(*context, out.symbol_, tapes, first);
    out.code_->first = install(session, *out.code_, out.symbol_, tapes, std::move(module),
                               std::move(context), what, firstLevel);
  }
  if (!tiered) {
    out.code_->state = FunctionCode::State::Optimized;
    return out;
  }
  std::size_t entries = tapes.value.tape.size() + tapes.grad.tape.size();
  if (tapes.hessian) entries += tapes.hessian->tape.size();
  if (tapes.batch) entries += tapes.batch->tape.size();
  if (!sessionOptions.optimizeInBackground || entries > sessionOptions.maxOptimizedEntries) {
    out.code_->state = FunctionCode::State::FirstTierOnly;
    return out;
  }
  // Split functions are long straight-line code: the lean IR pipeline serves them as well as the
  // default one at half the time.
  const IrPipeline pipeline = entries > 2 * partSizes(options, false).splitAbove ? IrPipeline::Lean
                                                                                : IrPipeline::Default;

  // The optimized tier: generated from the tapes on the session's thread, installed when ready.
  // The job holds the code weakly: a function dropped before its turn is not compiled again. A
  // job the session drops unrun (it is being destroyed) settles the function as not optimized.
  struct Settle {
    std::weak_ptr<FunctionCode> code;
    void operator()(FunctionCode::State state, ModuleHandle handle = {}) const {
      if (std::shared_ptr<FunctionCode> c = code.lock()) {
        std::lock_guard lock(c->mutex);
        c->optimized = std::move(handle);
        c->state = state;
        c->settled.notify_all();
      }
    }
  };
  struct Unrun {
    Settle settle;
    bool ran = false;
    ~Unrun() {
      if (!ran) settle(FunctionCode::State::Failed);
    }
  };
  auto unrun = std::make_shared<Unrun>();  // built in place: a temporary would settle at once
  unrun->settle.code = out.code_;
  TierOptions second{emitOptions(options, false), batchOptions(session, options, false), false};
  session.runInBackground([&session, unrun, tapes = std::move(tapes), second, finalLevel, pipeline,
                           symbol = out.symbol_ + ".opt", what]() mutable {
    unrun->ran = true;
    std::shared_ptr<FunctionCode> code = unrun->settle.code.lock();
    if (!code) return;
    if (session.backgroundStopping()) {
      unrun->settle(FunctionCode::State::Failed);
      return;
    }
    try {
      auto context = std::make_unique<llvm::LLVMContext>();
      auto module = emitFunction(*context, symbol, tapes, second);
      ModuleHandle handle = install(session, *code, symbol, tapes, std::move(module),
                                    std::move(context), what + " (optimized)", finalLevel, pipeline);
      unrun->settle(FunctionCode::State::Optimized, std::move(handle));
    } catch (...) {
      // The first tier stays installed: same values, slower code.
      unrun->settle(FunctionCode::State::Failed);
    }
  });
  return out;
}

void warmUp(Session &session) {
  Graph g;
  SymbolId w = g.addSymbol("w"), x = g.addSymbol("x");
  NodeId z = g.make(Op::Mul, g.variable(w), g.variable(x));
  NodeId loss = g.make(Op::Add, g.make(Op::Softplus, z), g.make(Op::Tanh, g.make(Op::Pow, z, g.constant(2))));
  // d/dw by hand is not needed: any roots will do; these use exp, log1p, tanh and pow.
  Derivatives d{loss, {g.make(Op::Mul, g.make(Op::Sigmoid, z), g.variable(x))}, {}};
  const std::vector<SymbolId> args{w, x};
  FunctionTapes tapes;
  tapes.gradSize = 1;
  tapes.inputCount = 1;
  tapes.value = codegen::bindEntryPoint(g, {"warmup", codegen::EntryKind::Value, {loss}}, args);
  tapes.grad = codegen::bindEntryPoint(g, {"warmup_grad", codegen::EntryKind::ValueAndGrad, {loss, d.grad[0]}}, args);
  tapes.batch = codegen::bindEntryPoint(g, {"warmup_batch", codegen::EntryKind::Array, {loss, d.grad[0]}}, args);
  FunctionOptions options;
  TierOptions tier{emitOptions(options, false), batchOptions(session, options, false), false};
  FunctionCode code;
  const std::string symbol = session.uniqueName("warmup");
  auto context = std::make_unique<llvm::LLVMContext>();
  auto module = emitFunction(*context, symbol, tapes, tier);
  ModuleHandle handle = install(session, code, symbol, tapes, std::move(module), std::move(context),
                                "the warm-up function", session.optLevel());
  const double at[2] = {0.5, 2.0};
  double grad = 0;
  (void)code.valueAndGrad.load()(at, &grad);
}

CompiledFunction compileFunction(Session &session, const Graph &graph, const FunctionEntry &entry,
                                 const Derivatives &d, const FunctionOptions &options) {
  const std::string name = entry.name.empty() ? "expr" : entry.name;
  if (entry.result.elems.size() != 1 || !entry.result.shape.isScalar())
    throw codegen::CodegenError("'" + name + "' returns an array of " +
                                std::to_string(entry.result.elems.size()) +
                                " elements; only a scalar function has a gradient");
  std::vector<SymbolId> args;
  for (const VarGroup &group : entry.args) args.insert(args.end(), group.symbols.begin(), group.symbols.end());
  return compileFunction(session, graph, name, args, d, options);
}

}  // namespace nabla::jit
