// Tape -> LLVM IR: straight-line entry points with a plain C ABI over arrays of doubles.
//
//   Value         double NAME(const double *args)
//   ValueAndGrad  double NAME_grad(const double *args, double *grad)   returns the value; grad[i]
//   Array         void NAME_hess(const double *args, double *out)     out[i] = root i (row-major)
//
// `args[k]` is the value of the k-th symbol of the argument order. One function evaluates all its
// roots over one shared tape, so value and gradient share the forward pass. `out` may overlap
// `args`: the results are those of separate arrays. A long tape is emitted as internal part
// functions called in order (EmitOptions::maxPartSize), which read every argument before writing
// any output; a straight-line one stores each output as soon as it is computed (after reading its
// few arguments, or, when `out` overlaps more of them, calling itself on a copy of them). The C
// ABI is the same.
//
// The arithmetic is evalOp's (compiler/graph/graph.cpp) op for op: the same libm functions and
// the same branch formulas as selects, so that in IEEE mode compiled code equals the interpreter.
#pragma once

#include "codegen/tape.h"
#include "graph/graph.h"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace llvm {
class Function;
class LLVMContext;
class Module;
}  // namespace llvm

namespace nabla::codegen {

struct EmitOptions {
  /// IEEE semantics when false (results equal the interpreter's); when true every floating-point
  /// instruction gets LLVM's `fast` flags, which may reassociate, contract into FMA, assume no
  /// NaN/inf and use approximate functions.
  bool fastMath = false;
  /// An entry point whose tape is longer is emitted as several functions of at most this many
  /// tape entries, called in order, that pass values through a frame of doubles (on the stack up
  /// to 64 KiB, else from malloc; if malloc fails every output is NaN). Values are unchanged by
  /// the split; it bounds LLVM's time, which grows faster than linearly in a function's size.
  std::size_t maxPartSize = 256;
  /// Tapes of at most this many entries (or maxPartSize, if larger) are not split at all.
  std::size_t splitAbove = 0;
  /// Emit for LLVM's fast instruction selector (OptLevel::O0): no intrinsic that FastISel cannot
  /// select (fabs becomes a sign-bit mask). Same values; only compile time differs.
  bool forFastIsel = false;
  /// Run LLVM's IR verifier over the finished module (a check of our own emitter, linear time).
  bool verify = true;
  /// Straight-line (unsplit) entry points: emit the tape in scheduleForRegisters order and store
  /// each output as soon as it is computed (from a copy of `args` when the outputs overlap
  /// them). Same values; fewer spills.
  bool schedule = true;
};

enum class EntryKind : std::uint8_t { Value, ValueAndGrad, Array };

struct EntryPoint {
  std::string name;             // the LLVM (and C) symbol name
  EntryKind kind = EntryKind::Value;
  /// Value: exactly one root. ValueAndGrad: the value, then one root per gradient entry.
  /// Array: every output in order.
  std::vector<NodeId> roots;
};

/// An entry point with its tape, bound to the argument order: all that code generation needs,
/// without the graph.
struct TapeEntryPoint {
  std::string name;
  EntryKind kind = EntryKind::Value;
  Tape tape;  // roots in the entry point's order, Var entries bound to argument positions
};

/// Checks `entry` (a name that is not empty, not a C library function, the right number of
/// roots) and builds its tape over `args`. Throws CodegenError.
TapeEntryPoint bindEntryPoint(const Graph &graph, const EntryPoint &entry,
                              std::span<const SymbolId> args);

/// Adds one function for `entry` to `module`. Throws CodegenError (a name already defined).
llvm::Function *emitEntryPoint(llvm::Module &module, const TapeEntryPoint &entry,
                               const EmitOptions &options = {});
llvm::Function *emitEntryPoint(llvm::Module &module, const Graph &graph, const EntryPoint &entry,
                               std::span<const SymbolId> args, const EmitOptions &options = {});

/// `double NAME(const double *args)` that calls the ValueAndGrad function `gradName` (of this
/// module, with `gradSize` gradient entries) and returns its value: a value entry point that
/// costs LLVM almost nothing, for code that must be ready at once. Its scratch gradient is on the
/// stack up to 64 KiB, else from malloc (NaN if that fails).
llvm::Function *emitValueThroughGrad(llvm::Module &module, const std::string &name,
                                     const std::string &gradName, std::size_t gradSize);

/// A new module holding every entry point, checked with LLVM's verifier (EmitOptions::verify).
/// Same input, byte-identical IR. Throws CodegenError.
std::unique_ptr<llvm::Module> emitModule(llvm::LLVMContext &context, const std::string &moduleName,
                                         std::span<const TapeEntryPoint> entries,
                                         const EmitOptions &options = {});
/// The same from the graph: every entry point over the same argument order.
std::unique_ptr<llvm::Module> emitModule(llvm::LLVMContext &context, const std::string &moduleName,
                                         const Graph &graph, std::span<const EntryPoint> entries,
                                         std::span<const SymbolId> args,
                                         const EmitOptions &options = {});

/// Runs LLVM's verifier; throws std::logic_error (a bug of ours) with its findings.
void verifyModule(const llvm::Module &module);

/// The textual IR of a module (for `--dump=ir` and tests).
std::string printModule(const llvm::Module &module);

}  // namespace nabla::codegen
