#include "jit/compiled_function.h"

#include "codegen/emit_llvm.h"

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>

namespace nabla::jit {

struct FunctionCode {
  std::atomic<ValueFn> value{nullptr};
  std::atomic<ValueAndGradFn> valueAndGrad{nullptr};
  std::atomic<HessianFn> hessian{nullptr};
  ModuleHandle first;      // the first tier (kept: a call may still be running in it)
  std::mutex mutex;        // guards what follows
  std::condition_variable settled;
  enum class State { Pending, Optimized, Failed } state = State::Pending;
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

/// The tapes of one function's entry points: value, value+gradient and (optionally) Hessian.
struct FunctionTapes {
  codegen::TapeEntryPoint value, grad;
  std::optional<codegen::TapeEntryPoint> hessian;
  std::size_t gradSize = 0;
};

/// Emits the entry points named `symbol`, `symbol_grad`, `symbol_hess`. With `valueThroughGrad`,
/// the value entry point calls the fused one instead of having code of its own.
std::unique_ptr<llvm::Module> emitFunction(llvm::LLVMContext &context, const std::string &symbol,
                                           FunctionTapes &tapes, bool valueThroughGrad,
                                           const codegen::EmitOptions &options) {
  auto module = std::make_unique<llvm::Module>(symbol, context);
  module->setSourceFileName(symbol);
  tapes.grad.name = symbol + "_grad";
  codegen::emitEntryPoint(*module, tapes.grad, options);
  tapes.value.name = symbol;
  if (valueThroughGrad)
    codegen::emitValueThroughGrad(*module, symbol, tapes.grad.name, tapes.gradSize);
  else
    codegen::emitEntryPoint(*module, tapes.value, options);
  if (tapes.hessian) {
    tapes.hessian->name = symbol + "_hess";
    codegen::emitEntryPoint(*module, *tapes.hessian, options);
  }
  if (options.verify) codegen::verifyModule(*module);
  return module;
}

/// Adds the module at `level` and installs its entry points into `code`.
ModuleHandle install(Session &session, FunctionCode &code, const std::string &symbol,
                     bool withHessian, std::unique_ptr<llvm::Module> module,
                     std::unique_ptr<llvm::LLVMContext> context, const std::string &what,
                     OptLevel level) {
  ModuleHandle handle = session.addModule(std::move(module), std::move(context), what, level);
  auto value = reinterpret_cast<ValueFn>(session.lookup(symbol));
  auto grad = reinterpret_cast<ValueAndGradFn>(session.lookup(symbol + "_grad"));
  HessianFn hess =
      withHessian ? reinterpret_cast<HessianFn>(session.lookup(symbol + "_hess")) : nullptr;
  code.value.store(value, std::memory_order_release);
  code.valueAndGrad.store(grad, std::memory_order_release);
  code.hessian.store(hess, std::memory_order_release);
  return handle;
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
  for (SymbolId s : args) {
    if (s >= graph.symbolCount())
      throw codegen::CodegenError("an argument of '" + fn + "' is not a symbol of the graph");
    out.argNames_.push_back(graph.symbolName(s));
  }

  // The tapes are built once, here, while the graph is at hand; the background compile of the
  // optimized tier generates its code from them later.
  FunctionTapes tapes;
  tapes.gradSize = n;
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

  out.code_ = std::make_shared<FunctionCode>();
  const bool tiered = session.tiered();
  const OptLevel firstLevel = tiered ? OptLevel::O0 : session.optLevel();
  const std::string what = "function '" + fn + "'";
  {
    codegen::EmitOptions first = options;
    first.forFastIsel = firstLevel == OptLevel::O0;
    auto context = std::make_unique<llvm::LLVMContext>();
    auto module = emitFunction(*context, out.symbol_, tapes, tiered, first);
    out.code_->first = install(session, *out.code_, out.symbol_, out.hasHessian_, std::move(module),
                               std::move(context), what, firstLevel);
  }
  if (!tiered) {
    out.code_->state = FunctionCode::State::Optimized;
    return out;
  }

  // The optimized tier: generated from the tapes on the session's thread, installed when ready.
  // The job holds the code weakly: a function dropped before its turn is not compiled again.
  std::weak_ptr<FunctionCode> weak = out.code_;
  codegen::EmitOptions second = options;
  second.forFastIsel = false;
  session.runInBackground([&session, weak, tapes = std::move(tapes), second,
                           symbol = out.symbol_ + ".opt", what, withHessian = out.hasHessian_]() mutable {
    std::shared_ptr<FunctionCode> code = weak.lock();
    if (!code) return;
    FunctionCode::State state = FunctionCode::State::Failed;
    ModuleHandle handle;
    try {
      auto context = std::make_unique<llvm::LLVMContext>();
      auto module = emitFunction(*context, symbol, tapes, false, second);
      handle = install(session, *code, symbol, withHessian, std::move(module), std::move(context),
                       what + " (optimized)", session.optLevel());
      state = FunctionCode::State::Optimized;
    } catch (...) {
      // The first tier stays installed: same values, slower code.
    }
    std::lock_guard lock(code->mutex);
    code->optimized = std::move(handle);
    code->state = state;
    code->settled.notify_all();
  });
  return out;
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
