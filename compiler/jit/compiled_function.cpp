#include "jit/compiled_function.h"

#include "codegen/emit_llvm.h"

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <stdexcept>

namespace nabla::jit {

namespace {
void checkCompiled(const void *fn) {
  if (!fn) throw std::logic_error("call of a CompiledFunction that holds no code");
}

void checkSize(const char *what, std::size_t got, std::size_t want, const std::string &fn) {
  if (got != want)
    throw std::invalid_argument("'" + fn + "' takes " + std::to_string(want) + " " + what + ", got " +
                                std::to_string(got));
}
}  // namespace

double CompiledFunction::operator()(std::span<const double> args) const {
  checkCompiled(reinterpret_cast<const void *>(value_));
  checkSize("arguments", args.size(), arity(), name_);
  return value_(args.data());
}

double CompiledFunction::valueAndGrad(std::span<const double> args, std::span<double> grad) const {
  checkCompiled(reinterpret_cast<const void *>(valueAndGrad_));
  checkSize("arguments", args.size(), arity(), name_);
  checkSize("gradient entries", grad.size(), gradSize_, name_);
  return valueAndGrad_(args.data(), grad.data());
}

std::pair<double, std::vector<double>> CompiledFunction::valueAndGrad(
    std::span<const double> args) const {
  std::vector<double> grad(gradSize_);
  double v = valueAndGrad(args, grad);
  return {v, std::move(grad)};
}

void CompiledFunction::hessian(std::span<const double> args, std::span<double> hess) const {
  if (!hessian_) throw std::logic_error("'" + name_ + "' was compiled without its Hessian");
  checkSize("arguments", args.size(), arity(), name_);
  checkSize("Hessian entries", hess.size(), gradSize_ * gradSize_, name_);
  hessian_(args.data(), hess.data());
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
  for (SymbolId s : args) {
    if (s >= graph.symbolCount())
      throw codegen::CodegenError("an argument of '" + fn + "' is not a symbol of the graph");
    out.argNames_.push_back(graph.symbolName(s));
  }

  std::vector<codegen::EntryPoint> entries;
  entries.push_back({out.symbol_, codegen::EntryKind::Value, {d.value}});
  std::vector<NodeId> valueAndGrad{d.value};
  valueAndGrad.insert(valueAndGrad.end(), d.grad.begin(), d.grad.end());
  entries.push_back({out.symbol_ + "_grad", codegen::EntryKind::ValueAndGrad, valueAndGrad});
  if (!d.hessian.empty()) {
    std::vector<NodeId> hess;
    hess.reserve(n * n);
    for (const auto &row : d.hessian) hess.insert(hess.end(), row.begin(), row.end());
    entries.push_back({out.symbol_ + "_hess", codegen::EntryKind::Array, std::move(hess)});
  }

  auto context = std::make_unique<llvm::LLVMContext>();
  std::unique_ptr<llvm::Module> module =
      codegen::emitModule(*context, out.symbol_, graph, entries, args, options);
  out.module_ = session.addModule(std::move(module), std::move(context), "function '" + fn + "'");

  out.value_ = reinterpret_cast<ValueFn>(session.lookup(entries[0].name));
  out.valueAndGrad_ = reinterpret_cast<ValueAndGradFn>(session.lookup(entries[1].name));
  if (entries.size() > 2)
    out.hessian_ = reinterpret_cast<HessianFn>(session.lookup(entries[2].name));
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
