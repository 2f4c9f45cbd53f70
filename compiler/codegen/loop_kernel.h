// Fused elementwise loops for the array level (compiler/array/): one loop over i in [0, n) that
// evaluates a small DAG per element — loads of arrays at stride * i + shift, constants, ops of
// evalOp — and stores some of its values at stride * i + offset or sums them over i, so that a
// chain of maps, slices and their adjoints over long vectors is one pass over memory instead of
// one per node. Strides other than 1 read and write the columns of a matrix in place: the
// column x[:, 1] of x[m][2] is a load at 2i + 1, and a loop over the rows of x (n = m) stores
// both columns of the gradient, at 2i and 2i + 1.
//
//   void NAME(double *const *slots)      slots[k]: the k-th array read or written
//
// Each value has its own length: a value is only stored, summed or read by an Embed-like guard
// where its index lies in [0, length), and loads clamp their index into the array, so that
// evaluating a value where it is not used never reads out of bounds. Sums add in the order of
// the elements, in blocks of kSumBlock and groups of kSumGroup elements as the interpreter's
// nabla_rt_sum does (array/runtime/kernels.h), bit for bit; a loop with sums therefore runs one
// index at a time, and takes a value that is another one an index later from the previous
// iteration instead of computing it again.
#pragma once

#include "graph/graph.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace llvm {
class Function;
class LLVMContext;
class Module;
}  // namespace llvm

namespace nabla::codegen {

/// nabla_rt_sum's block and group sizes (NABLA_RT_SUM_BLOCK, NABLA_RT_SUM_GROUP), powers of two.
constexpr std::int64_t kSumBlock = 256, kSumGroup = 65536;

struct LoopValue {
  enum class Kind : std::uint8_t {
    Load,     // slots[slot][clamp(stride * i + shift, 0, length - 1)]; a scalar (length 1) is
              // slots[slot][0]
    Const,    // value
    Op,       // op(args...)
    Guard,    // args[0] where lo <= stride * i + shift < hi, else 0 (the adjoint of a slice)
  };
  Kind kind = Kind::Const;
  Op op = Op::Const;
  double value = 0;
  std::uint32_t args[3] = {0, 0, 0};
  std::uint8_t argCount = 0;
  std::uint32_t slot = 0;
  std::int64_t stride = 1;    // Load, Guard: i's factor in the index (0 or more)
  std::int64_t shift = 0;     // Load, Guard: added to stride * i
  std::int64_t length = 1;    // Load: the array's length
  std::int64_t lo = 0, hi = 0;  // Guard
};

/// Stores and sums of a loop: slot `slot` receives value `value` at index stride * i + offset
/// for i < length (Store), or the sum over i < length of the value, in slots[slot][0] (Sum). A
/// sum with `chained` set adds into the sum of the output before it instead, after that one's
/// value at the same i: the lanes of a row, so that a sum over a matrix a loop visits row by row
/// adds in the matrix's order.
struct LoopOutput {
  bool sum = false;
  bool chained = false;       // Sum: adds into the previous output's sum
  std::uint32_t value = 0;
  std::uint32_t slot = 0;
  std::int64_t length = 0;
  std::int64_t stride = 1;    // Store
  std::int64_t offset = 0;    // Store
};

/// floor(a / b) for b > 0: where index a of a row-major matrix b wide lies, as a row (the rest
/// is the column, also for a negative a).
inline std::int64_t floorDiv(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && (a < 0) ? 1 : 0);
}

struct LoopKernel {
  std::int64_t n = 0;                // iterations
  std::vector<LoopValue> values;     // operands before their users
  std::vector<LoopOutput> outputs;
  std::uint32_t slots = 0;           // the number of slots
};

/// The kernels as functions `names[k]` of one module.
std::unique_ptr<llvm::Module> emitLoopKernels(llvm::LLVMContext &context,
                                              const std::vector<LoopKernel> &kernels,
                                              const std::vector<std::string> &names);
/// The same into `module` (external functions): the functions, in order.
std::vector<llvm::Function *> emitLoopKernels(llvm::Module &module,
                                              const std::vector<LoopKernel> &kernels,
                                              const std::vector<std::string> &names);

}  // namespace nabla::codegen
