// Tape -> LLVM IR: straight-line entry points with a plain C ABI over arrays of doubles.
//
//   Value         double NAME(const double *args)
//   ValueAndGrad  double NAME_grad(const double *args, double *grad)   returns the value; grad[i]
//   Array         void NAME_hess(const double *args, double *out)     out[i] = root i (row-major)
//
// `args[k]` is the value of the k-th symbol of the argument order. One function evaluates all its
// roots over one shared tape, so value and gradient share the forward pass. Every argument is
// read before any output is written, so `out` may even overlap `args`. A long tape is emitted as
// internal part functions called in order (EmitOptions::maxPartSize); the C ABI is the same.
//
// The arithmetic is evalOp's (compiler/graph/graph.cpp) op for op: the same libm functions and
// the same branch formulas as selects, so that in IEEE mode compiled code equals the interpreter.
#pragma once

#include "codegen/tape.h"
#include "graph/graph.h"

#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
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
};

enum class EntryKind : std::uint8_t { Value, ValueAndGrad, Array };

struct EntryPoint {
  std::string name;             // the LLVM (and C) symbol name
  EntryKind kind = EntryKind::Value;
  /// Value: exactly one root. ValueAndGrad: the value, then one root per gradient entry.
  /// Array: every output in order.
  std::vector<NodeId> roots;
};

/// Input problems of code generation (a root that uses a symbol that is not an argument, an entry
/// point with the wrong number of roots, a name defined twice).
class CodegenError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Adds one function for `entry` to `module`. `args` is the argument order: `args[k]` is read
/// from `args[k]` of the C function. Throws CodegenError.
llvm::Function *emitEntryPoint(llvm::Module &module, const Graph &graph, const EntryPoint &entry,
                               std::span<const SymbolId> args, const EmitOptions &options = {});

/// A new module holding every entry point (all over the same argument order), checked with
/// LLVM's verifier. Same input, byte-identical IR. Throws CodegenError.
std::unique_ptr<llvm::Module> emitModule(llvm::LLVMContext &context, const std::string &moduleName,
                                         const Graph &graph, std::span<const EntryPoint> entries,
                                         std::span<const SymbolId> args,
                                         const EmitOptions &options = {});

/// The textual IR of a module (for `--dump=ir` and tests).
std::string printModule(const llvm::Module &module);

}  // namespace nabla::codegen
