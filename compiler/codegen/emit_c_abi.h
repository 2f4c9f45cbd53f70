// C signatures over the array entry points of emit_llvm.h, for ahead-of-time libraries
// (compiler/jit/aot.h):
//
//   double f(double x, double y)                        -> f.value(args)
//   double f_grad(double x, double y, double *grad)     -> f.grad(args, grad)
//   void   f_hess(double x, double y, double *hess)     -> f.hess(args, hess)
//   double nabla_objective(const double *params, const double *inputs, double *grad)
//   const char *nabla_module_info(void)
//
// A wrapper copies its arguments into one local array of doubles, in order, and calls the array
// entry point, which should have internal linkage: LLVM then inlines it, and the library holds one
// function per C symbol that computes exactly what the JIT's entry point computes.
#pragma once

#include "codegen/emit_llvm.h"

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace llvm {
class Function;
class Module;
}  // namespace llvm

namespace nabla::codegen {

/// One C parameter of a wrapper: a `double` by value, or `size` doubles behind a
/// `const double *` (an array, flattened row-major). A pointer to zero doubles is never read.
struct CParam {
  std::string name;  // names the IR value only
  std::size_t size = 1;
  bool byPointer = false;
};

/// Adds the external function `name`: the C parameters `params`, then (unless `kind` is Value)
/// a `double *` for `outputs` results. It copies the parameters into one array in order and
/// calls `inner`, an entry point of `kind` made by emitEntryPoint over that argument order.
/// With `valueOnly` (a Value entry point over the same arguments), a null output pointer calls
/// it instead, so that a caller may ask for the value alone. Arrays of more than 64 KiB are
/// copied to malloc'ed memory instead of the stack; if malloc fails every result is NaN.
/// Throws CodegenError when `name` is taken in the module.
llvm::Function *emitCWrapper(llvm::Module &module, const std::string &name, llvm::Function &inner,
                             EntryKind kind, std::span<const CParam> params, std::size_t outputs,
                             llvm::Function *valueOnly = nullptr, const EmitOptions &options = {});

/// Adds `const char *name(void)`, returning `text` as a constant NUL-terminated string of the
/// module. Throws CodegenError when `name` is taken.
llvm::Function *emitStringFunction(llvm::Module &module, const std::string &name,
                                   std::string_view text);

}  // namespace nabla::codegen
