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

/// What a function's map kernels are compiled from, each on the first map of its kind (see
/// CompiledFunction::map): copies of its tapes, and where and how the code is compiled.
struct MapSource;

struct FunctionCode {
  std::atomic<ValueFn> value{nullptr};
  std::atomic<ValueAndGradFn> valueAndGrad{nullptr};
  std::atomic<HessianFn> hessian{nullptr};
  std::atomic<HvpFn> hvp{nullptr};
  std::atomic<OutputsFn> outputs{nullptr};
  std::atomic<BatchFn> batch{nullptr};
  std::atomic<BatchGatherFn> batchGather{nullptr};
  std::atomic<MapFn> maps[3] = {nullptr, nullptr, nullptr};  // by MapKind
  std::shared_ptr<Workers> workers;  // for batch means
  ModuleHandle first;      // the first tier (kept: a call may still be running in it), from LLVM
  ExecutableMemory baseline;  // or from the baseline generator
  std::mutex mutex;        // guards what follows
  std::condition_variable settled;
  enum class State { Pending, Optimized, Failed, FirstTierOnly } state = State::Pending;
  ModuleHandle optimized;  // the tier of the session's level, once installed
  // The map kernels, by MapKind: none yet, being compiled, then installed or failed.
  std::shared_ptr<const MapSource> mapSource;  // null: no map kernels
  enum class MapState { None, Pending, Installed, Failed } mapState[3] = {};
  std::vector<ModuleHandle> mapModules;
};

namespace {

void checkCompiled(const void *fn) {
  if (!fn) throw std::logic_error("call of compiled code (a function or outputs) that holds none");
}

void checkSize(const char *what, std::size_t got, std::size_t want, const std::string &fn) {
  if (got != want)
    throw std::invalid_argument("'" + fn + "' takes " + std::to_string(want) + " " + what + ", got " +
                                std::to_string(got));
}

/// The tapes of the entry points of one CompiledFunction (value, value+gradient, optionally the
/// Hessian) or CompiledOutputs (the outputs), and optionally the batched kernel's.
/// Self-contained: the optimized tier is generated from them later.
struct FunctionTapes {
  std::optional<codegen::TapeEntryPoint> value, grad, hessian, hvp, outputs, batch;
  std::size_t gradSize = 0;                    // of grad
  std::size_t paramCount = 0, inputCount = 0;  // of batch

  std::size_t entries() const {
    std::size_t n = 0;
    for (const auto *t : {&value, &grad, &hessian, &hvp, &outputs, &batch})
      if (*t) n += (*t)->tape.size();
    return n;
  }
};

/// The scalar entry points of the tapes (all but the batched kernels), with their symbols'
/// suffixes, in the order they are emitted: the fused value+gradient before the value, which
/// may call it.
enum class Slot { Grad, Value, Hessian, Hvp, Outputs };
struct Entry {
  Slot slot;
  const char *suffix;
  codegen::TapeEntryPoint *tape;
};
std::vector<Entry> scalarEntries(FunctionTapes &tapes) {
  std::vector<Entry> out;
  if (tapes.grad) out.push_back({Slot::Grad, "_grad", &*tapes.grad});
  if (tapes.value) out.push_back({Slot::Value, "", &*tapes.value});
  if (tapes.hessian) out.push_back({Slot::Hessian, "_hess", &*tapes.hessian});
  if (tapes.hvp) out.push_back({Slot::Hvp, "_hvp", &*tapes.hvp});
  if (tapes.outputs) out.push_back({Slot::Outputs, "", &*tapes.outputs});
  return out;
}

template <class Fn>
void put(std::atomic<Fn> &to, void *address) {
  to.store(reinterpret_cast<Fn>(address), std::memory_order_release);
}

void store(FunctionCode &code, Slot slot, void *address) {
  switch (slot) {
  case Slot::Grad: return put(code.valueAndGrad, address);
  case Slot::Value: return put(code.value, address);
  case Slot::Hessian: return put(code.hessian, address);
  case Slot::Hvp: return put(code.hvp, address);
  case Slot::Outputs: return put(code.outputs, address);
  }
}

/// What a tier is generated with.
struct TierOptions {
  codegen::EmitOptions emit;
  codegen::BatchOptions batch;
  bool valueThroughGrad = false;  // the value entry point calls the fused one (first tier)
};

/// Emits the entry points named `symbol` + their suffixes, and `symbol_batch`, `symbol_batchg`.
std::unique_ptr<llvm::Module> emitFunction(llvm::LLVMContext &context, const std::string &symbol,
                                           FunctionTapes &tapes, const TierOptions &tier) {
  auto module = std::make_unique<llvm::Module>(symbol, context);
  module->setSourceFileName(symbol);
  for (const Entry &e : scalarEntries(tapes)) {
    e.tape->name = symbol + e.suffix;
    if (e.slot == Slot::Value && tier.valueThroughGrad)
      codegen::emitValueThroughGrad(*module, symbol, tapes.grad->name, tapes.gradSize);
    else
      codegen::emitEntryPoint(*module, *e.tape, tier.emit);
  }
  if (tapes.batch) {
    tapes.batch->name = symbol + "_batch";
    codegen::BatchOptions batch = tier.batch;
    batch.gatherName = symbol + "_batchg";
    codegen::emitBatchKernel(*module, *tapes.batch, tapes.paramCount, tapes.inputCount, batch);
  }
  if (tier.emit.verify) codegen::verifyModule(*module);
  return module;
}

/// Adds the module at `level` and installs its entry points into `code`.
ModuleHandle install(Session &session, FunctionCode &code, const std::string &symbol,
                     FunctionTapes &tapes, std::unique_ptr<llvm::Module> module,
                     std::unique_ptr<llvm::LLVMContext> context, const std::string &what,
                     OptLevel level, IrPipeline pipeline = IrPipeline::Default,
                     const std::atomic<bool> *cancel = nullptr) {
  ModuleHandle handle =
      session.addModule(std::move(module), std::move(context), what, level, pipeline, cancel);
  std::vector<std::pair<Slot, void *>> found;
  for (const Entry &e : scalarEntries(tapes))
    found.emplace_back(e.slot, session.lookup(symbol + e.suffix));
  BatchFn batch = tapes.batch ? reinterpret_cast<BatchFn>(session.lookup(symbol + "_batch")) : nullptr;
  BatchGatherFn gather =
      tapes.batch ? reinterpret_cast<BatchGatherFn>(session.lookup(symbol + "_batchg")) : nullptr;
  for (const auto &[slot, address] : found) store(code, slot, address);
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

/// One row's roots of the batched kernel by the scalar code installed now: the outputs, or a
/// function's value and then its gradient from the fused entry point.
struct RowCode {
  OutputsFn outputs = nullptr;
  ValueAndGradFn valueAndGrad = nullptr;

  void operator()(const double *args, double *roots) const {
    if (outputs)
      outputs(args, roots);
    else
      roots[0] = valueAndGrad(args, roots + 1);
  }
};

RowCode rowCode(const FunctionCode &code) {
  return {code.outputs.load(std::memory_order_acquire),
          code.valueAndGrad.load(std::memory_order_acquire)};
}

/// The batched kernel's sums computed row by row with the scalar code: what batches run on before
/// the optimized tier (and its kernel) is installed. `inputs(r, to)` writes row r's inputs to `to`.
struct RowSums {
  RowCode row;
  std::size_t width, paramCount, arity;
  const double *params;

  template <class ReadRow>
  void operator()(std::size_t begin, std::size_t end, const ReadRow &inputs, double *sums) const {
    std::vector<double> args(arity), roots(width);
    std::copy(params, params + paramCount, args.begin());
    std::fill(sums, sums + width, 0.0);
    for (std::size_t r = begin; r < end; ++r) {
      inputs(r, args.data() + paramCount);
      row(args.data(), roots.data());
      for (std::size_t k = 0; k < width; ++k) sums[k] += roots[k];
    }
  }
};

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

/// The means of `width` sums over n rows into `means`, in chunks over threads, each of at least
/// `rowsPerChunk` rows: sumChunk(begin, end, sums) for each, added in chunk order.
template <class SumChunk>
void meanOverChunks(Workers &workers, std::size_t n, std::span<double> means, unsigned threads,
                    std::size_t rowsPerChunk, const SumChunk &sumChunk) {
  const std::size_t width = means.size();
  if (n == 0) {
    std::fill(means.begin(), means.end(), std::numeric_limits<double>::quiet_NaN());
    return;
  }
  // Chunks of whole vector blocks (64 rows is a multiple of every lane count), one partial sum
  // each, added in chunk order.
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
  std::copy(partial.begin(), partial.begin() + static_cast<std::ptrdiff_t>(width), means.begin());
  for (std::size_t c = 1; c < chunks; ++c)
    for (std::size_t k = 0; k < width; ++k) means[k] += partial[c * width + k];
  const double rows = static_cast<double>(n);
  for (double &m : means) m /= rows;
}

/// The graph symbol names of `args`, checked to be symbols of the graph.
std::vector<std::string> argumentNames(const Graph &graph, std::span<const SymbolId> args,
                                       const std::string &fn) {
  std::vector<std::string> names;
  for (SymbolId s : args) {
    if (s >= graph.symbolCount())
      throw codegen::CodegenError("an argument of '" + fn + "' is not a symbol of the graph");
    names.push_back(graph.symbolName(s));
  }
  return names;
}

}  // namespace

struct MapSource {
  Session *session = nullptr;
  std::string symbol;  // the kernels are symbol.map_value, symbol.map_grad, symbol.map_hess
  std::string what;
  codegen::TapeEntryPoint value, grad;
  std::optional<codegen::TapeEntryPoint> hessian;
  std::size_t gradSize = 0, arity = 0;
  codegen::BatchOptions batch;
  bool verify = true;
  OptLevel level = OptLevel::O2;
  IrPipeline pipeline = IrPipeline::Default;
};

namespace {

/// The output groups of a map of `kind` (see MapKind), for `gradSize` gradient entries.
std::vector<std::size_t> mapGroups(MapKind kind, std::size_t gradSize) {
  switch (kind) {
  case MapKind::Value: return {1};
  case MapKind::ValueAndGrad: return {1, gradSize};
  case MapKind::Hessian: return {gradSize * gradSize};
  }
  return {};
}

/// The map kernel of `kind` compiled and installed into `code`; the module's handle.
ModuleHandle compileMap(FunctionCode &code, const MapSource &source, MapKind kind) {
  const char *suffixes[] = {".map_value", ".map_grad", ".map_hess"};
  codegen::TapeEntryPoint entry = kind == MapKind::Value          ? source.value
                                  : kind == MapKind::ValueAndGrad ? source.grad
                                                                  : *source.hessian;
  const std::vector<std::size_t> groups = mapGroups(kind, source.gradSize);
  entry.name = source.symbol + suffixes[static_cast<int>(kind)];
  auto context = std::make_unique<llvm::LLVMContext>();
  auto module = std::make_unique<llvm::Module>(entry.name, *context);
  module->setSourceFileName(entry.name);
  codegen::emitMapKernel(*module, entry, source.arity, groups, source.batch);
  if (source.verify) codegen::verifyModule(*module);
  ModuleHandle handle = source.session->addModule(std::move(module), std::move(context),
                                                  source.what + " (vectorized)", source.level,
                                                  source.pipeline);
  put(code.maps[static_cast<int>(kind)], source.session->lookup(entry.name));
  return handle;
}

/// Settles the map kernel of `kind`: installed (its module kept) or failed.
void settleMap(FunctionCode &code, MapKind kind, std::optional<ModuleHandle> handle) {
  std::lock_guard lock(code.mutex);
  code.mapState[static_cast<int>(kind)] =
      handle ? FunctionCode::MapState::Installed : FunctionCode::MapState::Failed;
  if (handle) code.mapModules.push_back(std::move(*handle));
  code.settled.notify_all();
}

/// The map kernel of `kind`, compiled once, in the thread that asks first; the others wait for it.
/// True when it is installed.
bool needMap(const std::shared_ptr<FunctionCode> &code, MapKind kind) {
  const int k = static_cast<int>(kind);
  if (!code->mapSource) return false;
  bool first = false;
  {
    std::lock_guard lock(code->mutex);
    if (code->mapState[k] == FunctionCode::MapState::None) {
      code->mapState[k] = FunctionCode::MapState::Pending;
      first = true;
    }
  }
  if (first) {
    std::optional<ModuleHandle> handle;
    try {
      handle = compileMap(*code, *code->mapSource, kind);
    } catch (...) {
      // Point by point instead: the one-point code's results.
    }
    settleMap(*code, kind, std::move(handle));
  }
  std::unique_lock lock(code->mutex);
  code->settled.wait(lock, [&] { return code->mapState[k] != FunctionCode::MapState::Pending; });
  return code->mapState[k] == FunctionCode::MapState::Installed;
}

/// New code for `tapes` under `symbol`, in the tiers of the session and the options (see the
/// header): the first tier installed now, the optimized one queued on the session's background
/// thread. `what` names the code in messages.
std::shared_ptr<FunctionCode> compileTiers(Session &session, const std::string &symbol,
                                           FunctionTapes tapes, const FunctionOptions &options,
                                           const std::string &what) {
  auto code = std::make_shared<FunctionCode>();
  code->workers = session.workers();
  // The tiers: the final level is the function's or the session's; O0 has nothing above it.
  const SessionOptions &sessionOptions = session.options();
  const OptLevel finalLevel = options.optLevel.value_or(sessionOptions.optLevel);
  const bool tiered = sessionOptions.tiered && finalLevel != OptLevel::O0;
  const bool baselineFirst = tiered && sessionOptions.baseline && codegen::baselineSupported();
  const OptLevel firstLevel = tiered ? OptLevel::O0 : finalLevel;
  const std::size_t entries = tapes.entries();
  // Split functions are long straight-line code: the lean IR pipeline serves them as well as the
  // default one at half the time.
  const IrPipeline pipeline =
      entries > 2 * partSizes(options, false).splitAbove ? IrPipeline::Lean : IrPipeline::Default;
  if (options.mapped && entries <= sessionOptions.maxOptimizedEntries) {
    // The map kernels, at the final level, each on the first map of its kind.
    auto source = std::make_shared<MapSource>();
    source->session = &session;
    source->symbol = symbol;
    source->what = what;
    source->value = *tapes.value;
    source->grad = *tapes.grad;
    source->hessian = tapes.hessian;
    source->gradSize = tapes.gradSize;
    source->arity = tapes.paramCount + tapes.inputCount;
    source->batch = batchOptions(session, options, finalLevel == OptLevel::O0);
    source->verify = options.verify;
    source->level = finalLevel;
    source->pipeline = pipeline;
    code->mapSource = std::move(source);
  }
  if (baselineFirst) {
    // Machine code of our own, straight from the tapes; the batched kernel waits for the
    // optimized tier (until then batches run row by row on the scalar entry points).
    const std::vector<Entry> entries = scalarEntries(tapes);
    std::vector<codegen::TapeEntryPoint> list;
    for (const Entry &e : entries) list.push_back(*e.tape);
    codegen::MachineCode machine = codegen::emitBaseline(list);
    code->baseline = ExecutableMemory(machine.bytes);
    for (std::size_t i = 0; i < entries.size(); ++i)
      store(*code, entries[i].slot, code->baseline.at(machine.offsets[i]));
  } else {
    const bool fastIsel = firstLevel == OptLevel::O0;
    TierOptions first{emitOptions(options, fastIsel), batchOptions(session, options, fastIsel),
                      tiered};
    auto context = std::make_unique<llvm::LLVMContext>();
    auto module = emitFunction(*context, symbol, tapes, first);
    checkCancelled(options.cancel);
    // Without tiers, a split function gets the lean pipeline here too: the default one's time
    // grows to minutes on 10^5 entries, in the calling thread (O0 ignores the pipeline).
    code->first = install(session, *code, symbol, tapes, std::move(module), std::move(context),
                          what, firstLevel, tiered ? IrPipeline::Default : pipeline,
                          options.cancel);
  }
  if (!tiered) {
    code->state = FunctionCode::State::Optimized;
    return code;
  }
  if (!sessionOptions.optimizeInBackground || entries > sessionOptions.maxOptimizedEntries) {
    code->state = FunctionCode::State::FirstTierOnly;
    return code;
  }

  // The optimized tier: generated from the tapes on the session's thread, installed when ready.
  // The job holds the code weakly: code dropped before its turn is not compiled again. A job
  // the session drops unrun (it is being destroyed) settles the code as not optimized.
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
  unrun->settle.code = code;
  TierOptions second{emitOptions(options, false), batchOptions(session, options, false), false};
  session.runInBackground([&session, unrun, tapes = std::move(tapes), second, finalLevel, pipeline,
                           symbol = symbol + ".opt", what]() mutable {
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
                                    std::move(context), what + " (optimized)", finalLevel,
                                    pipeline);
      unrun->settle(FunctionCode::State::Optimized, std::move(handle));
    } catch (...) {
      // The first tier stays installed: same values, slower code.
      unrun->settle(FunctionCode::State::Failed);
    }
  });
  return code;
}

}  // namespace

// --- CompiledCode: what functions and outputs share ----------------------------------------------

CompiledCode::CompiledCode() = default;
CompiledCode::~CompiledCode() = default;
CompiledCode::CompiledCode(CompiledCode &&) noexcept = default;
CompiledCode &CompiledCode::operator=(CompiledCode &&) noexcept = default;

BatchFn CompiledCode::batchFn() const {
  return code_ ? code_->batch.load(std::memory_order_acquire) : nullptr;
}
BatchGatherFn CompiledCode::batchGatherFn() const {
  return code_ ? code_->batchGather.load(std::memory_order_acquire) : nullptr;
}

bool CompiledCode::optimized() const {
  if (!code_) return false;
  std::lock_guard lock(code_->mutex);
  return code_->state == FunctionCode::State::Optimized;
}

bool CompiledCode::waitOptimized() const {
  if (!code_) return false;
  std::unique_lock lock(code_->mutex);
  code_->settled.wait(lock, [&] { return code_->state != FunctionCode::State::Pending; });
  return code_->state == FunctionCode::State::Optimized;
}

void CompiledCode::requireBatch() const {
  if (code_ && !hasBatch_)
    throw std::logic_error("'" + name_ + "' was compiled without its batched kernel");
  checkCompiled(code_.get());
}

void CompiledCode::batchSums(std::span<const double> params, std::size_t begin, std::size_t end,
                             std::span<const double *const> columns, std::span<double> sums) const {
  requireBatch();
  checkSize("params", params.size(), paramCount_, name_);
  checkSize("input columns", columns.size(), inputCount(), name_);
  checkSize("sums", sums.size(), sumCount_, name_);
  if (begin > end) throw std::invalid_argument("batch rows [" + std::to_string(begin) + ", " +
                                               std::to_string(end) + ") are reversed");
  if (BatchFn fn = batchFn())
    fn(params.data(), begin, end, columns.data(), sums.data());
  else
    RowSums{rowCode(*code_), sumCount_, paramCount_, arity(), params.data()}(
        begin, end, columnRows(columns.data(), inputCount()), sums.data());
}

void CompiledCode::batchMeans(std::span<const double> params, std::size_t n,
                              std::span<const double *const> columns, std::span<double> means,
                              unsigned threads) const {
  requireBatch();
  checkSize("params", params.size(), paramCount_, name_);
  checkSize("input columns", columns.size(), inputCount(), name_);
  checkSize("means", means.size(), sumCount_, name_);
  const BatchFn fn = batchFn();
  const RowSums byRows{rowCode(*code_), sumCount_, paramCount_, arity(), params.data()};
  const auto inputs = columnRows(columns.data(), inputCount());
  meanOverChunks(*code_->workers, n, means, threads, kColumnRowsPerChunk,
                 [&](std::size_t begin, std::size_t end, double *sums) {
    if (fn)
      fn(byRows.params, begin, end, columns.data(), sums);
    else
      byRows(begin, end, inputs, sums);
  });
}

void CompiledCode::batchMeans(std::span<const double> params, std::size_t n,
                              const TableRows &rows, std::span<double> means,
                              unsigned threads) const {
  requireBatch();
  checkSize("params", params.size(), paramCount_, name_);
  checkSize("means", means.size(), sumCount_, name_);
  if (rows.stride < inputCount())
    throw std::invalid_argument("'" + name_ + "' reads " + std::to_string(inputCount()) +
                                " inputs per row, but the table's rows have " +
                                std::to_string(rows.stride));
  if (n > 0 && (rows.table == nullptr || rows.index == nullptr))
    throw std::invalid_argument("'" + name_ + "': rows of a null table or index");
  const BatchGatherFn fn = batchGatherFn();
  const RowSums byRows{rowCode(*code_), sumCount_, paramCount_, arity(), params.data()};
  const auto inputs = tableRows(rows, inputCount());
  meanOverChunks(*code_->workers, n, means, threads, kGatheredRowsPerChunk,
                 [&](std::size_t begin, std::size_t end, double *sums) {
    if (fn)
      fn(byRows.params, begin, end, rows.table, rows.stride, rows.index, sums);
    else
      byRows(begin, end, inputs, sums);
  });
}

// --- CompiledFunction ----------------------------------------------------------------------------

ValueFn CompiledFunction::valueFn() const {
  return code_ ? code_->value.load(std::memory_order_acquire) : nullptr;
}
ValueAndGradFn CompiledFunction::valueAndGradFn() const {
  return code_ ? code_->valueAndGrad.load(std::memory_order_acquire) : nullptr;
}
HessianFn CompiledFunction::hessianFn() const {
  return code_ ? code_->hessian.load(std::memory_order_acquire) : nullptr;
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

HvpFn CompiledFunction::hvpFn() const {
  return code_ ? code_->hvp.load(std::memory_order_acquire) : nullptr;
}

void CompiledFunction::hvp(std::span<const double> args, std::span<const double> v,
                           std::span<double> out) const {
  if (code_ && !hasHvp_)
    throw std::logic_error("'" + name_ + "' was compiled without its Hessian-vector product");
  HvpFn fn = hvpFn();
  checkCompiled(reinterpret_cast<const void *>(fn));
  checkSize("arguments", args.size(), arity(), name_);
  checkSize("direction entries", v.size(), gradSize_, name_);
  checkSize("product entries", out.size(), gradSize_, name_);
  std::vector<double> packed(args.size() + v.size());
  std::copy(args.begin(), args.end(), packed.begin());
  std::copy(v.begin(), v.end(), packed.begin() + static_cast<std::ptrdiff_t>(args.size()));
  fn(packed.data(), out.data());
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

MapFn CompiledFunction::mapFn(MapKind kind) const {
  return code_ ? code_->maps[static_cast<int>(kind)].load(std::memory_order_acquire) : nullptr;
}

bool CompiledFunction::waitMap(MapKind kind) const {
  if (!code_ || (kind == MapKind::Hessian && !hasHessian_)) return false;
  return needMap(code_, kind);
}

namespace {

/// Points per chunk of a threaded map: below this a map runs in the calling thread (a point of
/// a small function takes about a nanosecond; waking a helper, a microsecond or two).
constexpr std::size_t kMapPointsPerChunk = 8192;

}  // namespace

void CompiledFunction::map(MapKind kind, std::size_t n, const MapArrays &arrays,
                           unsigned threads) const {
  checkCompiled(code_.get());
  if (kind == MapKind::Hessian && !hasHessian_)
    throw std::logic_error("'" + name_ + "' was compiled without its Hessian");
  const std::size_t k = arity(), g = gradSize_;
  if (n == 0) return;
  const std::vector<std::size_t> widths = mapGroups(kind, g);
  if (k > 0 && !arrays.in) throw std::invalid_argument("'" + name_ + "': a map over null points");
  for (std::size_t i = 0; i < widths.size(); ++i)
    if (widths[i] > 0 && !arrays.out[i])
      throw std::invalid_argument("'" + name_ + "': a map into a null array");

  MapFn fn = mapFn(kind);
  if (!fn && needMap(code_, kind)) fn = mapFn(kind);
  // Point by point on the scalar entry points (without a map kernel, or when it failed).
  const ValueFn value = valueFn();
  const ValueAndGradFn valueAndGrad = valueAndGradFn();
  const HessianFn hessian = hessianFn();
  auto byPoints = [&](std::size_t begin, std::size_t end) {
    std::vector<double> args(k), roots(1 + g * std::max<std::size_t>(g, 1));
    for (std::size_t r = begin; r < end; ++r) {
      for (std::size_t c = 0; c < k; ++c)
        args[c] = arrays.inLd == 0 ? arrays.in[r * k + c] : arrays.in[c * arrays.inLd + r];
      switch (kind) {
      case MapKind::Value: roots[0] = value(args.data()); break;
      case MapKind::ValueAndGrad: roots[0] = valueAndGrad(args.data(), roots.data() + 1); break;
      case MapKind::Hessian:
        if (g > 0) hessian(args.data(), roots.data());
        break;
      }
      std::size_t j0 = 0;
      for (std::size_t i = 0; i < widths.size(); ++i) {
        const std::size_t w = widths[i];
        for (std::size_t j = 0; j < w; ++j) {
          double *to = arrays.outLd[i] == 0 ? arrays.out[i] + r * w + j
                                            : arrays.out[i] + j * arrays.outLd[i] + r;
          *to = roots[j0 + j];
        }
        j0 += w;
      }
    }
  };
  auto chunk = [&](std::size_t begin, std::size_t end) {
    if (!fn) return byPoints(begin, end);
    if (fn(begin, end, arrays.in, arrays.inLd, arrays.out, arrays.outLd) != 0) throw std::bad_alloc();
  };
  const unsigned use = threads == 0 ? code_->workers->size() : std::min(threads, code_->workers->size());
  std::size_t chunks = std::min<std::size_t>(use, n / kMapPointsPerChunk);
  if (chunks <= 1) return chunk(0, n);
  // Chunks of whole vector blocks (64 points is a multiple of every lane count).
  const std::size_t per = ((n + chunks - 1) / chunks + 63) / 64 * 64;
  chunks = (n + per - 1) / per;
  code_->workers->parallelFor(chunks, use, [&](std::size_t c) {
    chunk(c * per, std::min(n, (c + 1) * per));
  });
}

template <class Rows>
double CompiledFunction::meanValueAndGrad(std::span<const double> params, std::size_t n,
                                          const Rows &rows, std::span<double> grad,
                                          unsigned threads) const {
  requireBatch();
  checkSize("gradient entries", grad.size(), gradSize_, name_);
  std::vector<double> means(sumCount_);
  batchMeans(params, n, rows, means, threads);
  std::copy(means.begin() + 1, means.end(), grad.begin());
  return means[0];
}

double CompiledFunction::batchMean(std::span<const double> params, std::size_t n,
                                   std::span<const double *const> columns, std::span<double> grad,
                                   unsigned threads) const {
  return meanValueAndGrad(params, n, columns, grad, threads);
}

double CompiledFunction::batchMean(std::span<const double> params, std::size_t n,
                                   const TableRows &rows, std::span<double> grad,
                                   unsigned threads) const {
  return meanValueAndGrad(params, n, rows, grad, threads);
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
  out.argNames_ = argumentNames(graph, args, fn);
  out.gradSize_ = n;
  out.paramCount_ = n;
  out.sumCount_ = n + 1;
  out.hasHessian_ = !d.hessian.empty();
  out.hasHvp_ = !d.hvp.empty();
  out.hasBatch_ = options.batched;

  // The tapes are built once, here, while the graph is at hand; the background compile of the
  // optimized tier generates its code from them later.
  FunctionTapes tapes;
  tapes.gradSize = n;
  tapes.paramCount = n;
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
  if (!d.hvp.empty()) {
    if (d.hvp.size() != n || d.direction.size() != n)
      throw codegen::CodegenError("the Hessian-vector product of '" + fn + "' does not have " +
                                  std::to_string(n) + " entries");
    // Over the arguments and then the direction: one array of both.
    std::vector<SymbolId> packed(args.begin(), args.end());
    for (NodeId v : d.direction) packed.push_back(graph[v].symbol);
    tapes.hvp = codegen::bindEntryPoint(
        graph, {out.symbol_ + "_hvp", codegen::EntryKind::Array, d.hvp}, packed);
  }
  if (options.batched)
    tapes.batch = codegen::bindEntryPoint(
        graph, {out.symbol_ + "_batch", codegen::EntryKind::Array, valueAndGrad}, args);
  out.code_ =
      compileTiers(session, out.symbol_, std::move(tapes), options, "function '" + fn + "'");
  return out;
}

// --- CompiledOutputs -----------------------------------------------------------------------------

OutputsFn CompiledOutputs::outputsFn() const {
  return code_ ? code_->outputs.load(std::memory_order_acquire) : nullptr;
}

void CompiledOutputs::outputs(std::span<const double> args, std::span<double> out) const {
  OutputsFn fn = outputsFn();
  checkCompiled(reinterpret_cast<const void *>(fn));
  checkSize("arguments", args.size(), arity(), name_);
  checkSize("outputs", out.size(), sumCount_, name_);
  fn(args.data(), out.data());
}

std::vector<double> CompiledOutputs::outputs(std::span<const double> args) const {
  std::vector<double> out(sumCount_);
  outputs(args, out);
  return out;
}

CompiledOutputs compileOutputs(Session &session, const Graph &graph, std::string_view name,
                               std::span<const SymbolId> args, std::size_t paramCount,
                               std::span<const NodeId> roots, const FunctionOptions &options) {
  const std::string fn(name);
  if (roots.empty()) throw codegen::CodegenError("'" + fn + "' has no outputs");
  if (paramCount > args.size())
    throw codegen::CodegenError("'" + fn + "' has " + std::to_string(args.size()) +
                                " arguments but " + std::to_string(paramCount) + " params");
  CompiledOutputs out;
  out.name_ = fn;
  out.symbol_ = session.uniqueName(name.empty() ? "outputs" : name);
  out.argNames_ = argumentNames(graph, args, fn);
  out.paramCount_ = paramCount;
  out.sumCount_ = roots.size();
  out.hasBatch_ = options.batched;

  FunctionTapes tapes;
  tapes.paramCount = paramCount;
  tapes.inputCount = args.size() - paramCount;
  tapes.outputs = codegen::bindEntryPoint(
      graph, {out.symbol_, codegen::EntryKind::Array, {roots.begin(), roots.end()}}, args);
  if (options.batched) tapes.batch = tapes.outputs;  // the same roots, summed over rows
  out.code_ = compileTiers(session, out.symbol_, std::move(tapes), options, "outputs '" + fn + "'");
  return out;
}

void warmUp(Session &session) {
  Graph g;
  SymbolId w = g.addSymbol("w"), x = g.addSymbol("x");
  NodeId z = g.make(Op::Mul, g.variable(w), g.variable(x));
  NodeId loss = g.make(Op::Add, g.make(Op::Softplus, z), g.make(Op::Tanh, g.make(Op::Pow, z, g.constant(2))));
  // d/dw by hand is not needed: any roots will do; these use exp, log1p, tanh and pow.
  Derivatives d;
  d.value = loss;
  d.grad = {g.make(Op::Mul, g.make(Op::Sigmoid, z), g.variable(x))};
  const std::vector<SymbolId> args{w, x};
  FunctionTapes tapes;
  tapes.gradSize = 1;
  tapes.paramCount = 1;
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
