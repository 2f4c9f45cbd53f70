// A scalar function of the lowered program as native code: value, value and gradient (one fused
// call sharing the forward pass) and Hessian, callable through plain function pointers.
#pragma once

#include "codegen/emit_llvm.h"
#include "graph/graph.h"
#include "jit/session.h"
#include "pipeline.h"  // Derivatives (the struct only: nothing of nabla_core is called here)
#include "sema/lowered.h"

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

/// Fast math and the size of the parts large functions are split into.
using FunctionOptions = codegen::EmitOptions;

/// Owns its code (removed from the session when this object goes); movable. Calls are
/// thread-safe: the compiled functions keep no state. A default-constructed one holds no code and
/// its calls throw std::logic_error.
class CompiledFunction {
public:
  const std::string &name() const { return name_; }
  /// Number of scalar arguments.
  std::size_t arity() const { return argNames_.size(); }
  /// Number of gradient entries: the derivatives with respect to the first gradSize() arguments
  /// (all of them for a plain function; an objective's params, not its inputs).
  std::size_t gradSize() const { return gradSize_; }
  /// The graph symbol name of each scalar argument (`x`, `w[2]`).
  const std::vector<std::string> &argNames() const { return argNames_; }
  bool hasHessian() const { return hessian_ != nullptr; }

  /// These check the sizes of their spans (std::invalid_argument) and then make one call.
  double operator()(std::span<const double> args) const;
  double valueAndGrad(std::span<const double> args, std::span<double> grad) const;
  std::pair<double, std::vector<double>> valueAndGrad(std::span<const double> args) const;
  /// The gradient has gradSize() entries and the Hessian gradSize()^2 (row-major).
  /// Throws std::logic_error when compiled without a Hessian.
  void hessian(std::span<const double> args, std::span<double> hess) const;
  std::vector<double> hessian(std::span<const double> args) const;

  /// The raw entry points, for hot loops; valid while this object lives. hessianFn() may be null.
  ValueFn valueFn() const { return value_; }
  ValueAndGradFn valueAndGradFn() const { return valueAndGrad_; }
  HessianFn hessianFn() const { return hessian_; }
  /// The JIT symbol of the value function; `_grad` and `_hess` are appended for the others.
  const std::string &symbol() const { return symbol_; }

private:
  friend CompiledFunction compileFunction(Session &, const Graph &, std::string_view,
                                          std::span<const SymbolId>, const Derivatives &,
                                          const FunctionOptions &);
  std::string name_, symbol_;
  std::vector<std::string> argNames_;
  std::size_t gradSize_ = 0;
  ValueFn value_ = nullptr;
  ValueAndGradFn valueAndGrad_ = nullptr;
  HessianFn hessian_ = nullptr;
  ModuleHandle module_;
};

/// Compiles `d` as a function of `args`. `d` comes from differentiate over the Var nodes of the
/// first k = d.grad.size() arguments, in that order (k <= args.size(); the other arguments are
/// read but not differentiated, like an objective's inputs). `d.hessian` is empty (no Hessian) or
/// k x k.
/// Throws codegen::CodegenError for inconsistent input and JitError for LLVM failures.
CompiledFunction compileFunction(Session &session, const Graph &graph, std::string_view name,
                                 std::span<const SymbolId> args, const Derivatives &d,
                                 const FunctionOptions &options = {});

/// A FunctionEntry of a LoweredProgram (or its bare entry, named `expr`): its arguments are its
/// VarGroups' symbols in order, and `d` must come from differentiate over their `nodes` in that
/// order. The result must be a scalar.
CompiledFunction compileFunction(Session &session, const Graph &graph, const FunctionEntry &entry,
                                 const Derivatives &d, const FunctionOptions &options = {});

}  // namespace nabla::jit
